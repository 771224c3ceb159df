#!/usr/bin/python3
"""Reference fixtures for occlusion, Grad-CAM++, Score-CAM and RISE (#24).

Run with Debian's python3 (torch, onnx, numpy, PIL) from anywhere:

    /usr/bin/python3 tests/ref/make_perturb_fixtures.py

It writes tests/ref/data/perturb/ (about 0.3 MB, about a minute on 1
thread). Nothing here reads libdmbp's code: every method is written again
from its definition (libdmbp(3), issue #24, the papers), on the ONNX
interpreter of make_grad_fixtures.py (torch functional ops, checked there
against PyTorch's own modules):

occlusion   direct loops over the patch positions: along an axis of n
            pixels 0, s, 2s, ... while the patch fits, then n - W if the
            last did not reach the border; x patched = x with the W x W
            square (all channels) taken from the baseline; map(p) = mean
            over the patches covering p of f_t(x) - f_t(x patched), f_t the
            logit. Baselines: zero; black = -mean/std per channel; blur =
            Gaussian kernel 11, sigma 5, normalised, rows then columns in
            float64 with the row pass rounded to float32, edges clamped.
            Default window: round(min(H, W) / 28), at least 2; stride
            window // 2, at least 1.
gradcampp   pytorch-grad-cam's closed form (GradCAMPlusPlus.get_cam_weights):
            g = d logit_t / dA by autograd at Grad-CAM's layer, a = g^2 /
            (2 g^2 + sum_ij(A) g^3 + 1e-6) where g != 0 else 0, w_k =
            sum_ij relu(g) a; cam = relu(sum_k w_k A_k), then
            F.interpolate(bilinear, align_corners=False) to H x W.
scorecam    a loop over the channels: H_k = F.interpolate(A_k) min-max
            normalised (a constant map: weight 0), w_k = softmax(f(x * H_k))_t
            - softmax(f(0))_t, cam = relu(sum_k w_k A_k) upsampled as above.
rise        masks from libdmbp's documented generator (splitmix64 seeded
            with the seed, u = ((z >> 11) + 1) 2^-53; per mask grid^2 cells
            kept if u < p in row-major order, then row and column shifts
            floor(u ceil(H/grid)), floor(u ceil(W/grid))), written to the
            fixture (<case>.<name>_grids.npy, _shifts.npy); each grid goes
            through F.interpolate(bilinear, align_corners=False) to (grid+1)
            cells and is cropped at the shift; map = sum_i softmax(f(x *
            M_i))_t M_i / (N p). A one-mask map is also stored: it is mask 0
            itself, scaled, and checks the generator on its own.

cases.txt, one array per line:
  <case> <model> <target> <array> <method> [key=value ...]
with the explain options that make the array (window, stride, baseline,
masks, grid, p, seed; absent: the library's default). <case>.input.npy is
the preprocessed image (1 x C x H x W float32), <case>.<array>.npy the map
(1 x H x W float32, float64 arithmetic rounded at the end).
"""

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_grad_fixtures import (OnnxNet, REPO, FMNIST_MEAN, FMNIST_STD,  # noqa: E402
                                splitmix64_np, splitmix64_ref, M64)

OUT = os.path.join(HERE, "data", "perturb")
OCCLUSION_SCALE, MIN_WINDOW = 28, 2
GRADCAMPP_EPS = 1e-6
BLUR_RADIUS, BLUR_SIGMA = 5, 5.0
BATCH = 256

# (case, model, image, mean/std or None for Fashion-MNIST's, arrays)
# arrays: (name, method, options)
CASES = [
    ("fmnist_vgg_7", "models/fmnist_vgg.onnx", "models/samples/sneaker.png", [
        ("occlusion", "occlusion", {}),
        ("occlusion_w5s3_blur", "occlusion", dict(window=5, stride=3, baseline="blur")),
        ("gradcampp", "gradcam++", {}),
        ("scorecam", "scorecam", {}),
        ("rise", "rise", dict(masks=96, seed=3)),
        ("rise1", "rise", dict(masks=1, seed=5)),
    ]),
    ("fmnist_resnet_0", "models/fmnist_resnet.onnx", "models/samples/tshirt.png", [
        ("occlusion", "occlusion", {}),
        ("occlusion_w4s4_black", "occlusion", dict(window=4, stride=4, baseline="black")),
        ("gradcampp", "gradcam++", {}),
        ("scorecam", "scorecam", {}),
        ("rise", "rise", dict(masks=96, grid=4, p=0.3, seed=11)),
    ]),
    ("evidence_vgg_0", "models/evidence_vgg.onnx", "models/evidence/test_00000.png", [
        ("occlusion_w8s4", "occlusion", dict(window=8, stride=4)),
        ("occlusion_w6s5_blur", "occlusion", dict(window=6, stride=5, baseline="blur")),
        ("gradcampp", "gradcam++", {}),
        ("scorecam", "scorecam", {}),
        ("rise", "rise", dict(masks=64, grid=5, p=0.4, seed=2)),
    ]),
    ("evidence_cnn_3", "models/evidence_cnn.onnx", "models/evidence/test_00003.png", [
        ("occlusion_w8s6_black", "occlusion", dict(window=8, stride=6, baseline="black")),
        ("gradcampp", "gradcam++", {}),
        ("scorecam", "scorecam", {}),
        ("rise", "rise", dict(masks=64, seed=9)),
        ("rise1", "rise", dict(masks=1, grid=3, p=0.7, seed=1)),
    ]),
]


