#!/usr/bin/env bash
# Runs "$@" with the shared development box quiet: every other process whose working folder is under
# /work or /tmp (other checkouts' builds and tests, outside this git checkout) is stopped with SIGSTOP
# for the run and continued after it, so a timing is not another session's load. The figures in
# bench/RESULTS.md marked "nothing else running" were taken this way (as /tmp/quiet.sh, a copy of this file).
# Not for a plant machine: there, what else runs is the load the daemon must live with.
me=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
pids=()
for p in $(ps -eo pid=); do
  [ "$p" = "$$" ] && continue; [ "$p" = "$PPID" ] && continue
  cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
  case "$cwd" in "$me"*) continue ;; /work/*|/tmp/*) ;; *) continue ;; esac
  case "$(cat "/proc/$p/comm" 2>/dev/null)" in bash|sh|sleep) continue ;; esac
  kill -STOP "$p" 2>/dev/null && pids+=("$p")
done
echo "quiet.sh: stopped ${#pids[@]} other processes" >&2
trap 'for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; done' EXIT
"$@"
