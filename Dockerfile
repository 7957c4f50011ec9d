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
# A young generation of 4 MiB per semi-space instead of V8's default 16 MiB: the controller's
# garbage is short-lived (decoded API responses, SubjectAccessReviews), and the default only held
# resident memory (npm run bench:scale, 10,000 sessions: steady RSS 141 -> 115 MiB at 1 MiB).
# 1 MiB was too small for the authorization webhook: about 40 scavenges per 1,000 decisions,
# 4 MiB cuts that to about 11 and the scavenge time per decision by half or more, with no
# measurable RSS difference (npm run bench:sar; 8 MiB costs about 15 MiB more). The benches run
# the node flags of this line, so keep them on it.
ENTRYPOINT ["node", "--max-semi-space-size=4", "build/image/main.mjs"]