def metadata_floats(path, key):
    import onnx
    for p in onnx.load(path).metadata_props:
        if p.key == key:
            return [float(v) for v in p.value.split(",")]
    return None


def load_image(model, png):
    """1 x C x H x W float32: v / 255, then (v - mean) / std in float32."""
    mean = metadata_floats(model, "dmbp.mean") or [FMNIST_MEAN]
    std = metadata_floats(model, "dmbp.std") or [FMNIST_STD]
    im = np.asarray(Image.open(png))
    if im.ndim == 2:
        im = im[:, :, None]
    im = im[:, :, :len(mean)]
    v = im.astype(np.float32).transpose(2, 0, 1)[None] / np.float32(255)
    m = np.array(mean, np.float32)[None, :, None, None]
    s = np.array(std, np.float32)[None, :, None, None]
    return ((v - m) / s).astype(np.float32), mean, std


def logits(net, xs):
    out = []
    with torch.no_grad():
        for i in range(0, xs.shape[0], BATCH):
            out.append(net.run(xs[i:i + BATCH])[0])
    return torch.cat(out)


# ---------------------------------------------------------------- occlusion
def positions(n, win, stride):
    pos = list(range(0, n - win + 1, stride))
    if pos[-1] + win < n:
        pos.append(n - win)
    return pos


def blur(x):
    """The documented Gaussian (kernel 11, sigma 5), x: C x H x W float32."""
    k = np.array([math.exp(-i * i / (2 * BLUR_SIGMA * BLUR_SIGMA))
                  for i in range(-BLUR_RADIUS, BLUR_RADIUS + 1)])
    k /= k.sum()
    c, h, w = x.shape
    out = np.empty_like(x)
    for ch in range(c):
        src = x[ch].astype(np.float64)
        tmp = np.zeros((h, w))
        for i in range(-BLUR_RADIUS, BLUR_RADIUS + 1):
            cols = np.clip(np.arange(w) + i, 0, w - 1)
            tmp += k[i + BLUR_RADIUS] * src[:, cols]
        tmp = tmp.astype(np.float32).astype(np.float64)
        acc = np.zeros((h, w))
        for i in range(-BLUR_RADIUS, BLUR_RADIUS + 1):
            rows = np.clip(np.arange(h) + i, 0, h - 1)
            acc += k[i + BLUR_RADIUS] * tmp[rows, :]
        out[ch] = acc.astype(np.float32)
    return out


def occlusion(net, x, t, mean, std, window=0, stride=0, baseline="zero"):
    _, c, h, w = x.shape
    if not window:
        window = max(MIN_WINDOW, int(round(min(h, w) / OCCLUSION_SCALE)))
    if not stride:
        stride = max(1, window // 2)
    if baseline == "zero":
        x0 = np.zeros_like(x[0])
    elif baseline == "black":
        x0 = np.stack([np.full((h, w), np.float32(-mean[ch % 3]) / np.float32(std[ch % 3]),
                               np.float32) for ch in range(c)])
    else:
        x0 = blur(x[0])
    patches = [(y0, x0_) for y0 in positions(h, window, stride)
               for x0_ in positions(w, window, stride)]
    xs = np.repeat(x, len(patches), axis=0)
    for i, (y0, xx0) in enumerate(patches):
        xs[i, :, y0:y0 + window, xx0:xx0 + window] = x0[:, y0:y0 + window, xx0:xx0 + window]
    f = logits(net, torch.from_numpy(np.concatenate([x, xs])))[:, t].double().numpy()
    acc = np.zeros((h, w))
    cnt = np.zeros((h, w))
    for i, (y0, xx0) in enumerate(patches):
        acc[y0:y0 + window, xx0:xx0 + window] += f[0] - f[1 + i]
        cnt[y0:y0 + window, xx0:xx0 + window] += 1
    assert cnt.min() >= 1
    return (acc / cnt)[None], dict(window=window, stride=stride, patches=len(patches))


# ------------------------------------------------------------------- CAMs
def layer_activations(net, x, t, grad):
    layer, _ = net.gradcam_layer()
    xr = torch.from_numpy(x).clone().requires_grad_(grad)
    y, env, _ = net.run(xr, keep=[layer])
    A = env[layer]
    g = torch.autograd.grad(y[0, t], A)[0] if grad else None
    return layer, A.detach(), g


def upsample(cam, h, w):
    return F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)


