#!/bin/sh
# Instructions per message for every cell of the parse benchmark, load-independent:
# callgrind's instruction count at N iterations minus that at 0, divided by N.
#   sh sip-bench/ir.sh [N]    (from the workspace root, after
#   cargo build -p sip-bench --release --example profile)
N=${1:-2000}
BIN=${BIN:-target/release/examples/profile}
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" peer "$@" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| message | peer | parse | decode | serialize |"
echo "|---|---|---:|---:|---:|"
for msg in invite ok200 register headers40; do
    for peer in memchr sip-core sip-core+check rsip rsipstack sipx; do
        row="| $msg | $peer"
        for op in parse decode serialize; do
            if [ "$peer" = memchr ] && [ "$op" != parse ]; then row="$row | –"; continue; fi
            if [ "$peer" = sip-core+check ] && [ "$op" = serialize ]; then row="$row | –"; continue; fi
            if ! "$BIN" peer "$peer" "$op" "$msg" 1 >/dev/null 2>&1; then
                row="$row | fails"; continue
            fi
            z=$(ir "$peer" "$op" "$msg" 0)
            t=$(ir "$peer" "$op" "$msg" "$N")
            if [ -n "$z" ] && [ -n "$t" ]; then
                row="$row | $(( (t - z) / N ))"
            else
                row="$row | fails"
            fi
        done
        echo "$row |"
    done
done
