# Progress for long build steps, sourced by build.sh (and its unit test).
#
# A first build of kube-apiserver takes minutes on 2 cores, and `go build` is silent meanwhile,
# so a newcomer saw one line and then nothing for about 8 minutes. run_with_progress runs a
# command with its output in a file and, every BREAKGLASS_BUILD_PROGRESS_INTERVAL seconds
# (30 by default), prints what is being built, for how long, and the last line the command
# printed (with `go build -v`: the package being compiled). On failure the output's tail is shown.

progress_log() { echo "[controlplane-build] $*" >&2; }

# 125 -> "2m5s"
format_elapsed() {
  local s=$1
  if [ "$s" -ge 60 ]; then echo "$((s / 60))m$((s % 60))s"; else echo "${s}s"; fi
}

# run_with_progress WHAT UNIT COMMAND... ; UNIT names what the output lines count ("packages").
run_with_progress() {
  local what=$1 unit=$2
  shift 2
  local interval=${BREAKGLASS_BUILD_PROGRESS_INTERVAL:-30}
  local out started rc=0
  out=$(mktemp)
  started=$(date +%s)
  (
    # Sleep in 1 s steps so that, once killed, no sleep outlives the ticker by more than a second.
    while :; do
      for ((i = 0; i < interval; i++)); do sleep 1; done
      local lines last
      lines=$(wc -l <"$out")
      last=$(tail -n 1 "$out")
      progress_log "$what: $(format_elapsed $(($(date +%s) - started))) elapsed, ${lines// /} $unit so far${last:+, last: $last}"
    done
  ) >/dev/null &
  local ticker=$!
  "$@" >"$out" 2>&1 || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    progress_log "$what failed (exit $rc) after $(format_elapsed $(($(date +%s) - started))); last output:"
    tail -n 40 "$out" >&2
  else
    progress_log "$what: done in $(format_elapsed $(($(date +%s) - started)))"
  fi
  rm -f "$out"
  return "$rc"
}
