# syntax=docker/dockerfile:1
# The breakglass controller image. Build: docker build -t breakglass:0.1.0 .

# --- build: type-check, bundle the controller and its packages into build/image/main.mjs, ---
# --- and build the web UI into build/ui (served at / from next to the bundle) ---
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.controller.json tsconfig.ui.json ./
COPY controller ./controller
COPY crds ./crds
RUN npm run build:controller && npm run build:ui

# --- runtime ---
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
# One bundled ES module (.mjs, so no package.json is needed) holds the controller and its packages.
COPY --from=build /app/build/image ./build/image
# The web UI: build/ui beside build/image is where the controller looks by default (--ui-dir).
COPY --from=build /app/build/ui ./build/ui
# The uid/gid the Deployment's securityContext expects (runAsNonRoot with a numeric user).
USER 65532:65532
# API + UI + authorization webhook, metrics, probes, admission webhooks.
EXPOSE 8080 8081 8082 9443
# A young generation of 1 MiB per semi-space instead of V8's default 16 MiB: the controller's
# garbage is short-lived (decoded API responses), and the larger young generation only held
# resident memory (npm run bench:scale, 10,000 sessions: steady RSS 141 -> 115 MiB). The bench
# runs the node flags of this line, so keep them on it.
# --optimize-for-size makes V8 grow the old generation in smaller steps, collecting the garbage
# that API requests promote out of that small young generation instead of holding it resident
# (npm run bench:api, 10,000 sessions, after the measured requests: heap 73-142 MiB of which
# 43 MiB live, RSS 169-251 MiB -> heap ~50 MiB, RSS ~125 MiB). No hard heap cap: a larger
# installation still gets the heap it needs.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "build/image/main.mjs"]
