#!/usr/bin/env bash
# Builds vegeta (the constant-rate HTTP load generator, github.com/tsenart/vegeta) from its Go
# module through the Go module proxy into a cache directory keyed by version, once. Prints the
# binary's path last.
set -euo pipefail

VEGETA_VERSION="${VEGETA_VERSION:-v12.13.0}"
CACHE_ROOT="${BREAKGLASS_E2E_CACHE:-$HOME/.cache/breakglass-e2e}"
OUT="$CACHE_ROOT/vegeta-$VEGETA_VERSION"
mkdir -p "$OUT"
# One build at a time: a second bench waits here instead of racing.
exec 9>"$OUT/.lock"
flock 9
if [ ! -x "$OUT/vegeta" ]; then
  echo "[vegeta-build] building vegeta $VEGETA_VERSION from the Go module proxy (about a minute, once)" >&2
  CGO_ENABLED=0 GOBIN="$OUT/bin.tmp" go install -trimpath -ldflags "-s -w" "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" >&2
  mv "$OUT/bin.tmp/vegeta" "$OUT/vegeta"
  rmdir "$OUT/bin.tmp"
fi
echo "$OUT/vegeta"
