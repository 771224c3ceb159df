#!/bin/sh
# bench/rss.sh - peak RSS (getrusage ru_maxrss) of libdmbp and PyTorch for
# forward, input gradient, one DMBP iteration and IG, one process each, one
# run each (no timing: RSS does not depend on the machine's load).
#
#   sh bench/rss.sh [BENCH_BINARY...]     from the build directory
#
# Each BENCH_BINARY is a bench/bench (default: ./bench/bench), e.g. an old
# build beside the new one to compare; its label is its directory. The
# models come from bench/export_models.py's cache (BENCH_CACHE). Prints a
# Markdown table in MiB. Knobs: BENCH_MODELS ('resnet50 vgg16'),
# RSS_WHAT ('forward grad dmbp_iter ig'), RSS_IG_LANES (empty: the
# library's default; else --lanes for every libdmbp IG run),
# BENCH_THREADS (2), BENCH_PYTHON (/usr/bin/python3).
set -eu
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
PY=${BENCH_PYTHON:-/usr/bin/python3}
THREADS=${BENCH_THREADS:-2}
MODELS=${BENCH_MODELS:-resnet50 vgg16}
WHAT=${RSS_WHAT:-forward grad dmbp_iter ig}
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
[ $# -gt 0 ] || set -- ./bench/bench
models_csv=$(echo $MODELS | tr ' ' ',')
CACHE=$("$PY" "$srcdir/bench/export_models.py" --models "$models_csv" |
        tail -n 1)
rss() { sed -n 's/.*"peak_rss_kb": *\([0-9]*\).*/\1/p' | tail -n 1; }
mib() { [ -n "$1" ] && echo $(( ($1 + 512) / 1024 )) || echo failed; }

printf '| model | computation |'
for b in "$@"; do printf ' libdmbp %s |' "$(dirname "$(dirname "$b")")"; done
printf ' PyTorch |\n|---|---|'
for b in "$@"; do printf -- '---:|'; done
printf -- '---:|\n'
for m in $MODELS; do
    for w in $WHAT; do
        printf '| %s | %s |' "$m" "$w"
        for b in "$@"; do
            extra=
            [ "$w" = ig ] && [ -n "${RSS_IG_LANES:-}" ] &&
                extra="--lanes $RSS_IG_LANES"
            kb=$(OMP_NUM_THREADS=$THREADS "$b" --model "$CACHE/$m.onnx" \
                   --input "$CACHE/input.npy" --what "$w" --repeat 1 \
                   --warmup 0 --iterations 2 $extra 2>/dev/null | rss) || kb=
            printf ' %s |' "$(mib "$kb")"
        done
        kb=$(OMP_NUM_THREADS=$THREADS "$PY" "$srcdir/bench/peers/torch_peer.py" \
               --model "$m" --what "$w" --variant explicit \
               --threads "$THREADS" --repeat 1 --warmup 0 --iterations 2 \
               --cache "$CACHE" 2>/dev/null | rss) || kb=
        printf ' %s |\n' "$(mib "$kb")"
    done
done
