#!/usr/bin/python3
"""Synthetic images with planted evidence for and against a class.

Each 64x64 RGB image shows up to 12 coloured shapes of 4 kinds (circle,
square, triangle, plus) on a textured, cluttered background.  A shape is
either FILLED or HOLLOW (a 2-pixel outline, background inside).  The score
of class k is

    score_k = #filled k-shapes - #hollow k-shapes

and the label is the class with the highest score (ties are never
generated).  So a filled shape of the labelled class is evidence FOR it, a
hollow one is evidence AGAINST it, and every other shape is a distractor.
Nothing else (colour, size, position, background) carries information.

Half of the images are built so that hollow shapes decide: the labelled
class and a rival have the same number of filled shapes, and the rival has
one more hollow shape.  A model that ignored hollow shapes would be at
chance on those, so training must learn to count them as negative.

Every image is a pure function of (seed, split, index): its random
parameters are drawn first, then rendered, so `render(params, skip=j)`
gives exactly the same image without object j -- the object deleted and
in-painted with the true background.  The training script's intervention
test uses that.

Ground truth: NAME.truth.png, 8-bit grey, 0 = neither, 1 = evidence for the
labelled class (the footprint of its filled shapes), 2 = evidence against
it (the footprint of its hollow shapes: outline and the interior, since
"hollow" is a property of the interior as much as of the outline).

Usage (from the repository root):

    /usr/bin/python3 models/make_evidence.py --split test --n 500 --out DIR

writes DIR/test_00000.png, DIR/test_00000.truth.png, ... and DIR/labels.csv
(name, label, the four scores).

    /usr/bin/python3 models/make_evidence.py --show NAME.png OUT.png

draws the truth of NAME.png (NAME.truth.png) over it, for people: the
image faded, evidence for the class red, evidence against it blue, at
SHOW_SIZE x SHOW_SIZE like dmbp's pictures of a 64x64 image.
"""

import argparse
import os

import numpy as np

SIZE = 64
GRID = 4                       # objects sit in a GRID x GRID grid of cells
CELL = SIZE // GRID            # 16 px: cells keep objects apart
CLASSES = ["circle", "square", "triangle", "plus"]
K = len(CLASSES)
STROKE = 2.0                   # outline width of a hollow shape, px
MIN_DIAM, MAX_DIAM = 10.0, 13.0
# Half the width of a plus's bars, as a share of its radius.  Wide enough
# that a hollow plus has an inside: with bars 0.32 r wide (the first
# version) the 2-pixel outline filled them, and a hollow plus was often
# pixel for pixel a filled one (in 18 % of the test images), evidence
# against that no model could see.  At 0.5 r every hollow plus has at
# least 11 pixels more than half background inside.
PLUS_HALF_WIDTH = 0.5
MAX_FILLED, MAX_HOLLOW = 3, 3
MAX_OBJECTS = 12
SEED = 20261130
# Bumped whenever the same (seed, split, index) renders differently, so
# that caches of rendered images (train_evidence.py's) are not reused.
VERSION = 2
SPLITS = {"train": 0, "val": 1, "test": 2}
# Share of images in which hollow shapes decide the label (see above).
P_HOLLOW_DECIDES = 0.5

TRUTH_NEITHER, TRUTH_FOR, TRUTH_AGAINST = 0, 1, 2
SHOW_SIZE = 256
SHOW_FADE = 0.35               # weight of the image under the truth picture
SHOW_FOR, SHOW_AGAINST = (200, 0, 0), (0, 0, 220)


def _bilinear_matrix(n_out, n_in):
    """Row i interpolates n_in control points at output pixel i."""
    pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = pos - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


