#!/bin/bash
# threads.sh DIR OUT [RATE] [EXTRA...]: `inspectd bench --seconds 20 --rate RATE --saturation none` from the
# build in DIR, and 10 s of bench/thread-cpu.sh on the daemon, mosquitto and the bench subscriber
# during the e2e window. Writes OUT.json, OUT.txt, OUT.threads.
set -u
dir=$1; out=$2; rate=${3:-100}; shift 3 || shift $#
here=$(cd "$(dirname "$0")/../../.." && pwd)
(cd "$dir" && exec node dist/src/cli/main.js bench --seconds 20 --rate "$rate" --saturation none --json "$out.json" "$@" > "$out.txt" 2>&1) &
bpid=$!
d=""; for _ in $(seq 1 300); do
  d=$(pgrep -f -n 'dist/src/cli/main.js run -c /tmp/inspectd-bench-' || true); [ -n "$d" ] && break; sleep 0.2; done
sleep 7   # the daemon's start, then the 3 s warm-up
m=$(pgrep -n -x mosquitto || true); s=$(pgrep -f -n 'subscriber-process.js' || true)
{ echo "daemon $d"; bash "$here/bench/thread-cpu.sh" "$d" 10 & 
  [ -n "$m" ] && { sleep 0.01; bash "$here/bench/thread-cpu.sh" "$m" 10 | sed 's/^/mosquitto /'; } &
  [ -n "$s" ] && bash "$here/bench/thread-cpu.sh" "$s" 10 | sed 's/^/subscriber /' &
  wait; } > "$out.threads" 2>&1   # waits for the bench too
wait $bpid 2>/dev/null   # (the group above has already waited for it)
