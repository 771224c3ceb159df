#!/bin/sh
# The C examples (examples/explain.c, examples/eval.c), built by make check
# against the public headers and the shared library, run on a shipped
# sample: explain prints the class and a decomposition F = F+ + F- + Fn
# that adds up and writes its PNG; eval prints two AUCs in [0, 1].
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
boot="$MODELS/samples/ankle_boot.png"
is_png() {
    [ "$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')" = 89504e470d0a1a0a ]
}
expect_exit 0 "explain example" -- "$top_builddir/examples/explain" \
    "$MODELS/fmnist_vgg.onnx" "$boot" "$TMP/boot.png"
grep -q "^class 9 (Ankle boot)" "$TMP/out" || fail "explain: $(cat "$TMP/out")"
awk '/^F /{f=$3} /^F_pos/{p=$3} /^F_neg/{n=$3} /^F_nuisance/{u=$3}
     END {d = f - (p + n + u); if (d < 0) d = -d; s = (f < 0 ? -f : f);
          exit !(NR == 5 && d <= 1e-3 * (s > 1 ? s : 1))}' "$TMP/out" ||
    fail "explain: F is not F+ + F- + Fn: $(cat "$TMP/out")"
is_png "$TMP/boot.png" || fail "explain: no PNG written"
expect_exit 2 "explain example, usage" -- "$top_builddir/examples/explain"
expect_exit 1 "explain example, bad image" -- "$top_builddir/examples/explain" \
    "$MODELS/fmnist_vgg.onnx" "$IMG/bad_text.png" "$TMP/bad.png"
grep -q "bad_text.png" "$TMP/err" || fail "explain error: $(cat "$TMP/err")"
[ -e "$TMP/bad.png" ] && fail "explain: output written after a failure"

expect_exit 0 "eval example" -- "$top_builddir/examples/eval" \
    "$MODELS/fmnist_vgg.onnx" "$boot"
awk '{for (i = 1; i <= NF; i++) if ($i == "AUC") v[++n] = $(i + 1) + 0}
     END {exit !(n == 2 && v[1] >= 0 && v[1] <= 1 && v[2] >= 0 && v[2] <= 1)}' \
    "$TMP/out" || fail "eval: $(cat "$TMP/out")"
finish
