#!/bin/sh
# bench/lrp_time.sh - LRP's wall time per composite, two builds side by
# side (#24): `dmbp explain MODEL IMAGE --method lrp --composite C` of OLD
# and NEW, alternating process by process (the order swapped every round)
# so that both see the same machine in the same minutes; the median of
# ROUNDS runs each and the ratio NEW / OLD, with the load average at the
# start and the end (a ratio from interleaved runs survives a busy machine
# better than either time does).
#
#   sh bench/lrp_time.sh OLD NEW [ROUNDS]
#
# OLD, NEW: a build directory (its libtool wrapper ./dmbp) or a dmbp
# program. ROUNDS: 3. Environment: LRP_MODEL (default: make bench's
# ResNet50, $BENCH_CACHE/resnet50.onnx), LRP_IMAGE (default: the
# torchvision slow tier's 224 x 224 input, ~/.cache/dmbp-tv/input224.png),
# LRP_COMPOSITES (default: all six), LRP_THREADS (default 2).
set -eu
prog() { if [ -d "$1" ]; then echo "$1/dmbp"; else echo "$1"; fi; }
old=$(prog "$1"); new=$(prog "$2"); rounds=${3:-3}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmbp-bench}
model=${LRP_MODEL:-$cache/resnet50.onnx}
image=${LRP_IMAGE:-$HOME/.cache/dmbp-tv/input224.png}
composites=${LRP_COMPOSITES:-epsilon epsilon-plus epsilon-plus-flat \
epsilon-gamma-box epsilon-alpha2-beta1 epsilon-alpha1-beta0}
threads=${LRP_THREADS:-2}
for f in "$old" "$new" "$model" "$image"; do
    [ -e "$f" ] || { echo "lrp_time.sh: $f: no such file" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmbp-lrp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# seconds PROGRAM COMPOSITE: wall time of one explanation.
seconds() {
    s=$(date +%s.%N)
    "$1" explain "$model" "$image" --no-resize --method lrp --composite "$2" \
        --threads "$threads" -o "$tmp/map" --force -q >/dev/null
    e=$(date +%s.%N)
    echo "$s $e" | awk '{printf "%.3f", $2 - $1}'
}

load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime; }
start=$(load)
r=0
while [ "$r" -lt "$rounds" ]; do
    for c in $composites; do
        if [ $((r % 2)) -eq 0 ]; then sides="old new"; else sides="new old"; fi
        for side in $sides; do
            p=$old; [ "$side" = new ] && p=$new
            t=$(seconds "$p" "$c")
            echo "$c $side $t" | tee -a "$tmp/runs"
        done
    done
    r=$((r + 1))
done
end=$(load)

median() {
    sort -n | awk '{v[NR] = $1}
        END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
echo "$model, $threads threads, $rounds rounds; load average $start at the start, $end at the end"
echo
echo "| composite | old, median (s) | new, median (s) | new / old |"
echo "|---|---:|---:|---:|"
for c in $composites; do
    o=$(awk -v c="$c" '$1 == c && $2 == "old" {print $3}' "$tmp/runs" | median)
    n=$(awk -v c="$c" '$1 == c && $2 == "new" {print $3}' "$tmp/runs" | median)
    echo "$c $o $n" | awk '{printf "| %s | %.2f | %.2f | %.2f |\n", $1, $2, $3, $3 / $2}'
done
