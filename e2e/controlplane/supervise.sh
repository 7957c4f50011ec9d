#!/usr/bin/env bash
# Runs one control-plane binary and guarantees it dies with the test process: it is killed
# when this script gets TERM/INT, and also when the watched parent process disappears (for
# example when the test runner was killed with SIGKILL and could not clean up).
# usage: supervise.sh <parent-pid> <logfile> <command> [args...]
parent=$1; log=$2; shift 2
"$@" >>"$log" 2>&1 &
child=$!
stop() { kill -TERM "$child" 2>/dev/null; for _ in $(seq 20); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL "$child" 2>/dev/null; exit 0; }
trap stop TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  kill -0 "$parent" 2>/dev/null || stop
  sleep 0.5 & wait $!
done
wait "$child"
