#!/usr/bin/python3
"""Fixtures for tests/test_render.c: attribution maps and the pixels that
dmbp_render_signed, dmbp_render_sequential and dmbp_render_mappings must
write for them, from an implementation of docs/dmbp-method.md section 5 in
numpy written independently of src/render.c.

Run with Debian's python (numpy):
    /usr/bin/python3 tests/ref/make_render_fixtures.py
It rewrites tests/ref/data/render/ and is deterministic (fixed seeds), so a
re-run leaves git clean.

Files written, per case <name> (all float32 .npy, which is what the C
tests' reader takes):
  <name>_meta.npy      [min_side, alpha * 1000, percentile * 100,
                        output height, output width, same]; alpha and the
                        percentile as integers so that the C test rebuilds
                        the very float and double (700 / 1000.0f is 0.7f,
                        9999 / 100.0 is 99.99); same = 1 when the test must
                        pass one array as both a_pos and a_neg
  <name>_a_pos.npy, <name>_a_neg.npy   signed cases (C x H x W)
  <name>_map.npy       sequential cases (H x W)
  <name>_w_pos.npy, <name>_w_neg.npy   mappings cases (C x H x W)
  <name>_bg.npy        background (C x H x W, values in [0, 1])
  <name>_expected.npy  the 8-bit pixels (0..255 stored as float) at the
                       map's own resolution, H x W x 3; for mappings
                       2 x H x W x 3 (W+ panel, then -W-). The output is
                       these pixels upscaled by nearest neighbour to the
                       output size in _meta (and, for mappings, the
                       panels separated by GAP white columns): storing
                       them upscaled would take megabytes. Over the
                       background in its colours (keep_colour, what
                       libdmbp 0.2 drew; tests/test_render).
  <name>_grey.npy      the same over the background in grey, the default
                       since 0.3 (tests/test_render_view)
  <name>_pos.npy, <name>_neg.npy   signed cases: part POSITIVE and
                       NEGATIVE alone, on the scale of both, grey
  npy_<shape>.npy      np.save of arange(n) * 0.5 - 3 (float32) for a
                       few shapes: dmbp_write_npy must write the same
                       bytes, header included
"""

import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                   "render")

# The library's constants (src/render.h).
MIN_SIDE = 224          # DMBP_RENDER_MIN_SIDE
MAX_SIDE = 4096         # DMBP_RENDER_MAX_SIDE
GAP = 8                 # DMBP_RENDER_GAP
DEFAULT_ALPHA_MILLI = 700
DEFAULT_PCT_CENTI = 9999

# Section 5's "seismic": value -> RGB at the stops, linear between.
SEISMIC_AT = [-1.0, -0.5, 0.0, 0.5, 1.0]
SEISMIC_RGB = [(0.0, 0.0, 0.3), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0),
               (1.0, 0.0, 0.0), (0.5, 0.0, 0.0)]
# The sequential map dmbp_render_sequential documents: seismic's positive
# half on [0, 1].
SEQ_AT = [0.0, 0.5, 1.0]
SEQ_RGB = SEISMIC_RGB[2:]


def colormap(v, at, rgb):
    rgb = np.asarray(rgb)
    return np.stack([np.interp(v, at, rgb[:, c]) for c in range(3)], -1)


def to_8bit(x):
    return np.clip(np.floor(x * 255.0 + 0.5), 0, 255)


