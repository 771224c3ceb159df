#!/bin/sh
# Issue #25 item 3: every option checked before any image is computed (one
# line in the program's words, exit 2, nothing written), --shared-scale
# refused with -O, each image's files written as soon as it is done
# (interrupted after the first image, the run keeps it), progress from
# every method on a terminal, and a warning on the line of a map that is
# essentially zero.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/cli_common.sh"

RESNET="$MODELS/fmnist_resnet.onnx"
SAMPLES="$MODELS/samples"
BAG="$SAMPLES/bag.png"

# A folder run refused before its first image: one line naming the
# option, no library function name, no picture or array in DIR.
before_work() {
    _needle=$1; _what=$2; shift 2
    rm -rf "$TMP/set"
    refused 2 "$_needle" "$_what" -- "$DMBP" explain "$RESNET" "$SAMPLES" \
        -O "$TMP/set" --quiet "$@"
    grep -q "dmbp_[a-z_]*:" "$TMP/err" &&
        fail "$_what: an internal function name: $(cat "$TMP/err")"
    ls "$TMP/set" 2>/dev/null | grep -q '\.\(png\|npy\)$' &&
        fail "$_what: files written: $(ls "$TMP/set")"
}
before_work "--colormap inferno" "inferno on a signed map" -m gxi --colormap inferno
before_work "--colormap inferno" "inferno on saliency" -m saliency --colormap inferno
before_work "--colormap seismic" "seismic on Grad-CAM" -m gradcam --colormap seismic
before_work "--colormap seismic" "seismic on saliency --abs" -m saliency --abs --colormap seismic
before_work "--colormap bwr" "bwr on RISE" -m rise --colormap bwr
before_work "--alpha" "alpha 1.5" -m gxi --alpha 1.5
before_work "--keep" "RISE's keep above 1" -m rise --keep 1.5
before_work "--steps 2" "trapezoid with 1 step" -m ig --ig-rule trapezoid --steps 1
before_work "--path-steps" "path and smoothed DMBP" --path-steps 2 --samples 2
before_work "--layer" "a layer the model lacks" -m gradcam --layer nosuch
before_work "--shared-scale" "--shared-scale with -O" -m gxi --shared-scale

