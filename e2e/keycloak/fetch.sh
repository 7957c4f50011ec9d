#!/usr/bin/env bash
# Fetches the Keycloak distribution (org.keycloak:keycloak-quarkus-dist, tar.gz) from Maven
# Central into a cache directory keyed by version, unpacks it and runs its one-time
# "augmentation" build there, so every later start is a warm start and the unpacked copy is
# never written to again (test runs keep their database and logs in their own directory).
# Idempotent; a lock makes parallel runs wait instead of racing. Prints, last, two lines:
#   KEYCLOAK_HOME=<unpacked distribution>
#   JAVA_HOME=<JDK to run it with, empty for the java on PATH>
set -euo pipefail

KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.5.6}"
CACHE_ROOT="${BREAKGLASS_E2E_CACHE:-$HOME/.cache/breakglass-e2e}"
OUT="$CACHE_ROOT/keycloak"
TGZ="$OUT/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz"
DIST="$OUT/keycloak-$KEYCLOAK_VERSION"
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

log() { echo "[keycloak-fetch] $*" >&2; }

# The newest JDK >= 17 under /usr/lib/jvm (a Temurin 25 starts Keycloak noticeably faster than
# Debian's 17), else the java on PATH. E2E_KEYCLOAK_JAVA_HOME overrides.
pick_java_home() {
  if [ -n "${E2E_KEYCLOAK_JAVA_HOME:-}" ]; then echo "$E2E_KEYCLOAK_JAVA_HOME"; return; fi
  local best="" best_major=0 dir major
  for dir in /usr/lib/jvm/*; do
    [ -x "$dir/bin/java" ] && [ -f "$dir/release" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$dir/release")
    [ -n "$major" ] && [ "$major" -ge 17 ] && [ "$major" -gt "$best_major" ] || continue
    best="$dir" best_major="$major"
  done
  echo "$best"
}
JAVA_HOME_FOR_KC="$(pick_java_home)"

if [ ! -s "$TGZ" ]; then
  command -v mvn >/dev/null || { log "mvn not found: install Maven (apt-get install maven) or put $TGZ in place"; exit 1; }
  log "downloading org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz from Maven Central (~165 MB)"
  rm -rf "$OUT/download.tmp"
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
    -DoutputDirectory="$OUT/download.tmp"
  mv "$OUT/download.tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz" "$TGZ"
  rm -rf "$OUT/download.tmp"
fi

# The marker is written last: a copy without it is half-made (interrupted) and is rebuilt.
if [ ! -f "$DIST/.breakglass-augmented" ]; then
  log "unpacking and augmenting Keycloak $KEYCLOAK_VERSION (once per version; about a minute)"
  rm -rf "$DIST" "$OUT/unpack.tmp"
  mkdir -p "$OUT/unpack.tmp"
  tar xzf "$TGZ" -C "$OUT/unpack.tmp"
  # start-dev augments a fresh copy for dev mode (`kc.sh build` cannot: it builds the
  # production profile, and start-dev would then build again), exits 10, and kc.sh relaunches
  # the JVM with -Dkc.config.built=true to serve. JAVA= a wrapper that stops at that relaunch:
  # the copy is augmented exactly as every later start-dev wants it (default build options;
  # the tests pass runtime options only) and nothing ever listened.
  local_java="java"; [ -n "$JAVA_HOME_FOR_KC" ] && local_java="$JAVA_HOME_FOR_KC/bin/java"
  cat >"$OUT/unpack.tmp/augment-java.sh" <<WRAP
#!/bin/sh
case " \$* " in *" -Dkc.config.built=true "*) exit 0;; esac
exec "$local_java" "\$@"
WRAP
  chmod +x "$OUT/unpack.tmp/augment-java.sh"
  mkdir -p "$OUT/unpack.tmp/scratch"
  (
    # The caller's KC_* and JAVA_OPTS* would change build options or paths: none of them here.
    for v in $(compgen -e); do case "$v" in KC_*|JAVA_OPTS*) unset "$v";; esac; done
    export JAVA="$OUT/unpack.tmp/augment-java.sh"
    export JAVA_OPTS_APPEND="-Dkc.db-url-path=$OUT/unpack.tmp/scratch -Djava.io.tmpdir=$OUT/unpack.tmp/scratch"
    "$OUT/unpack.tmp/keycloak-$KEYCLOAK_VERSION/bin/kc.sh" start-dev
  ) >"$OUT/unpack.tmp/augment.log" 2>&1 || { cat "$OUT/unpack.tmp/augment.log" >&2; exit 1; }
  grep -v '^WARNING' "$OUT/unpack.tmp/augment.log" >&2 || true
  grep -q 'augmentation completed' "$OUT/unpack.tmp/augment.log" || { log "start-dev did not augment the copy"; exit 1; }
  echo "augmented with ${JAVA_HOME_FOR_KC:-java on PATH} on $(date -u +%FT%TZ)" >"$OUT/unpack.tmp/keycloak-$KEYCLOAK_VERSION/.breakglass-augmented"
  mv "$OUT/unpack.tmp/keycloak-$KEYCLOAK_VERSION" "$DIST"
  rm -rf "$OUT/unpack.tmp"
else
  log "Keycloak $KEYCLOAK_VERSION cached in $DIST"
fi
echo "KEYCLOAK_HOME=$DIST"
echo "JAVA_HOME=$JAVA_HOME_FOR_KC"
