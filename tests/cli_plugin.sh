#!/bin/sh
# dmbp --plugin with the example plugin (examples/swish_plugin.c): every
# method runs through a plugin op; saliency, gxi and guided match PyTorch
# (tests/ref/make_plugin_fixtures.py) within 1e-4 of the largest value.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

PLUGIN="$top_builddir/examples/.libs/swish_plugin.so"
PD="$top_srcdir/tests/ref/data/plugin"
CLOSE="$top_builddir/tests/npy_close"
[ -f "$PLUGIN" ] || { echo "no $PLUGIN (make check builds it)" >&2; exit 1; }
target=$(cat "$PD/target.txt")

# Without the plugin the model does not load (unsupported op, status 5).
expect_exit 5 "model without its plugin" -- "$DMBP" info "$PD/swish.onnx" &&
    grep -q "Swishx" "$TMP/err" || fail "no plugin: $(cat "$TMP/err")"

expect_exit 0 "info --plugin" -- "$DMBP" --plugin "$PLUGIN" info "$PD/swish.onnx" &&
    grep -q "Swishx 2" "$TMP/out" || fail "info: $(cat "$TMP/out")"
expect_exit 0 "predict --plugin" -- "$DMBP" predict "$PD/swish.onnx" "$PD/input.png" --plugin "$PLUGIN" --no-resize --top 1 &&
    grep -q "^ *$target " "$TMP/out" || fail "predict: $(cat "$TMP/out")"

for m in saliency gxi guided; do
    expect_exit 0 "explain --method $m" -- "$DMBP" explain --plugin "$PLUGIN" "$PD/swish.onnx" "$PD/input.png" --no-resize --method $m --target "$target" -o "$TMP/$m" --quiet || continue
    "$CLOSE" "$TMP/$m.npy" "$PD/$m.npy" 1e-4 || fail "$m differs from PyTorch"
done
for m in ig smoothgrad gradcam dmbp; do
    extra=
    [ $m = dmbp ] && extra="--iters 20"
    expect_exit 0 "explain --method $m" -- "$DMBP" explain --plugin "$PLUGIN" "$PD/swish.onnx" "$PD/input.png" --no-resize --method $m $extra -o "$TMP/$m" --quiet || continue
    [ -s "$TMP/$m.npy" ] || fail "$m wrote no array"
done

# Loading errors: a missing file (3), not a shared object (4), no
# registration function (5), a missing value (2).
expect_exit 3 "missing plugin" -- "$DMBP" --plugin "$TMP/nosuch.so" info "$PD/swish.onnx" &&
    grep -q "nosuch.so" "$TMP/err" || fail "missing plugin message"
expect_exit 4 "not a shared object" -- "$DMBP" info "$PD/swish.onnx" --plugin "$PD/target.txt" &&
    grep -q "target.txt" "$TMP/err" || fail "bad plugin message"
expect_exit 5 "no registration function" -- "$DMBP" --plugin "$top_builddir/src/.libs/libdmbp.so" info "$PD/swish.onnx" &&
    grep -q "dmbp_plugin_register" "$TMP/err" || fail "no-symbol message"
expect_exit 2 "--plugin without a value" -- "$DMBP" info "$PD/swish.onnx" --plugin || true
finish
