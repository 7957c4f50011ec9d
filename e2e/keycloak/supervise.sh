#!/usr/bin/env bash
# Runs Keycloak (kc.sh and the JVM it starts) and guarantees that both die with the test
# process: on TERM/INT/HUP, and also when the watched parent process disappears (for example a
# test runner killed with SIGKILL). Unlike e2e/controlplane/supervise.sh it waits longer for a
# graceful stop (Keycloak takes seconds under load) and then kills everything left in its
# process group, since a JVM can outlive a kc.sh that was killed.
# Must be started as a process-group leader (Node: spawn with detached: true).
# usage: supervise.sh <parent-pid> <logfile> <command> [args...]
# SUPERVISE_GRACE_SECONDS (default 15): how long a graceful stop may take.
parent=$1; log=$2; shift 2
"$@" >>"$log" 2>&1 &
child=$!
grace=$(( ${SUPERVISE_GRACE_SECONDS:-15} * 10 ))
stop() {
  trap '' TERM INT HUP
  kill -TERM "$child" 2>/dev/null # kc.sh forwards TERM to the JVM
  for _ in $(seq "$grace"); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
  # Anything still in our process group (by group id, never by name) is killed hard.
  for pid in $(pgrep -g $$); do [ "$pid" != $$ ] && kill -KILL "$pid" 2>/dev/null; done
  exit 0
}
trap stop TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  kill -0 "$parent" 2>/dev/null || stop
  sleep 0.5 & wait $!
done
wait "$child"
