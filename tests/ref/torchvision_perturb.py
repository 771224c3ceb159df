#!/usr/bin/python3
"""Slow tier: occlusion, Grad-CAM++, RISE (and Score-CAM on request) of
dmbp against PyTorch on torchvision's VGG16 and ResNet50 with seeded random
weights.

Not run by `make check`. From the repository root:

    /usr/bin/python3 tests/ref/torchvision_perturb.py --dmbp ./dmbp \\
        --cache /tmp/dmbp-tv [--models vgg16,resnet50] [--scorecam]

Models, ONNX export (opset 13, batch 1 written into the graph) and the
seeded 224x224 noise image come from torchvision_parity.py (same cache
files). PyTorch's side runs the torchvision modules themselves, the methods
written from their definitions (as tests/ref/make_perturb_fixtures.py, whose
patch positions and RISE mask generator it imports):

  occlusion  --window 32 --stride 24 (zero baseline): 9 x 9 patches, the
             last flush with the border;
  gradcam++  pytorch-grad-cam's closed form at dmbp's default layer (the
             last Conv, or the Relu reading it): VGG16 features[29],
             ResNet50 layer4[2].bn3 (the last Conv with its BatchNorm,
             which the exporter folds into it);
  rise       64 masks, grid 7, p 0.5, seed 0;
  scorecam   (--scorecam) one forward pass per channel: 512 for VGG16,
             2048 for ResNet50.

dmbp explain --no-resize --target T gives each map (.npy); the check is
max|ours - torch| <= 1e-4 max|torch| and Pearson >= 0.9999, against
PyTorch's float64 map where its float32 one fails it (ResNet50's occlusion:
PyTorch float32 is 1.3e-4 from float64, ours 4.2e-5). One line per model
and method, then `N passed, N failed`; exit status 1 if any failed.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torchvision_parity import build, ensure_onnx, ensure_png, load_input, run  # noqa: E402
from make_perturb_fixtures import positions, rise_masks, GRADCAMPP_EPS  # noqa: E402

RTOL = 1e-4
MIN_PEARSON = 0.9999
OPSET = 13
WINDOW, STRIDE = 32, 24
RISE_N, RISE_GRID, RISE_P, RISE_SEED = 64, 7, 0.5, 0
BATCH = 16


def cam_module(name, model):
    if name == "vgg16":
        model.features[29].inplace = False
        return model.features[29]
    return model.layer4[2].bn3


def logits(model, xs):
    with torch.no_grad():
        return torch.cat([model(xs[i:i + BATCH]) for i in range(0, len(xs), BATCH)])


def occlusion(model, x, t):
    _, c, h, w = x.shape
    patches = [(a, b) for a in positions(h, WINDOW, STRIDE) for b in positions(w, WINDOW, STRIDE)]
    xs = x.repeat(len(patches), 1, 1, 1)
    for i, (a, b) in enumerate(patches):
        xs[i, :, a:a + WINDOW, b:b + WINDOW] = 0
    f0 = float(logits(model, x)[0, t])
    f = logits(model, xs)[:, t].double()
    acc = torch.zeros(h, w, dtype=torch.float64)
    cnt = torch.zeros(h, w, dtype=torch.float64)
    for i, (a, b) in enumerate(patches):
        acc[a:a + WINDOW, b:b + WINDOW] += f0 - f[i]
        cnt[a:a + WINDOW, b:b + WINDOW] += 1
    return (acc / cnt).numpy()


def activations(model, module, x, t, grad):
    store = {}

    def hook(_, __, out):
        # ResNet's block adds the shortcut to this tensor and applies its
        # Relu in place: hand the rest of the network a copy.
        store["A"] = out
        return out.clone()
    hd = module.register_forward_hook(hook)
    xr = x.clone().requires_grad_(grad)
    y = model(xr)
    hd.remove()
    A = store["A"]
    g = torch.autograd.grad(y[0, t], A)[0] if grad else None
    return A.detach(), g


def up(cam, h, w):
    return F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)


def gradcampp(model, module, x, t):
    A, g = activations(model, module, x, t, True)
    A, g = A.double(), g.double()
    g2 = g ** 2
    aij = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * g + GRADCAMPP_EPS)
    aij = torch.where(g != 0, aij, torch.zeros_like(aij))
    wts = (F.relu(g) * aij).sum(dim=(2, 3), keepdim=True)
    cam = F.relu((wts * A).sum(dim=1, keepdim=True))
    return up(cam, x.shape[2], x.shape[3])[0, 0].numpy()


def scorecam(model, module, x, t):
    A, _ = activations(model, module, x, t, False)
    h, w = x.shape[2:]
    with torch.no_grad():
        p0 = float(torch.softmax(model(torch.zeros_like(x))[0], 0)[t])
    wts = torch.zeros(A.shape[1], dtype=torch.float64)
    masks, live = [], []
    for k in range(A.shape[1]):
        u = up(A[:, k:k + 1], h, w)
        lo, hi = u.min(), u.max()
        if hi > lo:
            masks.append(((u - lo) / (hi - lo))[0])
            live.append(k)
    for i in range(0, len(live), BATCH):
        xs = x * torch.stack(masks[i:i + BATCH])
        p = torch.softmax(logits(model, xs), 1)[:, t].double()
        for j, k in enumerate(live[i:i + BATCH]):
            wts[k] = float(p[j]) - p0
    cam = F.relu((wts[None, :, None, None] * A.double()).sum(dim=1, keepdim=True))
    return up(cam, h, w)[0, 0].numpy()


def rise(model, x, t):
    _, _, h, w = x.shape
    _, _, M = rise_masks(RISE_N, RISE_GRID, RISE_P, RISE_SEED, h, w)
    p = torch.softmax(logits(model, x * M[:, None]), 1)[:, t].double()
    return ((p[:, None, None] * M.double()).sum(0) / (RISE_N * RISE_P)).numpy()


def pearson(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--cache", default="/tmp/dmbp-tv")
    ap.add_argument("--models", default="vgg16,resnet50")
    ap.add_argument("--scorecam", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    png = os.path.join(args.cache, "input224.png")
    ensure_png(png, "random", 224)
    x = load_input(png)
    passed = failed = 0
    for name in args.models.split(","):
        model = build(name)
        path = os.path.join(args.cache, "%s_op%d_static.onnx" % (name, OPSET))
        ensure_onnx(name, model, path, OPSET, "static")
        module = cam_module(name, model)
        t = int(logits(model, x)[0].argmax())
        methods = [("occlusion", lambda: occlusion(model, x, t),
                    ["--window", str(WINDOW), "--stride", str(STRIDE)]),
                   ("gradcam++", lambda: gradcampp(model, module, x, t), []),
                   ("rise", lambda: rise(model, x, t),
                    ["--samples", str(RISE_N), "--grid", str(RISE_GRID), "--keep", str(RISE_P),
                     "--seed", str(RISE_SEED)])]
        if args.scorecam:
            methods.append(("scorecam", lambda: scorecam(model, module, x, t), []))
        model64 = None
        for meth, ref, extra in methods:
            want = ref()
            out = os.path.join(args.cache, "perturb-%s-%s" % (name, meth.replace("+", "p")))
            run([args.dmbp, "explain", path, png, "--method", meth, "--target", str(t),
                 "--no-resize", "--quiet", "--force", "--threads", "1", "-o", out] + extra,
                args.timeout)
            got = np.load(out + ".npy").reshape(want.shape).astype(np.float64)
            rel = float(np.abs(got - want).max() / np.abs(want).max())
            r = pearson(got, want)
            ok = rel <= RTOL and r >= MIN_PEARSON
            note = ""
            if not ok:
                # PyTorch's float32 may itself be that far from the exact
                # map (occlusion: a logit of 100 minus one a little
                # smaller): the reference again in float64 decides.
                if model64 is None:
                    model64 = build(name).double()
                m64 = cam_module(name, model64)
                x64 = x.double()
                w64 = {"occlusion": lambda: occlusion(model64, x64, t),
                       "gradcam++": lambda: gradcampp(model64, m64, x64, t),
                       "rise": lambda: rise(model64, x64, t),
                       "scorecam": lambda: scorecam(model64, m64, x64, t)}[meth]()
                self_rel = float(np.abs(want - w64).max() / np.abs(w64).max())
                rel = float(np.abs(got - w64).max() / np.abs(w64).max())
                r = pearson(got, w64)
                ok = rel <= RTOL and r >= MIN_PEARSON
                note = "  vs torch float64 (torch float32 vs float64: %.2e)" % self_rel
            passed += ok
            failed += not ok
            print("%s %-9s %-10s max rel %.2e  Pearson %.7f  (target %d)%s" %
                  ("PASS" if ok else "FAIL", name, meth, rel, r, t, note), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