def factor(min_side, h, w):
    if min_side <= 0:
        return 1
    f = math.ceil(min_side / min(h, w))
    f = min(f, MAX_SIDE // max(h, w))
    return max(f, 1)


def blend(colour, bg, alpha_milli):
    """alpha * colour + (1 - alpha) * bg, H x W x 3; gray bg replicated,
    values outside [0, 1] clamped. alpha is the float32 the C API holds."""
    alpha = float(np.float32(alpha_milli / 1000.0))
    b = np.clip(bg.astype(np.float64), 0.0, 1.0)
    if b.shape[0] == 1:
        b = np.repeat(b, 3, axis=0)
    return to_8bit(alpha * colour + (1.0 - alpha) * b.transpose(1, 2, 0))


def grey(bg):
    """The default background (libdmbp 0.3): an RGB picture in grey,
    0.299 R + 0.587 G + 0.114 B (in float64, before the clamp)."""
    b = bg.astype(np.float64)
    if b.shape[0] == 1:
        return b
    return (0.299 * b[0] + 0.587 * b[1] + 0.114 * b[2])[None]


def expect_signed(a_pos, a_neg, bg, alpha_milli, pct_centi, part="both"):
    pct = pct_centi / 100.0
    pos = np.maximum(a_pos.astype(np.float64), 0.0).mean(axis=0)
    neg = np.maximum(-a_neg.astype(np.float64), 0.0).mean(axis=0)
    pos = np.minimum(pos, np.percentile(pos, pct))
    neg = np.minimum(neg, np.percentile(neg, pct))
    m = max(pos.max(), neg.max())
    # one part alone keeps the scale of both
    if part == "pos":
        neg = np.zeros_like(neg)
    elif part == "neg":
        pos = np.zeros_like(pos)
    v = pos / m - neg / m if m > 0 else np.zeros_like(pos)
    return blend(colormap(v, SEISMIC_AT, SEISMIC_RGB), bg, alpha_milli)


def expect_sequential(a, bg, alpha_milli, pct_centi):
    v = np.maximum(a.astype(np.float64), 0.0)
    v = np.minimum(v, np.percentile(v, pct_centi / 100.0))
    m = v.max()
    v = v / m if m > 0 else np.zeros_like(v)
    return blend(colormap(v, SEQ_AT, SEQ_RGB), bg, alpha_milli)


def expect_mappings(w_pos, w_neg, pct_centi):
    both = np.stack([w_pos.astype(np.float64), -w_neg.astype(np.float64)])
    p = np.percentile(np.abs(both), pct_centi / 100.0)
    both = np.clip(both, -p, p)
    lo, hi = both.min(), both.max()
    s = (both - lo) / (hi - lo) if hi > lo else np.zeros_like(both)
    if s.shape[1] == 1:
        s = np.repeat(s, 3, axis=1)
    return to_8bit(s.transpose(0, 2, 3, 1))   # 2 x H x W x 3


# ---------------------------------------------------------------- inputs

def blob(h, w, cy, cx, r):
    y, x = np.mgrid[0:h, 0:w]
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2.0 * r * r))


def image(rng, c, h, w):
    """A plausible image: smooth shading plus noise, quantised to 8 bits
    as a decoded PNG would be."""
    base = 0.3 + 0.5 * blob(h, w, h * 0.4, w * 0.6, max(h, w) / 3.0)
    img = base[None] + 0.15 * rng.standard_normal((c, h, w))
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def attribution(rng, c, h, w, sign):
    """Evidence concentrated in a blob, noise elsewhere, one outlier so
    that the percentile clip matters."""
    a = sign * 2.0 * blob(h, w, rng.uniform(0, h), rng.uniform(0, w),
                          min(h, w) / 5.0)[None]
    a = a + 0.3 * rng.standard_normal((c, h, w))
    a[:, h // 3, w // 4] = sign * 40.0
    return a.astype(np.float32)


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"),
            np.ascontiguousarray(arr, dtype=np.float32))


