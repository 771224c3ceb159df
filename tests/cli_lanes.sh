#!/bin/sh
# Lanes on models that write the batch into their graph (issue #20), from
# tests/ref/make_lanes_fixtures.py: every multi-lane method (IG, SmoothGrad,
# DMBP; gxi with one lane) on ShuffleNet's channel shuffle exported with a
# static batch of 1 (Reshape targets [1, ...]: rewritten for the lanes) and
# with dynamic_axes, and on a model concatenating a learned batch-1 tensor
# (lanes run one at a time in a batch-1 plan). gxi, IG and SmoothGrad
# within 1e-4 of the largest value of PyTorch's (autograd); DMBP, which
# PyTorch does not compute here, equal on the static and dynamic exports
# (bitwise) and, within 1e-4, on the concatenating model and the same
# function written without the batch-1 constant.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"

LD="$top_srcdir/tests/ref/data/lanes"
CLOSE="$top_builddir/tests/npy_close"

for m in shuffle_static shuffle_dynamic tokencat_static tokencat_equiv; do
    t=$(cat "$LD/$m.target")
    for me in gxi ig smoothgrad dmbp; do
        case $me in
            ig) extra="--steps 8 --baseline zero --ig-rule midpoint" ;;
            smoothgrad) extra="--samples 4 --sigma 0.15 --seed 0" ;;
            dmbp) extra="--iters 20" ;;
            *) extra= ;;
        esac
        expect_exit 0 "$m explain --method $me" -- "$DMBP" explain "$LD/$m.onnx" "$LD/input.png" --no-resize --method $me $extra --target "$t" -o "$TMP/${m}_$me" --quiet || continue
        [ $me = dmbp ] && continue
        "$CLOSE" "$TMP/${m}_$me.npy" "$LD/$m.$me.npy" 1e-4 || fail "$m: $me differs from PyTorch"
    done
done
"$CLOSE" "$TMP/shuffle_static_dmbp.npy" "$TMP/shuffle_dynamic_dmbp.npy" 0 ||
    fail "dmbp: the static export differs from the dynamic one"
"$CLOSE" "$TMP/tokencat_static_dmbp.npy" "$TMP/tokencat_equiv_dmbp.npy" 1e-4 ||
    fail "dmbp: lanes one at a time differ from the equivalent lane-friendly model"
finish