def gradcampp(net, x, t):
    layer, A, g = layer_activations(net, x, t, True)
    A, g = A.double(), g.double()
    g2 = g ** 2
    g3 = g2 * g
    sum_a = A.sum(dim=(2, 3), keepdim=True)
    aij = g2 / (2 * g2 + sum_a * g3 + GRADCAMPP_EPS)
    aij = torch.where(g != 0, aij, torch.zeros_like(aij))
    weights = (F.relu(g) * aij).sum(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * A).sum(dim=1, keepdim=True))
    return upsample(cam, x.shape[2], x.shape[3])[0].float().numpy(), dict(layer=layer)


def scorecam(net, x, t):
    layer, A, _ = layer_activations(net, x, t, False)
    _, c, h, w = x.shape
    xt = torch.from_numpy(x)
    with torch.no_grad():
        p0 = float(torch.softmax(net.run(torch.zeros_like(xt))[0][0], 0)[t])
    weights = torch.zeros(A.shape[1], dtype=torch.float64)
    skipped = 0
    for k in range(A.shape[1]):
        up = upsample(A[:, k:k + 1], h, w)
        lo, hi = up.min(), up.max()
        if not hi > lo:
            skipped += 1
            continue
        mask = (up - lo) / (hi - lo)
        with torch.no_grad():
            pk = float(torch.softmax(net.run(xt * mask)[0][0], 0)[t])
        weights[k] = pk - p0
    cam = F.relu((weights[None, :, None, None] * A.double()).sum(dim=1, keepdim=True))
    return upsample(cam, h, w)[0].float().numpy(), dict(layer=layer, constant_channels=skipped,
                                                       p_zero=p0)


# ------------------------------------------------------------------- RISE
def uniforms(seed, count):
    raw = splitmix64_np(seed & M64, count)
    ref, _ = splitmix64_ref(seed & M64, 4)
    assert [int(v) for v in raw[:4]] == ref[:min(4, count)] or count < 4
    return ((raw >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53


def rise_masks(n, g, p, seed, h, w):
    ch, cw = -(-h // g), -(-w // g)
    u = uniforms(seed, n * (g * g + 2)).reshape(n, g * g + 2)
    grids = (u[:, :g * g] < p).astype(np.float32).reshape(n, g, g)
    shifts = np.stack([np.minimum((u[:, -2] * ch).astype(np.int64), ch - 1),
                       np.minimum((u[:, -1] * cw).astype(np.int64), cw - 1)], 1)
    up = F.interpolate(torch.from_numpy(grids)[:, None], size=((g + 1) * ch, (g + 1) * cw),
                       mode="bilinear", align_corners=False)[:, 0]
    masks = torch.stack([up[i, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(shifts)])
    return grids, shifts, masks


def rise(net, x, t, masks=4000, grid=7, p=0.5, seed=0):
    _, c, h, w = x.shape
    grids, shifts, M = rise_masks(masks, grid, p, seed, h, w)
    xs = torch.from_numpy(x) * M[:, None]
    prob = torch.softmax(logits(net, xs), 1)[:, t].double()
    sal = (prob[:, None, None] * M.double()).sum(0) / (masks * p)
    return sal[None].float().numpy(), dict(masks=masks, grid=grid, p=p, seed=seed), grids, shifts


# ------------------------------------------------------------------- main
def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for case, model, png, arrays in CASES:
        net = OnnxNet(os.path.join(REPO, model))
        x, mean, std = load_image(os.path.join(REPO, model), os.path.join(REPO, png))
        with torch.no_grad():
            t = int(net.run(torch.from_numpy(x))[0][0].argmax())
        np.save(os.path.join(OUT, case + ".input.npy"), x)
        print(case, "target", t, flush=True)
        for name, method, opts in arrays:
            if method == "occlusion":
                m, info = occlusion(net, x, t, mean, std, **opts)
            elif method == "gradcam++":
                m, info = gradcampp(net, x, t)
            elif method == "scorecam":
                m, info = scorecam(net, x, t)
            else:
                m, info, grids, shifts = rise(net, x, t, **opts)
                np.save(os.path.join(OUT, "%s.%s_grids.npy" % (case, name)), grids)
                np.save(os.path.join(OUT, "%s.%s_shifts.npy" % (case, name)), shifts)
            m = np.ascontiguousarray(m, dtype=np.float32)
            np.save(os.path.join(OUT, "%s.%s.npy" % (case, name)), m)
            print("  %-22s max|map| %.4g  %s" % (name, np.abs(m).max(), info), flush=True)
            kv = " ".join("%s=%s" % kv for kv in sorted(opts.items()))
            lines.append(("%s %s %d %s %s %s" % (case, model, t, name, method, kv)).rstrip())
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# Occlusion, Grad-CAM++, Score-CAM and RISE fixtures "
                "(tests/ref/make_perturb_fixtures.py).\n"
                "# <case> <model> <target> <array> <method> [option=value ...]\n")
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%s: %.2f MB" % (OUT, total / 1e6))


if __name__ == "__main__":
    main()
