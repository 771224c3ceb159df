#!/bin/sh
# bench/busy.sh - the `make bench` row "a busy machine": DMBP on the
# shipped Fashion-MNIST VGG (dmbp explain, 200 iterations) with 1 and 2
# threads while a CPU-bound process of ours holds one core, under the
# program's wait policy (OMP_WAIT_POLICY=passive, set by dmbp itself) and
# under GNU OpenMP's spinning default (OMP_WAIT_POLICY=active: what dmbp did
# before). A 2-thread run must not be slower than a 1-thread run.
#
#   sh bench/busy.sh                 # from the build directory
# Knobs: BUSY_REPEAT=3 (runs per row; the median is reported),
#        BUSY_OUT=FILE (also write the Markdown table there).
set -eu
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
DMBP=$builddir/dmbp
MODEL=$srcdir/models/fmnist_vgg.onnx
IMAGE=$srcdir/models/samples/coat.png
REPEAT=${BUSY_REPEAT:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmbp-busy.XXXXXX")

# The competing process: a shell loop, on CPU 0 when taskset exists.
if command -v taskset >/dev/null 2>&1; then
    taskset -c 0 sh -c 'while :; do :; done' &
else
    sh -c 'while :; do :; done' &
fi
BUSY=$!
trap 'kill $BUSY 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM

# seconds POLICY THREADS: wall time of one explain.
seconds() {
    s=$(date +%s.%N)
    if [ "$1" = default ]; then
        "$DMBP" explain "$MODEL" "$IMAGE" --quiet --force -O "$TMP" --threads "$2" >/dev/null
    else
        OMP_WAIT_POLICY=$1 "$DMBP" explain "$MODEL" "$IMAGE" --quiet --force -O "$TMP" --threads "$2" >/dev/null
    fi
    e=$(date +%s.%N)
    echo "$e - $s" | bc
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

table() {
    echo "| wait policy | threads | median s ($REPEAT runs) | vs 1 thread |"
    echo "|---|---|---|---|"
    for policy in default active; do
        one=""
        for t in 1 2; do
            m=$(for i in $(seq "$REPEAT"); do seconds "$policy" "$t"; done | median)
            [ -n "$one" ] || one=$m
            name=$policy; [ "$policy" = default ] && name="passive (dmbp's default)"
            [ "$policy" = active ] && name="active (spinning, OpenMP's default)"
            printf '| %s | %s | %.2f | %.2fx |\n' "$name" "$t" "$m" "$(echo "$m / $one" | bc -l)"
        done
    done
    echo
    echo "Load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ -n "${BUSY_OUT:-}" ]; then table | tee "$BUSY_OUT"; else table; fi
