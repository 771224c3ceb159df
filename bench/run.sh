#!/bin/sh
# bench/run.sh - `make bench`: libdmbp beside PyTorch on ResNet50 and VGG16
# topologies (seeded random weights). Not part of `make check`.
#
#   make bench                              # from the build directory
#   make bench BENCH_FLAGS='--fpmath bf16'  # also ask for bf16 (reported,
#                                           # never faked)
#
# Every measurement is its own process (so peak RSS is per computation);
# libdmbp and PyTorch alternate, round after round, for each computation.
# Knobs (environment; defaults are the documented run):
#   BENCH_THREADS=2        threads for both (OMP_NUM_THREADS, torch threads)
#   BENCH_REPEAT=5         rounds (process pairs) per fast computation
#   BENCH_INNER=3          timed runs inside each such process (+1 warm-up)
#   BENCH_FULL_REPEAT=2    rounds of the full DMBP (no warm-up, 1 run each)
#   BENCH_ITERATIONS=200   DMBP iterations (lower it for a smoke test only)
#   BENCH_LANES_REPEAT=1   rounds of the 8-image DMBP (lanes vs one by one)
#   BENCH_IG_LANES=        libdmbp's max_lanes for IG (empty: the library's
#                          default, as many of the 32 steps as fit in its
#                          memory budget; 32: all steps at once, which
#                          needs ~0.5-0.65 GB per lane at 224 x 224)
#   BENCH_MODELS='resnet50 vgg16'   BENCH_LANES_MODELS (default: the same;
#                          empty: skip the 8-image measurement)
#   BENCH_SCALING=1        also time forward/grad/dmbp_iter with 1 thread
#   BENCH_CACHE=DIR        exported models (default ~/.cache/dmbp-bench)
#   BENCH_OUT=DIR          results (default bench/results in the build tree)
#   BENCH_PYTHON=/usr/bin/python3   (needs python3-torch, -torchvision, -onnx)
#   BENCH_FPMATH=f32|bf16  same as --fpmath
#   BENCH_BF16=auto        the bf16 rows: libdmbp --fpmath bf16 and PyTorch
#                          under torch.autocast(bfloat16), forward, input
#                          gradient, one DMBP iteration (explicit formula);
#                          auto: when /proc/cpuinfo lists avx512_bf16 or
#                          amx_bf16 (or --fpmath bf16 was given); 0: never;
#                          1: always (libdmbp refuses on a CPU without)
#   BENCH_BUSY=1           also bench/busy.sh: the shipped model's DMBP with
#                          1 and 2 threads beside a CPU-bound process (0: skip)
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
PY=${BENCH_PYTHON:-/usr/bin/python3}
THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-5}
INNER=${BENCH_INNER:-3}
FULL_REPEAT=${BENCH_FULL_REPEAT:-2}
ITERS=${BENCH_ITERATIONS:-200}
LANES_REPEAT=${BENCH_LANES_REPEAT:-1}
IG_LANES=${BENCH_IG_LANES:-}
MODELS=${BENCH_MODELS:-resnet50 vgg16}
LANES_MODELS=${BENCH_LANES_MODELS-$MODELS}
SCALING=${BENCH_SCALING:-1}
FPMATH=${BENCH_FPMATH:-f32}
OUT=${BENCH_OUT:-$builddir/bench/results}
# Nothing written into the source tree (it may be read-only).
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

while [ $# -gt 0 ]; do
    case $1 in
    --fpmath) [ $# -ge 2 ] || { echo "run.sh: --fpmath needs a value" >&2; exit 2; }
              FPMATH=$2; shift 2 ;;
    --fpmath=*) FPMATH=${1#--fpmath=}; shift ;;
    -h|--help) sed -n '2,/^set -eu$/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $FPMATH in f32|bf16) ;; *) echo "run.sh: --fpmath f32 or bf16" >&2; exit 2 ;; esac

BENCH=$builddir/bench/bench
DNNL=$builddir/bench/dnnl_conv
PEER=$srcdir/bench/peers/torch_peer.py
for f in "$BENCH" "$DNNL"; do
    [ -x "$f" ] || { echo "run.sh: $f missing: run 'make bench'" >&2; exit 1; }
