#!/bin/bash
# VGG.md (issue #23): one `dmbp eval` run of the ground-truth study on
# evidence_vgg (or another evidence model), one thread, lowest priority.
# Usage: vgg_run.sh MODEL IMAGES N OUTDIR NAME METHODS [OPTIONS...]
# writes OUTDIR/NAME.csv (per image), NAME.txt (the table), NAME.seconds.
set -e
M=$1 IM=$2 N=$3 O=$4 NAME=$5 METH=$6; shift 6
mkdir -p "$O"
[ -f "$O/$NAME.csv" ] && exit 0
export OMP_NUM_THREADS=1
s=$(date +%s)
nice -n 19 ./dmbp eval models/$M.onnx --images "$IM" --n "$N" --ground-truth \
  --methods "$METH" --randomization-images 0 --threads 1 -q "$@" \
  --csv "$O/$NAME.csv.part" > "$O/$NAME.txt" </dev/null
mv "$O/$NAME.csv.part" "$O/$NAME.csv"
echo $(($(date +%s) - s)) > "$O/$NAME.seconds"
echo "$M $NAME: $* ($(cat "$O/$NAME.seconds") s)" >> "$O/commands.txt"
