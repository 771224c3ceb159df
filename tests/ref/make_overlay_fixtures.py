#!/usr/bin/python3
"""Overlay geometry fixtures: does dmbp_map_to_original undo torchvision's
resize and centre crop?

Run from the repository root:  /usr/bin/python3 tests/ref/make_overlay_fixtures.py

For each case an original one-channel image is a linear ramp
f(x, y) = A + BX * (x + 0.5) + BY * (y + 0.5) over pixel centres. torchvision
(resize(antialias=True) on a tensor, then center_crop) makes the model-input
map from it. A symmetric resampling filter keeps a linear function linear
away from the image edges, and bilinear interpolation reproduces a linear
function exactly, so mapping the map back must give f again, wherever the
interpolation stays between map pixel centres. Not exactly: the antialiased
(widened triangle) filter sampled on the pixel grid is not quite symmetric
about each output centre, which shifts a ramp by up to ~0.07 pixel; the
script asserts |back - f| <= 0.1 pixel of slope on the checked pixels,
while a geometry error of half a pixel or more would give 5 times that. Written to
tests/ref/data/overlay/<case>_*.npy (float32):

  meta      [orig_h, orig_w, resize, crop]
  map       crop x crop (or the resized size when crop is 0): torchvision's
  ramp      orig_h x orig_w: f at every original pixel
  inside    orig_h x orig_w: 1 where the pixel centre falls in the crop box
            (computed here from torchvision's crop offsets)
  back      orig_h x orig_w: the map mapped back by the documented rule
            (dmbp.h, dmbp_map_to_original), vectorised here with numpy
  check     orig_h x orig_w: 1 where the value must equal f: inside, at
            least one map pixel away from the crop's edges (where the
            bilinear sampling clamps) and, along an axis the crop spans
            whole, away from the image edge (where the resize window is
            clipped)
"""
import os

import numpy as np
import torch
from torchvision.transforms import functional as TF

OUT = "tests/ref/data/overlay"
A, BX, BY = 0.1, 0.013, -0.007
RAMP_TOL = 0.1 * max(abs(BX), abs(BY))   # 0.1 pixel of the steeper slope

CASES = [  # name, orig_h, orig_w, resize, crop
    ("landscape", 43, 61, 32, 24),
    ("portrait", 70, 50, 40, 28),
    ("upscale", 15, 20, 40, 32),
    ("crop_only", 30, 36, 0, 20),
    ("resize_only", 33, 27, 18, 0),
]


def resized_size(h, w, size):
    if size == 0:
        return h, w
    if w <= h:
        return int(size * h / w), size
    return size, int(size * w / h)


def axis(n_orig, n_res, off, n_map, margin_edge):
    c = (np.arange(n_orig) + 0.5) * n_res / n_orig - off   # in crop coords
    inside = (c >= 0) & (c < n_map)
    u = c - 0.5
    check = inside & (u >= 1) & (u <= n_map - 2)
    if margin_edge:
        # The crop reaches the resized image's edge: the resize window is
        # clipped within its support (2 * scale) of it.
        scale = max(n_orig / n_res, 1.0)
        r = c + off
        check &= (r >= 2 * scale + 1) & (r <= n_res - 2 * scale - 1)
    return inside, check


def back_axis(n_orig, n_res, off, n_map):
    r = (np.arange(n_orig) + 0.5) * (n_res / n_orig) - off
    u = np.clip(r - 0.5, 0, n_map - 1)
    lo = np.minimum(np.floor(u).astype(int), max(n_map - 2, 0))
    hi = np.minimum(lo + 1, n_map - 1)
    return lo, hi, u - lo, (r >= 0) & (r < n_map)


def map_back(m, h, w, rh, rw, top, left):
    ly, hy, ty, iy = back_axis(h, rh, top, m.shape[0])
    lx, hx, tx, ix = back_axis(w, rw, left, m.shape[1])
    m = m.astype(np.float64)
    top_v = m[ly][:, lx] * (1 - tx) + m[ly][:, hx] * tx
    bot_v = m[hy][:, lx] * (1 - tx) + m[hy][:, hx] * tx
    out = top_v * (1 - ty[:, None]) + bot_v * ty[:, None]
    return np.where(iy[:, None] & ix[None, :], out, 0.0)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, h, w, resize, crop in CASES:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        ramp = A + BX * (x + 0.5) + BY * (y + 0.5)
        t = torch.from_numpy(ramp.astype(np.float32))[None]
        if resize:
            t = TF.resize(t, resize, antialias=True)
        rh, rw = t.shape[-2:]
        assert (rh, rw) == resized_size(h, w, resize)
        if crop:
            t = TF.center_crop(t, crop)
            top = int(round((rh - crop) / 2.0))
            left = int(round((rw - crop) / 2.0))
            ch = cw = crop
        else:
            top = left = 0
            ch, cw = rh, rw
        ix, cx = axis(w, rw, left, cw, cw == rw)
        iy, cy = axis(h, rh, top, ch, ch == rh)
        inside = iy[:, None] & ix[None, :]
        check = cy[:, None] & cx[None, :]
        assert check.sum() > 0.2 * inside.sum(), name
        back = map_back(t[0].numpy(), h, w, rh, rw, top, left)
        err = np.abs(back - ramp)[check].max()
        assert err <= RAMP_TOL, (name, err)
        save = lambda k, a: np.save(os.path.join(OUT, "%s_%s.npy" % (name, k)),
                                    np.ascontiguousarray(a, dtype=np.float32))
        save("meta", [h, w, resize, crop])
        save("map", t[0].numpy())
        save("ramp", ramp)
        save("back", back)
        save("inside", inside)
        save("check", check)
        print("%-12s %dx%d -> resized %dx%d -> map %dx%d, %d of %d inside, "
              "%d checked, max |back - ramp| %.2g (%.3f px)"
              % (name, w, h, rw, rh, cw, ch, inside.sum(), h * w, check.sum(),
                 err, err / max(abs(BX), abs(BY))))


if __name__ == "__main__":
    main()
