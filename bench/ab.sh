#!/bin/sh
# bench/ab.sh - two builds of libdmbp side by side: bench/bench of OLD and
# NEW (build directories), alternating process by process, so that both
# see the same machine in the same minutes.
#
#   sh bench/ab.sh OLD_BUILDDIR NEW_BUILDDIR [ROUNDS]
#
# Environment: AB_MODELS (default 'resnet50 vgg16'), AB_WHAT (default
# 'forward grad dmbp_iter'), BENCH_CACHE (the exported models of make
# bench), OMP_NUM_THREADS (default 2). Prints one line per process, then
# the median of every timed run per model, computation and build.
set -eu
old=$1; new=$2; rounds=${3:-5}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmbp-bench}
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}; export OMP_NUM_THREADS
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for m in ${AB_MODELS:-resnet50 vgg16}; do
  for w in ${AB_WHAT:-forward grad dmbp_iter}; do
    r=0
    while [ $r -lt "$rounds" ]; do
      for side in old new; do
        d=$old; [ $side = new ] && d=$new
        t=$("$d/libtool" --mode=execute "$d/bench/bench" --model "$cache/$m.onnx" \
              --input "$cache/input.npy" --what "$w" --repeat 3 --warmup 1 |
            sed -n 's/.*"times":\[\([^]]*\)\].*/\1/p')
        echo "$m $w $side $t" | tee -a "$out"
      done
      r=$((r + 1))
    done
  done
done
echo "| model | computation | old median ms | new median ms | old / new |"
echo "|---|---|---:|---:|---:|"
awk '{ split($4, t, ","); for (i in t) v[$1" "$2" "$3] = v[$1" "$2" "$3] " " t[i] }
     END { for (k in v) print k, v[k] }' "$out" |
while read -r m w side rest; do
    med=$(printf '%s\n' $rest | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) * 1000}')
    echo "$m $w $side $med"
done | sort | awk '{k=$1" "$2; if ($3=="new") n[k]=$4; else o[k]=$4}
     END { for (k in o) { split(k, p, " "); printf "| %s | %s | %.1f | %.1f | %.2f |\n", p[1], p[2], o[k], n[k], o[k]/n[k] } }' | sort
