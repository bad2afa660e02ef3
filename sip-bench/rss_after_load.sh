#!/bin/bash
# RSS of a SIP server before, at the end of and after a SIPp `uac` load (issue 17's "RSS
# returns to within 20 % of its pre-load level within 64·T1 after load stops"):
#   bash sip-bench/rss_after_load.sh SERVER_BINARY [PORT] [RATE] [CALLS]
# e.g. bash sip-bench/rss_after_load.sh target/release/examples/uas 5190 2000 40000
# (build the example in release first). Both sides ask for 4 MiB socket buffers. Prints
# /proc/PID/status's VmRSS, RssAnon and RssFile at start, at the end of the load, and 33 s
# (64·T1 + 1 s) and 36 s after it. WARM=N first runs N calls at 100 calls/s and waits 3 s,
# so the start figure is taken with the call paths' code paged in.
set -u
BIN=$1; PORT=${2:-5190}; RATE=${3:-2000}; N=${4:-40000}
DIR=$(mktemp -d)
"$BIN" --bind "127.0.0.1:$PORT" --recv-buffer 4194304 > "$DIR/server.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 2
if [ -n "${WARM:-}" ]; then
    (cd "$DIR" && timeout 60 sipp -sn uac "127.0.0.1:$PORT" -r 100 -m "$WARM" -buff_size 4194304 >/dev/null 2>&1)
    sleep 3
fi
rss() { awk '/VmRSS|RssAnon|RssFile/{printf "%s %s kB  ", $1, $2}' "/proc/$PID/status"; echo; }
echo -n "start: "; rss
(cd "$DIR" && timeout 600 sipp -sn uac "127.0.0.1:$PORT" -r "$RATE" -m "$N" -buff_size 4194304 >/dev/null 2>&1)
echo -n "end:   "; rss
sleep 33
echo -n "+33s:  "; rss
sleep 3
echo -n "+36s:  "; rss
kill -TERM $PID; wait $PID
grep -E "calls failed|retransmissions sent|503" "$DIR/server.log"