done
if ! "$PY" -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "run.sh: $PY cannot import torch, torchvision and onnx" >&2
    echo "        (apt-get install python3-torch python3-torchvision python3-onnx)" >&2
    exit 1
fi

mkdir -p "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
RES=$OUT/bench-$stamp.jsonl
: > "$RES"
# The exact command: make bench, with every BENCH_* setting of this run.
CMDLINE="$(env | grep '^BENCH_' | grep -v '^BENCH_FLAGS=' | sort | tr '\n' ' ')make bench${BENCH_FLAGS:+ BENCH_FLAGS='$BENCH_FLAGS'}"

# ---- the machine ---------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
has() { grep -qw "$1" /proc/cpuinfo && echo true || echo false; }
dnnl_ver=$(dpkg-query -W -f '${Version}' libdnnl2 2>/dev/null || echo unknown)
torch_ver=$("$PY" -c 'import torch; print(torch.__version__)')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
printf '{"impl":"system","cpu":"%s","nproc":%s,"avx512_bf16":%s,"amx_bf16":%s,"avx512f":%s,"mem_total_kb":%s,"onednn_pkg":"%s","torch":"%s","load_start":"%s","date":"%s","command":"%s","threads":%s,"repeat":%s,"inner":%s,"full_repeat":%s,"iterations":%s,"ig_lanes":%s,"fpmath":"%s"}\n' \
    "$cpu" "$(nproc)" "$(has avx512_bf16)" "$(has amx_bf16)" "$(has avx512f)" \
    "${mem_kb:-0}" "$dnnl_ver" "$torch_ver" "$load0" "$stamp" "$CMDLINE" "$THREADS" \
    "$REPEAT" "$INNER" "$FULL_REPEAT" "$ITERS" "${IG_LANES:-0}" "$FPMATH" >> "$RES"

# ---- models --------------------------------------------------------------
models_csv=$(echo $MODELS $LANES_MODELS | tr ' ' '\n' | sort -u | paste -sd, -)
CACHE=$(BENCH_THREADS=$THREADS "$PY" "$srcdir/bench/export_models.py" \
        --models "$models_csv" | tail -n 1)
echo "bench: models in $CACHE; results in $RES" >&2

# run THREADS LABEL COMMAND...: one measurement process; its JSON line
# (the last line of its output) goes to the results.
run() {
    t=$1; label=$2; shift 2
    printf 'bench: %-48s ' "$label (threads $t)" >&2
    if line=$(OMP_NUM_THREADS=$t "$@" 2>"$OUT/last.err" | tail -n 1) &&
       [ -n "$line" ]; then
        echo "$line" >> "$RES"
        printf '%s\n' "$(printf '%s' "$line" | sed -n 's/.*"times": *\[\([^]]*\)\].*/\1/p' | cut -c1-40)" >&2
    else
        echo "FAILED: $(tail -n 3 "$OUT/last.err" | tr '\n' ' ')" >&2
        printf '{"impl":"failed","label":"%s","threads":%s}\n' "$label" "$t" >> "$RES"
    fi
}
ours() {   # THREADS MODEL WHAT REPEAT WARMUP [more bench args]
    t=$1; m=$2; w=$3; r=$4; wu=$5; shift 5
    input=$CACHE/input.npy
    [ "$w" = dmbp8 ] && input=$CACHE/input8.npy
    run "$t" "$m $w libdmbp${*:+ $*}" "$BENCH" --model "$CACHE/$m.onnx" \
        --input "$input" --what "$w" --repeat "$r" --warmup "$wu" \
        --iterations "$ITERS" "$@"
}
peer() {   # THREADS MODEL WHAT REPEAT WARMUP [variant [more peer args]]
    t=$1; m=$2; w=$3; r=$4; wu=$5; v=${6:-explicit}
    shift 5; [ $# -gt 0 ] && shift
    case $w in dmbp*) lab="torch $v" ;; *) lab=torch ;; esac
    run "$t" "$m $w $lab${*:+ $*}" "$PY" "$PEER" --model "$m" --what "$w" \
        --variant "$v" --threads "$t" --repeat "$r" --warmup "$wu" \
        --iterations "$ITERS" --cache "$CACHE" "$@"
}
onednn() { # THREADS MODEL
    run "$1" "$2 oneDNN-only convolutions" "$DNNL" "$CACHE/$2.layers" \
        --repeat $((INNER * 3)) --warmup 2
}