_UP = {n: _bilinear_matrix(SIZE, n) for n in (4, 6, 8)}
_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def _counts(rng):
    """(filled[K], hollow[K], label): scores with a unique maximum."""
    while True:
        label = int(rng.integers(K))
        filled = rng.integers(0, MAX_FILLED + 1, K)
        hollow = rng.integers(0, MAX_HOLLOW, K)
        if rng.random() < P_HOLLOW_DECIDES:
            # Equal filled counts; the rival loses by exactly one hollow.
            rival = int((label + 1 + rng.integers(K - 1)) % K)
            a = int(rng.integers(1, MAX_FILLED + 1))
            h = int(rng.integers(0, MAX_HOLLOW))
            filled[label], filled[rival] = a, a
            hollow[label], hollow[rival] = h, h + 1
        score = filled - hollow
        others = np.delete(score, label)
        if score[label] <= others.max():
            continue
        if filled.sum() + hollow.sum() > MAX_OBJECTS or filled.sum() + hollow.sum() < 2:
            continue
        return filled, hollow, label


def _colour(rng, sat_lo, sat_hi, val_lo, val_hi):
    h = rng.random()
    s = rng.uniform(sat_lo, sat_hi)
    v = rng.uniform(val_lo, val_hi)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def draw_params(seed, split, index):
    """All random choices of one image, drawn before anything is rendered."""
    rng = np.random.default_rng([seed, SPLITS[split], index])
    filled, hollow, label = _counts(rng)
    objs = []
    for k in range(K):
        objs += [(k, False)] * int(filled[k]) + [(k, True)] * int(hollow[k])
    cells = rng.permutation(GRID * GRID)[:len(objs)]
    objects = []
    for (k, is_hollow), cell in zip(objs, cells):
        d = rng.uniform(MIN_DIAM, MAX_DIAM)
        slack = (CELL - d) / 2 - 0.5
        cy = (cell // GRID + 0.5) * CELL + rng.uniform(-slack, slack)
        cx = (cell % GRID + 0.5) * CELL + rng.uniform(-slack, slack)
        objects.append(dict(kind=k, hollow=bool(is_hollow), cy=cy, cx=cx, d=d,
                            colour=_colour(rng, 0.6, 1.0, 0.55, 1.0)))
    g = rng.choice([4, 6, 8])
    bg = dict(
        base=rng.uniform(0.3, 0.7, 3),
        grid=g, ctrl=rng.normal(0, 0.12, (g, g, 3)),
        stripe=(rng.uniform(0, np.pi), rng.uniform(0.3, 1.2), rng.uniform(0, 2 * np.pi),
                rng.uniform(0.02, 0.08)),
        noise_seed=int(rng.integers(2 ** 31)),
        noise_amp=rng.uniform(0.02, 0.06),
        lines=[(rng.uniform(0, SIZE, 2), rng.uniform(0, SIZE, 2),
                _colour(rng, 0.2, 1.0, 0.2, 1.0), rng.uniform(0.6, 1.0))
               for _ in range(int(rng.integers(4, 11)))],
        dots=[(rng.uniform(0, SIZE, 2), rng.uniform(0.8, 1.8),
               _colour(rng, 0.2, 1.0, 0.2, 1.0)) for _ in range(int(rng.integers(3, 9)))],
    )
    return dict(label=label, filled=filled, hollow=hollow, objects=objects, bg=bg)


def _sdf(kind, cy, cx, d):
    """Signed distance (px, negative inside) of a shape, on the whole grid."""
    y, x = _YY - cy, _XX - cx
    r = d / 2
    if kind == 0:                                   # circle
        return np.hypot(y, x) - r
    if kind == 1:                                   # square (slightly smaller:
        return np.maximum(np.abs(y), np.abs(x)) - r * 0.85   # similar area)
    if kind == 2:                                   # triangle, apex up
        # Equilateral triangle inscribed in the circle of radius r*1.1,
        # centroid at the centre: max of the 3 edge half-plane distances.
        rr = r * 1.1
        inr = rr / 2                                  # inradius
        ds = []
        for ang in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
            ny, nx = np.sin(ang), np.cos(ang)         # outward normal (y down)
            ds.append(y * ny + x * nx - inr)
        return np.maximum.reduce(ds)
    # plus: union of two bars (min of their box distances)
    arm, half = r, r * PLUS_HALF_WIDTH
    b1 = np.maximum(np.abs(y) - half, np.abs(x) - arm)
    b2 = np.maximum(np.abs(y) - arm, np.abs(x) - half)
    return np.minimum(b1, b2)


def _background(bg):
    up = _UP[bg["grid"]]
    img = bg["base"][None, None, :] + np.einsum("ia,abc,jb->ijc", up, bg["ctrl"], up)
    th, freq, ph, amp = bg["stripe"]
    img = img + amp * np.sin(freq * (_XX * np.cos(th) + _YY * np.sin(th)) + ph)[..., None]
    nrng = np.random.default_rng(bg["noise_seed"])
    img = img + bg["noise_amp"] * nrng.normal(0, 1, (SIZE, SIZE, 3))
    for p0, p1, col, alpha in bg["lines"]:
        v = p1 - p0
        t = np.clip(((_YY - p0[0]) * v[0] + (_XX - p0[1]) * v[1]) / max(v @ v, 1e-9), 0, 1)
        dist = np.hypot(_YY - p0[0] - t * v[0], _XX - p0[1] - t * v[1])
        a = alpha * np.clip(1.0 - dist, 0, 1)[..., None]      # ~1 px wide
        img = img * (1 - a) + col * a
    for c, rad, col in bg["dots"]:
        a = np.clip(rad + 0.5 - np.hypot(_YY - c[0], _XX - c[1]), 0, 1)[..., None]
        img = img * (1 - a) + col * a
    return img


def render(params, skip=None):
    """(uint8 HxWx3 image, uint8 HxW truth).  skip: index of an object to
    leave out (the background shows through, exactly as if never drawn)."""
    img = _background(params["bg"])
    truth = np.zeros((SIZE, SIZE), np.uint8)
    label = params["label"]
    for j, o in enumerate(params["objects"]):
        if j == skip:
            continue
        sdf = _sdf(o["kind"], o["cy"], o["cx"], o["d"])
        a = np.clip(0.5 - sdf, 0, 1)                  # anti-aliased coverage
        if o["hollow"]:
            a = a * np.clip(0.5 + sdf + STROKE, 0, 1)
        img = img * (1 - a[..., None]) + o["colour"] * a[..., None]
        if o["kind"] == label:
            truth[sdf <= 0] = TRUTH_AGAINST if o["hollow"] else TRUTH_FOR
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), truth


