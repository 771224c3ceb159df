#!/bin/bash
# Run `dmbp eval` jobs from standard input, P at a time (default 4), each
# single-threaded under nice: one job a line, "OUT.csv ARGS..." (ARGS are
# dmbp eval's after `eval`); a job whose OUT.csv exists is skipped, a
# finished one is renamed from OUT.csv.tmp. Used for the chunks of
# LIBRARY.md's test-split and Fashion-MNIST runs (--offset/--n: the CSV's
# index column is the image's own, so chunks pair with whole runs).
set -u
P=${P:-4}
run() {
    out=$1; shift
    [ -s "$out" ] && return 0
    # shellcheck disable=SC2068
    OMP_NUM_THREADS=1 nice -n 10 ./dmbp eval $@ --threads 1 -q --randomization-images 0 \
        --csv "$out.tmp" >/dev/null 2>"$out.err" && mv "$out.tmp" "$out" && rm -f "$out.err"
}
while read -r line; do
    [ -z "$line" ] && continue
    case $line in \#*) continue ;; esac
    while [ "$(jobs -rp | wc -l)" -ge "$P" ]; do wait -n; done
    # shellcheck disable=SC2086
    run $line &
done
wait
