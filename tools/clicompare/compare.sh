#!/bin/sh
# tools/clicompare/compare.sh A B: compare two cases.sh result folders:
# every file byte for byte (.png, .npy) or as text after norm.py (timings,
# input mtimes, dates, the binaries' paths, mpirun's process names), and
# the MPI cases' lines sorted (ranks finish in any order).
A=$1; B=$2
T=$(mktemp -d)
CLICOMPARE_BINS="$(cat "$A.bin" "$B.bin" 2>/dev/null)"
export CLICOMPARE_BINS
norm() { /usr/bin/python3 "$(dirname "$0")/norm.py" "$1"; }
bad=0
for f in $(cd "$A" && find . -type f | sort) ; do
  [ -f "$B/$f" ] || { echo "only in A: $f"; bad=1; continue; }
  case "$f" in *.png|*.npy|*.onnx) cmp -s "$A/$f" "$B/$f" || { echo "differs: $f"; bad=1; } ;;
  *) norm "$A/$f" > "$T/na"; norm "$B/$f" > "$T/nb"
     # MPI runs finish their images in any order on any rank: compared as sorted lines.
     case "$f" in *mp1/*|*mp2/*|*x3/*|./c3[5-8].*) for x in na nb; do sed -E 's/"rank": [0-9]+/"rank": R/' "$T/$x" | sort > "$T/$x".s; mv "$T/$x".s "$T/$x"; done;; esac
     cmp -s "$T/na" "$T/nb" || { echo "differs: $f"; diff "$T/na" "$T/nb" | head -6; bad=1; } ;;
  esac
done
for f in $(cd "$B" && find . -type f | sort); do [ -f "$A/$f" ] || { echo "only in B: $f"; bad=1; }; done
echo "compared $(cd "$A" && find . -type f | wc -l) files: $([ $bad = 0 ] && echo same || echo DIFFERENT)"
rm -rf "$T"