# eval the same: a method option refused in the program's words before
# any image (before, at the first image, as "FILE#0: rise.p 1.5: ...").
for bad in "--keep|rise|--keep 1.5" "--layer|gradcam|--layer nosuch"; do
    _needle=${bad%%|*}; _rest=${bad#*|}; _m=${_rest%%|*}; _opts=${_rest#*|}
    rm -rf "$TMP/evset"
    # shellcheck disable=SC2086 # the options are words
    refused 2 "$_needle" "eval $_opts" -- "$DMBP" eval "$RESNET" \
        --images "$SAMPLES" --methods "gxi,$_m" $_opts --quiet -O "$TMP/evset"
    grep -q "#0\|dmbp_[a-z_]*:\|rise\.p" "$TMP/err" &&
        fail "eval $_opts: refused at an image or in the library's words: $(cat "$TMP/err")"
done
# masks too (before: in the library's words, "dmbp.path_steps 2", once
# the set's manifest was written).
rm -rf "$TMP/mkset"
refused 2 "--path-steps 2" "masks --path-steps 2 --samples 2" -- "$DMBP" masks \
    "$RESNET" --images "$SAMPLES" -O "$TMP/mkset" --path-steps 2 --samples 2 --quiet
[ -e "$TMP/mkset" ] && fail "masks refused after work began: $(ls "$TMP/mkset")"

# Without -O, image after image: interrupted once the first image's
# files are there (IG's steps make each image take seconds), the first
# is complete and the last was never started. Before, every image was
# computed before the first file was written.
STEPS=2000
"$DMBP" explain "$RESNET" "$BAG" "$SAMPLES/coat.png" "$SAMPLES/dress.png" \
    -m ig --steps "$STEPS" --max-lanes 8 --quiet -o "$TMP/inc/" \
    >"$TMP/inc.out" 2>"$TMP/inc.err" &
pid=$!
n=0
while [ ! -f "$TMP/inc/bag-ig.npy" ] && [ "$n" -lt 3000 ] &&
    kill -0 "$pid" 2>/dev/null; do
    sleep 0.1
    n=$((n + 1))
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" = 130 ] || fail "interrupted after the first image: exit $rc, want 130 ($(cat "$TMP/inc.err"))"
[ -f "$TMP/inc/bag-ig.png" ] && [ -f "$TMP/inc/bag-ig.npy" ] ||
    fail "interrupted after the first image: its files are gone: $(ls "$TMP/inc" 2>&1)"
[ -f "$TMP/inc/dress-ig.png" ] &&
    fail "interrupted after the first image: the last image was written too (all images computed before the first file)"
grep -q "bag.png: class 8" "$TMP/inc.out" ||
    fail "interrupted after the first image: its line is missing: $(cat "$TMP/inc.out")"

# Image after image, the noise stays where one call of all put it:
# SmoothGrad's image i draws from seed + i with -O, without -O, and as
# the library's one call (tests/python/test_parity.py).
"$DMBP" explain "$RESNET" "$BAG" "$SAMPLES/coat.png" -m smoothgrad --samples 4 \
    --quiet -o "$TMP/sg/" >/dev/null 2>&1 || fail "smoothgrad without -O"
"$DMBP" explain "$RESNET" "$BAG" "$SAMPLES/coat.png" -m smoothgrad --samples 4 \
    --quiet -O "$TMP/sgset" >/dev/null 2>&1 || fail "smoothgrad with -O"
for stem in bag coat; do
    cmp -s "$TMP/sg/$stem-smoothgrad.npy" "$TMP/sgset/$stem-smoothgrad.npy" ||
        fail "smoothgrad $stem: -O and no -O differ"
done

# Progress on a terminal (script(1) gives the run one), from every
# method: the final line of each call is always drawn.
if command -v script >/dev/null 2>&1; then
    for spec in "saliency:image 1 of 1" "gxi:image 1 of 1" \
        "guided:image 1 of 1" "ig --steps 64 --max-lanes 8:steps 64/64" \
        "smoothgrad --samples 8 --max-lanes 4:samples 8/8" \
        "gradcam:image 1 of 1" "gradcam++:image 1 of 1" \
        "scorecam:channels 65/65" "occlusion:patches 729/729" \
        "rise --samples 64:masks 64/64" "dmbp --iters 3:iteration 3/3"; do
        method=${spec%%:*}
        want=${spec#*:}
        # shellcheck disable=SC2086 # method holds the method and its options
        script -qec "\"$DMBP\" explain \"$RESNET\" \"$BAG\" -m $method -f -o \"$TMP/prog\" >/dev/null" \
            /dev/null >"$TMP/tty" 2>&1 </dev/null
        tr '\r' '\n' <"$TMP/tty" | grep "^dmbp: image 1 of 1" | grep -qF "$want" ||
            fail "progress of -m $method: no '$want': $(tr '\r' '\n' <"$TMP/tty" | head -5)"
    done
else
    echo "cli_checks.sh: no script(1): progress on a terminal not checked"
fi

# A map that is essentially zero: the model with its last layer scaled by
# 1e-10 (logits ~1e-9) draws noise at full strength; its line says so,
# and the shipped model's does not.
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    /usr/bin/python3 - "$RESNET" "$TMP/tiny.onnx" <<'EOF' || fail "tiny model: python"
import sys, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
for t in m.graph.initializer:
    if t.name in ("fc.weight", "fc.bias"):
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 1e-10, t.name))
onnx.save(m, sys.argv[2])
EOF
    for method in gxi ig dmbp; do
        expect_exit 0 "tiny logits, $method" -- "$DMBP" explain "$TMP/tiny.onnx" \
            "$BAG" -m "$method" --quiet -f -o "$TMP/tiny-$method" &&
            { grep -q "warning: the map is near zero" "$TMP/out" ||
                fail "tiny logits, $method: no warning: $(cat "$TMP/out")"; }
        expect_exit 0 "tiny logits, $method, --json" -- "$DMBP" explain "$TMP/tiny.onnx" \
            "$BAG" -m "$method" --quiet --json -f -o "$TMP/tiny-$method" &&
            { grep -q '"near_zero": true' "$TMP/out" ||
                fail "tiny logits, $method, --json: $(cat "$TMP/out")"; }
        expect_exit 0 "shipped model, $method" -- "$DMBP" explain "$RESNET" \
            "$BAG" -m "$method" --quiet -f -o "$TMP/big-$method" &&
            { grep -q "near zero" "$TMP/out" &&
                fail "shipped model, $method: a warning: $(cat "$TMP/out")"; }
    done
else
    echo "cli_checks.sh: no onnx for /usr/bin/python3: the near-zero warning not checked"
fi

# dmbp render knows which maps are non-negative (RISE, Score-CAM,
# Grad-CAM++ as well as Grad-CAM): their pictures again byte for byte.
for method in rise scorecam gradcam++; do
    extra=
    [ "$method" = rise ] && extra="--samples 64"
    # shellcheck disable=SC2086
    "$DMBP" explain "$RESNET" "$BAG" -m "$method" $extra --caption --quiet -f \
        -o "$TMP/r-$method" >/dev/null 2>"$TMP/err" ||
        fail "render $method: explain: $(cat "$TMP/err")"
    "$DMBP" render "$TMP/r-$method.npy" --image "$BAG" --model "$RESNET" \
        --method "$method" --caption --quiet -f -o "$TMP/rr-$method" \
        >/dev/null 2>"$TMP/err" ||
        fail "render $method: $(cat "$TMP/err")"
    cmp -s "$TMP/r-$method.png" "$TMP/rr-$method.png" ||
        fail "render $method: not explain's picture"
done
finish
