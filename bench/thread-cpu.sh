#!/bin/bash
# Every thread of a running process over a window, from the kernel's schedstat: time on a CPU, time
# waiting on a run queue for one (preempted or not yet scheduled), involuntary switches, and the CPUs
# it may use. `bash bench/thread-cpu.sh PID [SECONDS]` while `inspectd bench` (or `run`) runs; the
# busiest first. Used for bench/RESULTS.md, "Where the daemon's extra milliseconds go".
set -euo pipefail
pid=$1; s=${2:-10}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
snap() {
  for t in /proc/"$pid"/task/*; do
    read -r run wait _ < "$t/schedstat" 2>/dev/null || continue
    nv=$(awk '/nonvoluntary_ctxt/{print $2}' "$t/status"); cpus=$(awk '/Cpus_allowed_list/{print $2}' "$t/status")
    echo "${t##*/} $(tr ' ' _ < "$t/comm") $run $wait $nv $cpus"
  done | sort
}
snap > "$tmp/a"; sleep "$s"; snap > "$tmp/b"
join "$tmp/a" "$tmp/b" | awk -v s="$s" '{printf "%-8s %-16s run %6.1f%% wait %6.2f%% invol %6.1f/s cpus %s\n",$1,$2,($8-$3)/1e7/s,($9-$4)/1e7/s,($10-$5)/s,$11}' | sort -k4 -nr