# ---- fast computations: alternate libdmbp / PyTorch, round after round ----
for m in $MODELS; do
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" forward "$INNER" 1
        peer "$THREADS" "$m" forward "$INNER" 1
        onednn "$THREADS" "$m"
    done
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" grad "$INNER" 1
        peer "$THREADS" "$m" grad "$INNER" 1
    done
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" dmbp_iter "$INNER" 1
        peer "$THREADS" "$m" dmbp_iter "$INNER" 1 explicit
        peer "$THREADS" "$m" dmbp_iter "$INNER" 1 autograd
    done
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" ig 1 1 ${IG_LANES:+--lanes "$IG_LANES"}
        peer "$THREADS" "$m" ig 1 1
    done
done

# ---- LRP and occlusion beside tests/ref's PyTorch implementations (#24) ----
for m in $MODELS; do
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" lrp 1 0
        peer "$THREADS" "$m" lrp 1 0
    done
    for i in $(seq "$REPEAT"); do
        ours "$THREADS" "$m" occlusion 1 0
        peer "$THREADS" "$m" occlusion 1 0
    done
done

# ---- the full DMBP (every iteration run, none extrapolated) ----------------
for m in $MODELS; do
    for i in $(seq "$FULL_REPEAT"); do
        ours "$THREADS" "$m" dmbp 1 0 --preset classic
        peer "$THREADS" "$m" dmbp 1 0 explicit
        peer "$THREADS" "$m" dmbp 1 0 autograd
        # The default preset (path DMBP, issue #23) beside the classic
        # formulation the peers compute: its cost rule is this ratio.
        ours "$THREADS" "$m" dmbp_default 1 0
    done
done

# ---- 8 images: as 16 lanes of one plan vs one image (2 lanes) at a time ----
for m in $LANES_MODELS; do
    for i in $(seq "$LANES_REPEAT"); do
        ours "$THREADS" "$m" dmbp8 1 0 --lanes 16
        ours "$THREADS" "$m" dmbp8 1 0 --lanes 2
    done
done

# ---- 1 thread, for the scaling line ----------------------------------------
if [ "$SCALING" != 0 ] && [ "$THREADS" != 1 ]; then
    for m in $MODELS; do
        for w in forward grad dmbp_iter; do
            for i in $(seq "$REPEAT"); do
                ours 1 "$m" "$w" "$INNER" 1
                peer 1 "$m" "$w" "$INNER" 1
            done
        done
    done
fi

# ---- reduced precision: libdmbp --fpmath bf16 beside torch.autocast --------
BF16=${BENCH_BF16:-auto}
if [ "$BF16" = auto ]; then
    BF16=0
    if [ "$FPMATH" = bf16 ] || grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo
    then BF16=1; fi
fi
if [ "$BF16" = 1 ]; then
    for m in $MODELS; do
        for w in forward grad dmbp_iter; do
            for i in $(seq "$REPEAT"); do
                ours "$THREADS" "$m" "$w" "$INNER" 1 --fpmath bf16
                peer "$THREADS" "$m" "$w" "$INNER" 1 explicit --autocast
            done
        done
    done
fi

# ---- a busy machine: 1 vs 2 threads with a competing process -----------------
if [ "${BENCH_BUSY:-1}" != 0 ]; then
    echo "bench: busy machine (bench/busy.sh)" >&2
    BUSY_OUT="$OUT/busy-$stamp.md" sh "$srcdir/bench/busy.sh" >&2 || true
fi

printf '{"impl":"system","load_end":"%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES"
"$PY" "$srcdir/bench/report.py" "$RES" | tee "$OUT/report-$stamp.md"
echo "bench: raw results $RES, report $OUT/report-$stamp.md" >&2
