#!/usr/bin/python3
"""Reference fixtures for libdmbp's faithfulness metrics (src/metrics.c).

Run with Debian's python3 (python3-torch, python3-onnx, numpy, PIL), from
anywhere, after models/train.py (models/fmnist_resnet.onnx and
models/samples/*.png):

    /usr/bin/python3 tests/ref/make_metrics_fixtures.py [--out DIR]

It writes tests/ref/data/metrics/ (about 60 KB, a few seconds).

Independence
------------
Nothing here depends on libdmbp. The ONNX graph is run by the OnnxNet torch
interpreter of tests/ref/make_grad_fixtures.py (imported; first checked
against tests/ref/data/fmnist_resnet_samples.logits.npy); the gradient for
the scores is torch autograd through it. The protocols below are those
documented at the top of src/metrics.c, re-implemented from that text.

Protocols
---------
x: 1x1x28x28 float32, png/255 then (v - 0.2860)/0.3530 (float32);
t = argmax f(x); map = gxi = df_t/dx * x (float32 product).
Pixel scores (h x w) of a c x h x w map: sign > 0 mean_c max(v, 0);
sign < 0 mean_c max(-v, 0); sign 0 mean_c v.
Ranking: score descending, ties by key perm[p] ascending, perm = identity,
then Fisher-Yates with splitmix64 (state = seed, state += golden first):
for i = n-1 .. 1: j = next() % (i+1), swap(perm[i], perm[j]).
Curve points: step_pixels s > 0: P = ceil(hw/s) + 1, n_i = min(i s, hw);
else P = steps + 1, n_i = floor(i hw / steps). Point i: first n_i ranked
pixels replaced (deletion: substrate; insertion: x into the start image).
y_i = softmax(f(point i))[t]; AUC = sum_i (y_i + y_{i+1})/2/(P-1).
Blur substrate: separable Gaussian, radius 5, sigma 5, weights normalised
(float64), edges clamped (replicate), rows first; each pass in float64,
rounded to float32 after each pass.
Negative evidence: deletion (zero substrate) ranked by the sign < 0 scores;
rise[k] = f_t(after floor(frac_k * hw + 0.5) pixels) - f_t(x).
AOPC: region_size r tiles from (0, 0), row-major tile index; tile score =
float64 sum (row-major) of its pixel scores (sign 0); ranked descending,
ties by the same permutation over tiles (seed); noise: splitmix64 with
state seed + 1, for tiles in ranking order, channel, row, column:
u = ((next() >> 11) + 0.5) 2^-53, v = float32(min + u (max - min)) (min/max
of x over the whole image, float64 arithmetic). x_k = x with the first k
ranked tiles replaced; curve[k] = f_t(x) - f_t(x_k), k = 0..R,
R = min(regions, tiles); aopc = mean(curve).

Cases (the scores for each metric):
  deletion (zero substrate) and insertion (blur start): sign > 0 scores
  (the positive part of gxi: many exact zeros, so the seeded tie-break
  decides much of the order); with steps 20 and with step_pixels 56.
  negative: sign < 0 scores, fractions 0.05 0.10 0.20.
  AOPC: sign 0 scores (gxi itself), region_size 9, regions 9.
  seed 0 everywhere.

Files, in tests/ref/data/metrics/ (all .npy float32, C order):
  cases.txt                  '#' comments, then one line per sample:
                             <slug> <png> <target>
  <slug>.input.npy           x, 1x1x28x28
  <slug>.logits.npy          f(x), 1x10
  <slug>.gxi.npy             the map, 1x28x28
  <slug>.scores_pos.npy      sign > 0 scores, 28x28 (also _neg, _all)
  <slug>.del_s20.npy         deletion curve, steps 20 (21 points)
  <slug>.ins_s20.npy         insertion curve, steps 20
  <slug>.del_p56.npy         deletion curve, step_pixels 56 (15 points)
  <slug>.ins_p56.npy         insertion curve, step_pixels 56
  <slug>.aucs.npy            [AUC del_s20, ins_s20, del_p56, ins_p56]
  <slug>.negative.npy        rises at 5, 10, 20 %
  <slug>.aopc_curve.npy      AOPC curve, R + 1 = 10 values
  <slug>.aopc.npy            [aopc]
  <slug>.json                the same numbers in float64, and parameters
  linear4x4.onnx             the hand-checked model of tests/test_metrics.c:
                             input [N, 1, 4, 4] -> Flatten -> Gemm
                             (transB = 1) to 2 classes; class 0's weights
                             LINEAR_W below, class 1's 0, bias 0, so that
                             p_0 = sigmoid(w . x). The C test holds the same
                             16 weights.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import make_grad_fixtures as G  # noqa: E402

OUT = os.path.join(HERE, "data", "metrics")
MODEL = "models/fmnist_resnet.onnx"
SAMPLES = [("tshirt", 0), ("pullover", 2), ("bag", 8)]   # (slug, row)
MEAN, STD = 0.2860, 0.3530
SEED = 0
STEPS, STEP_PIXELS = 20, 56
FRACTIONS = [0.05, 0.10, 0.20]
REGION_SIZE, REGIONS = 9, 9
BLUR_RADIUS, BLUR_SIGMA = 5, 5.0

# Multiples of 1/16: exact in float32, distinct contributions.
LINEAR_W = [0.5, -0.25, 1.0, 0.75, -1.0, 0.125, 0.3125, -0.5,
            0.875, -0.375, 0.625, 0.0625, -0.75, 0.4375, -0.125, 1.25]

M64 = (1 << 64) - 1


class SplitMix:
    def __init__(self, state):
        self.state = state & M64

    def next(self):
        vals, self.state = G.splitmix64_ref(self.state, 1)
        return vals[0]


def tie_keys(n, seed):
    perm = list(range(n))
    rng = SplitMix(seed)
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def rank(scores, seed):
    """Indices by score descending (Python float compare: -0.0 == 0.0),
    ties by the seeded key."""
    perm = tie_keys(len(scores), seed)
    return sorted(range(len(scores)), key=lambda p: (-float(scores[p]), perm[p]))


def pixel_scores(m, sign):
    m = torch.from_numpy(m).double()           # c x h x w
    if sign > 0:
        v = m.clamp(min=0)
    elif sign < 0:
        v = (-m).clamp(min=0)
    else:
        v = m
    return v.mean(dim=0).float().numpy()


def blur(x):
    """x: c x h x w float32 -> float32."""
    k = torch.tensor([math.exp(-i * i / (2 * BLUR_SIGMA ** 2))
                      for i in range(-BLUR_RADIUS, BLUR_RADIUS + 1)],
                     dtype=torch.float64)
    k = k / k.sum()
    t = torch.from_numpy(x).double()[:, None]                   # c 1 h w
    r = F.conv2d(F.pad(t, (BLUR_RADIUS, BLUR_RADIUS, 0, 0), mode="replicate"),
                 k.view(1, 1, 1, -1)).float().double()
    out = F.conv2d(F.pad(r, (0, 0, BLUR_RADIUS, BLUR_RADIUS), mode="replicate"),
                   k.view(1, 1, -1, 1)).float()
    return out[:, 0].numpy()


def counts_of(hw, steps=0, step_pixels=0):
    if step_pixels > 0:
        P = -(-hw // step_pixels) + 1
        return [min(i * step_pixels, hw) for i in range(P)]
    return [i * hw // steps for i in range(steps + 1)]


def forward(net, imgs):
    """imgs: list of c x h x w float32 arrays -> logits (n x classes)."""
    with torch.no_grad():
        return net.run(torch.from_numpy(np.stack(imgs)))[0]


def prefix_images(base, src, order, counts):
    c, h, w = base.shape
    imgs = []
    for n in counts:
        img = base.reshape(c, h * w).copy()
        idx = np.array(order[:n], dtype=np.int64)
        img[:, idx] = src.reshape(c, h * w)[:, idx]
        imgs.append(img.reshape(c, h, w))
    return imgs


def curve(net, x, t, scores, insertion, **kw):
    c, h, w = x.shape
    order = rank(scores.reshape(-1), SEED)
    counts = counts_of(h * w, **kw)
    if insertion:
        imgs = prefix_images(blur(x), x, order, counts)
    else:
        imgs = prefix_images(x, np.zeros_like(x), order, counts)
    y = torch.softmax(forward(net, imgs), dim=1)[:, t].numpy()
    yd = y.astype(np.float64)
    auc = float(((yd[:-1] + yd[1:]) / 2).sum() / (len(y) - 1))
    return y, auc


def negative(net, x, t, scores):
    c, h, w = x.shape
    order = rank(scores.reshape(-1), SEED)
    counts = [0] + [int(math.floor(f * h * w + 0.5)) for f in FRACTIONS]
    lg = forward(net, prefix_images(x, np.zeros_like(x), order, counts))[:, t]
    lg = lg.double().numpy()
    return lg[1:] - lg[0]


def aopc(net, x, t, scores):
    c, h, w = x.shape
    r = REGION_SIZE
    ty, tx = -(-h // r), -(-w // r)
    tiles = []
    for t_ in range(ty * tx):
        y0, x0 = t_ // tx * r, t_ % tx * r
        tiles.append((y0, min(y0 + r, h), x0, min(x0 + r, w)))
    tscore = []
    for (y0, y1, x0, x1) in tiles:
        s = 0.0
        for yy in range(y0, y1):
            for xx in range(x0, x1):
                s += float(scores[yy, xx])
        tscore.append(s)
    torder = rank(tscore, SEED)
    R = min(REGIONS, len(tiles))
    lo, hi = float(x.min()), float(x.max())
    rng = SplitMix(SEED + 1)
    noisy = x.copy()
    order, counts = [], [0]
    for k in range(R):
        y0, y1, x0, x1 = tiles[torder[k]]
        order += [yy * w + xx for yy in range(y0, y1) for xx in range(x0, x1)]
        for ch in range(c):
            for yy in range(y0, y1):
                for xx in range(x0, x1):
                    u = ((rng.next() >> 11) + 0.5) * 2.0 ** -53
                    noisy[ch, yy, xx] = np.float32(lo + u * (hi - lo))
        counts.append(len(order))
    lg = forward(net, prefix_images(x, noisy, order, counts))[:, t].double().numpy()
    cv = lg[0] - lg
    return cv, float(cv.mean()), [int(v) for v in torder]


def linear_model(path):
    W = np.zeros((2, 16), dtype=np.float32)
    W[0] = LINEAR_W
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"], name="flatten", axis=1),
         helper.make_node("Gemm", ["flat", "W", "B"], ["logits"], name="fc",
                          transB=1)],
        "linear4x4",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, [2, 16], W.reshape(-1).tolist()),
         helper.make_tensor("B", TensorProto.FLOAT, [2], [0.0, 0.0])])
    model = helper.make_model(graph, producer_name="make_metrics_fixtures",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)
    # The interpreter agrees with w . x.
    net = G.OnnxNet(path)
    xs = np.random.default_rng(5).standard_normal((3, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        got = net.run(torch.from_numpy(xs))[0].double().numpy()
    want = xs.reshape(3, 16).astype(np.float64) @ np.array(LINEAR_W)
    assert np.abs(got[:, 0] - want).max() < 1e-5 and np.all(got[:, 1] == 0)


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    OUT = a.out
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    linear_model(os.path.join(OUT, "linear4x4.onnx"))

    net = G.OnnxNet(os.path.join(REPO, MODEL))
    ref_in = np.load(os.path.join(HERE, "data", "fmnist_resnet_samples.input.npy"))
    ref_lg = np.load(os.path.join(HERE, "data", "fmnist_resnet_samples.logits.npy"))
    lines = ["# <slug> <png> <target>: see make_metrics_fixtures.py"]
    for slug, row in SAMPLES:
        png = "models/samples/%s.png" % slug
        im = np.asarray(Image.open(os.path.join(REPO, png)))
        assert im.shape == (28, 28) and im.dtype == np.uint8
        x4 = im.astype(np.float32)[None, None] / np.float32(255.0)
        x4 = ((x4 - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)
        assert np.array_equal(x4[0], ref_in[row]), slug
        xt = torch.from_numpy(x4).requires_grad_(True)
        y, _, _ = net.run(xt)
        err = float((y.detach()[0] - torch.from_numpy(ref_lg[row])).abs().max()
                    / np.abs(ref_lg[row]).max())
        assert err < 1e-5, (slug, err)
        t = int(y[0].argmax())
        (g,) = torch.autograd.grad(y[0, t], xt)
        gxi = (g * xt.detach())[0].numpy()             # 1 x 28 x 28 float32
        x = x4[0]
        s_pos, s_neg, s_all = (pixel_scores(gxi, s) for s in (1, -1, 0))
        res = {}
        res["del_s20"] = curve(net, x, t, s_pos, False, steps=STEPS)
        res["ins_s20"] = curve(net, x, t, s_pos, True, steps=STEPS)
        res["del_p56"] = curve(net, x, t, s_pos, False, step_pixels=STEP_PIXELS)
        res["ins_p56"] = curve(net, x, t, s_pos, True, step_pixels=STEP_PIXELS)
        rises = negative(net, x, t, s_neg)
        acurve, aval, torder = aopc(net, x, t, s_all)
        arrays = dict(input=x4, logits=y.detach().numpy(), gxi=gxi,
                      scores_pos=s_pos, scores_neg=s_neg, scores_all=s_all,
                      aucs=np.array([res[k][1] for k in
                                     ("del_s20", "ins_s20", "del_p56", "ins_p56")],
                                    dtype=np.float32),
                      negative=rises.astype(np.float32),
                      aopc_curve=acurve.astype(np.float32),
                      aopc=np.array([aval], dtype=np.float32))
        for k, (cv, _) in res.items():
            arrays[k] = cv.astype(np.float32)
        for k, v in arrays.items():
            np.save(os.path.join(OUT, "%s.%s.npy" % (slug, k)),
                    np.ascontiguousarray(v, dtype=np.float32))
        info = dict(slug=slug, png=png, model=MODEL, target=t,
                    logits=[float(v) for v in y.detach()[0]], seed=SEED,
                    steps=STEPS, step_pixels=STEP_PIXELS, fractions=FRACTIONS,
                    region_size=REGION_SIZE, regions=REGIONS,
                    zero_scores_pos=int((s_pos == 0).sum()),
                    curves={k: [float(v) for v in cv] for k, (cv, _) in res.items()},
                    aucs={k: auc for k, (_, auc) in res.items()},
                    negative=[float(v) for v in rises],
                    aopc_curve=[float(v) for v in acurve], aopc=aval,
                    aopc_tile_order=torder)
        with open(os.path.join(OUT, slug + ".json"), "w") as f:
            json.dump(info, f, indent=1)
        lines.append("%s %s %d" % (slug, png, t))
        print("%-9s t=%d  del %.4f ins %.4f  del56 %.4f ins56 %.4f  neg %s  aopc %.4f"
              % (slug, t, res["del_s20"][1], res["ins_s20"][1], res["del_p56"][1],
                 res["ins_p56"][1], np.round(rises, 4), aval), flush=True)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
