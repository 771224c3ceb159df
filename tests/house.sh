#!/bin/sh
# The shape issue #22 gave src/ (DEVELOPERS.md, "The house"): no circle
# of calls or includes between folders, no file over 800 lines, <dnnl.h>
# included by at most three files. tools/house.py draws the house from
# the built objects (nm) and the includes.
PY=/usr/bin/python3
test -x "$PY" || { echo "SKIP: no $PY"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
out=$("$PY" "$top_srcdir/tools/house.py" "$top_builddir") || exit 1
echo "$out"
fail=0
echo "$out" | grep -qx 'circles between folders: none' ||
    { echo "FAIL: a circle between folders"; fail=1; }
echo "$out" | grep -qx 'files over 800 lines: none' ||
    { echo "FAIL: a file over 800 lines"; fail=1; }
n=$(echo "$out" | sed -n 's/^files including <dnnl.h>: //p' | wc -w)
test "$n" -le 3 || { echo "FAIL: $n files include <dnnl.h>"; fail=1; }
arrows=$(echo "$out" | sed -n 's/^[0-9]* .c files, \([0-9]*\) file arrows.*/\1/p')
test "${arrows:-0}" -gt 100 ||
    { echo "FAIL: only '${arrows}' arrows: the objects were not read"; fail=1; }
exit $fail