def save_meta(name, min_side, alpha_milli, pct_centi, out_h, out_w,
              same=0):
    save(name + "_meta", [min_side, alpha_milli, pct_centi, out_h, out_w,
                          same])


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rng = np.random.default_rng(20240531)

    # ---- signed: (name, C, H, W, bg channels, min_side, alpha, pct, kind)
    signed = [
        # the defaults; 28x28 upscaled x8 to 224x224
        ("signed_rgb_28", 3, 28, 28, 3, MIN_SIDE, DEFAULT_ALPHA_MILLI,
         DEFAULT_PCT_CENTI, "pair"),
        # one signed map given twice, no upscaling, gray background
        ("signed_gray_37x23", 1, 37, 23, 1, 0, DEFAULT_ALPHA_MILLI,
         DEFAULT_PCT_CENTI, "same"),
        # no negative evidence (a_neg >= 0 everywhere), a hard clip at the
        # 90th percentile, alpha 0.5, gray map over an RGB image,
        # 20x30 upscaled x5 to 100x150
        ("signed_noneg_20x30", 1, 20, 30, 3, 100, 500, 9000, "noneg"),
        # RGB map over a gray image, 37x23 upscaled x10 to 370x230
        ("signed_rgb_37x23", 3, 37, 23, 1, MIN_SIDE, 850, 9950, "pair"),
        # nothing at all: the map is 0 (white at alpha over the image)
        ("signed_zero_8x8", 3, 8, 8, 3, 0, DEFAULT_ALPHA_MILLI,
         DEFAULT_PCT_CENTI, "zero"),
    ]
    for name, c, h, w, bgc, min_side, am, pc, kind in signed:
        bg = image(rng, bgc, h, w)
        if kind == "zero":
            a_pos = np.zeros((c, h, w), np.float32)
            a_neg = a_pos
        else:
            a_pos = attribution(rng, c, h, w, 1.0)
            a_neg = a_pos if kind == "same" else attribution(rng, c, h, w,
                                                             -1.0)
            if kind == "noneg":
                a_neg = np.abs(a_neg)
        if name == "signed_rgb_28":
            # backgrounds a hair outside [0, 1] (rounding in a resize)
            bg[0, 0, 0] = np.float32(1.0000001)
            bg[1, 0, 1] = np.float32(-1e-7)
        f = factor(min_side, h, w)
        save(name + "_a_pos", a_pos)
        save(name + "_a_neg", a_neg)
        save(name + "_bg", bg)
        # _expected: the background in colour (keep_colour); _grey: the
        # default; _pos and _neg: one part each (grey background)
        save(name + "_expected", expect_signed(a_pos, a_neg, bg, am, pc))
        save(name + "_grey", expect_signed(a_pos, a_neg, grey(bg), am, pc))
        for part in ("pos", "neg"):
            save(name + "_" + part,
                 expect_signed(a_pos, a_neg, grey(bg), am, pc, part))
        save_meta(name, min_side, am, pc, h * f, w * f,
                  1 if kind == "same" else 0)

    # ---- sequential: (name, H, W, bg channels, min_side, alpha, pct)
    sequential = [
        ("seq_28", 28, 28, 1, MIN_SIDE, DEFAULT_ALPHA_MILLI,
         DEFAULT_PCT_CENTI),
        # a few negative values, clamped to 0 first
        ("seq_37x23", 37, 23, 3, 0, 600, 9900),
    ]
    for name, h, w, bgc, min_side, am, pc in sequential:
        bg = image(rng, bgc, h, w)
        m = np.abs(attribution(rng, 1, h, w, 1.0)[0])
        if name == "seq_37x23":
            m[0, :5] = -np.arange(1, 6, dtype=np.float32)
        f = factor(min_side, h, w)
        save(name + "_map", m)
        save(name + "_bg", bg)
        save(name + "_expected", expect_sequential(m, bg, am, pc))
        save(name + "_grey", expect_sequential(m, grey(bg), am, pc))
        save_meta(name, min_side, am, pc, h * f, w * f)

    # ---- mappings: (name, C, H, W, min_side, pct)
    mappings = [
        # 28x28 panels x8: 224 x (2 * 224 + GAP)
        ("map_rgb_28", 3, 28, 28, MIN_SIDE, DEFAULT_PCT_CENTI),
        # 37x23 panels x3 (ceil(50 / 23)): 111 x (2 * 69 + GAP)
        ("map_gray_37x23", 1, 37, 23, 50, 9800),
    ]
    for name, c, h, w, min_side, pc in mappings:
        w_pos = (image(rng, c, h, w) - 0.5) * 3.0
        w_neg = (image(rng, c, h, w) - 0.5) * 2.0
        w_pos[:, 2, 3] = 25.0   # outliers the clip must tame
        w_neg[:, 5, 1] = 30.0
        f = factor(min_side, h, w)
        save(name + "_w_pos", w_pos)
        save(name + "_w_neg", w_neg)
        save(name + "_expected", expect_mappings(w_pos, w_neg, pc))
        save_meta(name, min_side, DEFAULT_ALPHA_MILLI, pc, h * f,
                  2 * w * f + GAP)

    # ---- dmbp_write_npy: numpy's own bytes
    for name, shape in [("npy_2x3x4", (2, 3, 4)), ("npy_5", (5,)),
                        ("npy_scalar", ()), ("npy_3x0x2", (3, 0, 2))]:
        n = int(np.prod(shape))
        a = (np.arange(n, dtype=np.float32) * 0.5 - 3).reshape(shape)
        np.save(os.path.join(OUT, name + ".npy"), a)

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