def scores(params):
    return params["filled"] - params["hollow"]


def make(split, index, seed=SEED, skip=None):
    p = draw_params(seed, split, index)
    img, truth = render(p, skip)
    return img, truth, p


def show(src, dst):
    """The truth of src drawn over it (see the module's docstring)."""
    from PIL import Image
    img = np.asarray(Image.open(src).convert("RGB")).astype(np.float64)
    truth = np.asarray(Image.open(src[:-len(".png")] + ".truth.png"))
    out = img * SHOW_FADE + 255 * (1 - SHOW_FADE)
    out[truth == TRUTH_FOR] = SHOW_FOR
    out[truth == TRUTH_AGAINST] = SHOW_AGAINST
    Image.fromarray((out + 0.5).astype(np.uint8)).resize(
        (SHOW_SIZE, SHOW_SIZE), Image.NEAREST).save(dst)


def main():
    from PIL import Image
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=sorted(SPLITS), default="test")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out")
    ap.add_argument("--show", nargs=2, metavar=("NAME.png", "OUT.png"),
                    help="draw the truth of NAME.png over it into OUT.png, and stop")
    args = ap.parse_args()
    if args.show:
        show(*args.show)
        return
    if not args.out:
        ap.error("--out is required")
    os.makedirs(args.out, exist_ok=True)
    rows = ["name,label,class," + ",".join("score_" + c for c in CLASSES)]
    for i in range(args.start, args.start + args.n):
        img, truth, p = make(args.split, i, args.seed)
        name = "%s_%05d" % (args.split, i)
        Image.fromarray(img, "RGB").save(os.path.join(args.out, name + ".png"))
        Image.fromarray(truth, "L").save(os.path.join(args.out, name + ".truth.png"))
        rows.append("%s,%d,%s,%s" % (name, p["label"], CLASSES[p["label"]],
                                     ",".join(str(int(s)) for s in scores(p))))
    with open(os.path.join(args.out, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
