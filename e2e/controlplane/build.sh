#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from their Go modules (through the Go
# module proxy) into a cache directory keyed by version. Rebuilds only what is
# missing, so a second run costs nothing. Prints the cache directory last.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"
CACHE_ROOT="${BREAKGLASS_E2E_CACHE:-$HOME/.cache/breakglass-e2e}"
OUT="$CACHE_ROOT/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$OUT"
# One build at a time per version: parallel test runs wait here instead of racing.
exec 9>"$OUT/.lock"
flock 9

log() { echo "[controlplane-build] $*" >&2; }
# shellcheck source=e2e/controlplane/progress.sh
source "$(dirname "${BASH_SOURCE[0]}")/progress.sh"

export CGO_ENABLED=0 GOFLAGS=-mod=mod

build_kubernetes() {
  local wrapper="$OUT/src-kubernetes"
  mkdir -p "$wrapper"
  # k8s.io/kubernetes replaces every staging module with a local path; those
  # replaces do not apply to a dependent module, so we map each one to the
  # published staging module of the matching v0.Y.Z version.
  local gomod staging
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging="v0.${K8S_VERSION#v1.}"
  {
    echo "module breakglass.local/controlplane"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
  } >"$wrapper/go.mod"
  cat >"$wrapper/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  (
    cd "$wrapper"
    log "resolving the Go modules of kubernetes $K8S_VERSION"
    run_with_progress "downloading Go modules for kubernetes $K8S_VERSION" "lines of go output" go mod tidy -e || true
    for cmd in "$@"; do
      log "building $cmd $K8S_VERSION (first build takes minutes; progress every ${BREAKGLASS_BUILD_PROGRESS_INTERVAL:-30} s)"
      run_with_progress "building $cmd $K8S_VERSION" "packages compiled" \
        go build -v -trimpath -ldflags "$ldflags" -o "$OUT/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
      mv "$OUT/$cmd.tmp" "$OUT/$cmd"
    done
  )
}

build_etcd() {
  local wrapper="$OUT/src-etcd"
  mkdir -p "$wrapper"
  cat >"$wrapper/go.mod" <<MOD
module breakglass.local/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  cat >"$wrapper/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (
    cd "$wrapper"
    run_with_progress "downloading Go modules for etcd $ETCD_VERSION" "lines of go output" go mod tidy -e || true
    log "building etcd $ETCD_VERSION (progress every ${BREAKGLASS_BUILD_PROGRESS_INTERVAL:-30} s)"
    run_with_progress "building etcd $ETCD_VERSION" "packages compiled" \
      go build -v -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$OUT/etcd.tmp" "$OUT/etcd"
  )
}

missing=()
for bin in kube-apiserver kubectl; do [ -x "$OUT/$bin" ] || missing+=("$bin"); done
if [ ${#missing[@]} -gt 0 ]; then build_kubernetes "${missing[@]}"; else log "kube-apiserver and kubectl $K8S_VERSION cached"; fi
if [ -x "$OUT/etcd" ]; then log "etcd $ETCD_VERSION cached"; else build_etcd; fi
echo "$OUT"
