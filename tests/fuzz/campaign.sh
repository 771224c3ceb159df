#!/bin/sh
# A long fuzzing campaign, measured in CPU time rather than wall time, so
# that it can run at low priority beside other work (or be stopped with
# SIGSTOP and resumed) and still give each target its full share:
#
#   sh tests/fuzz/campaign.sh CPU_SECONDS LOGDIR TARGET...
#
# Run from a build directory after `make fuzz-bin/fuzz_TARGET`. Each
# target runs as one libFuzzer process (nice 10) until its user+system
# CPU time reaches CPU_SECONDS, then gets SIGINT and prints its final
# statistics to LOGDIR/TARGET.log. New inputs go to fuzz-corpus/TARGET,
# findings to fuzz-corpus/TARGET-crash-* (as `make fuzz`). Targets run
# two at a time (this machine has two cores).
#
# FUZZ_TIMEOUT (default 30) is libFuzzer's -timeout, in wall seconds per
# input: a campaign held with SIGSTOP for longer than that reports the
# held input as a timeout, so raise it for campaigns that will be held
# (replay such a "timeout" file: a real one is slow when replayed too).
set -u
cpu=$1; logdir=$2; shift 2
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
mkdir -p "$logdir"
tick=$(getconf CLK_TCK)

run_one() {
    t=$1
    mkdir -p fuzz-corpus/$t
    dict=; [ "$t" = onnx ] && dict=-dict=$top_srcdir/tests/fuzz/onnx.dict
    seeds=$top_srcdir/tests/fuzz/corpus/$t
    [ "$t" = onnx ] && seeds="$seeds $top_srcdir/tests/fuzz/regressions"
    LSAN_OPTIONS=suppressions=$top_srcdir/tests/fuzz/lsan.supp \
    nice -n 10 ./fuzz-bin/fuzz_$t -timeout=${FUZZ_TIMEOUT:-30} -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 $dict \
        -artifact_prefix=fuzz-corpus/$t- fuzz-corpus/$t $seeds \
        >"$logdir/$t.log" 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null; do
        used=$(awk -v t="$tick" '{print int(($14 + $15) / t)}' \
               /proc/$pid/stat 2>/dev/null || echo 0)
        if [ "${used:-0}" -ge "$cpu" ]; then
            kill -INT $pid
            break
        fi
        sleep 20
    done
    wait $pid
    echo "$t: exit $?, $(grep -c 'ERROR\|==.*deadly' "$logdir/$t.log") error lines" \
        >>"$logdir/summary.txt"
}

# Two workers take alternate targets from the list.
list="$*"
worker() {
    n=0
    for t in $list; do
        [ $((n % 2)) -eq "$1" ] && run_one "$t"
        n=$((n + 1))
    done
}
worker 0 & worker 1 & wait
