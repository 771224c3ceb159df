#!/usr/bin/python3
"""Slow tier: LRP of dmbp against the PyTorch reference on torchvision's
VGG16 and ResNet50 with seeded random weights, every composite.

Not run by `make check`. From the repository root:

    nice -n 19 /usr/bin/python3 tests/ref/torchvision_lrp.py --dmbp ./dmbp \\
        --cache /tmp/dmbp-tv [--models vgg16,resnet50] [--composites a,b]

Models, ONNX export (opset 13, batch 1 in the graph) and the seeded 224x224
noise image come from torchvision_parity.py (the same cache files as the
other slow tiers). The reference is tests/ref/lrp_torch.py's interpreter
and rules (float64) on the exported graph, whose logits are first checked
against the torchvision module itself (1e-4 relative); zbox's bounds are
ImageNet's mean and std, dmbp's default for a model without its own.

dmbp explain --method lrp --composite C --no-resize --target T --threads 1
gives each map (.npy); the check is max|ours - torch| <= (1e-4 + 2 cond)
max|torch| and Pearson >= 0.9999, cond the reference's own float32 distance
from float64 (computed only where 1e-4 alone fails, as test_lrp's
fixtures). One line per model and composite, then `N passed, N failed`;
exit status 1 if any failed.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torchvision_parity import MEAN, STD, build, ensure_onnx, ensure_png, load_input, run  # noqa: E402
import lrp_torch  # noqa: E402

RTOL = 1e-4
MIN_PEARSON = 0.9999
COND_FACTOR = 2
OPSET = 13


def pearson(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dmbp", default="./dmbp")
    ap.add_argument("--cache", default="/tmp/dmbp-tv")
    ap.add_argument("--models", default="vgg16,resnet50")
    ap.add_argument("--composites", default=",".join(lrp_torch.COMPOSITES))
    ap.add_argument("--timeout", type=float, default=7200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    png = os.path.join(args.cache, "input224.png")
    ensure_png(png, "random", 224)
    x = load_input(png)
    xn = x.numpy().astype(np.float32)
    passed = failed = 0
    for name in args.models.split(","):
        model = build(name)
        path = os.path.join(args.cache, "%s_op%d_static.onnx" % (name, OPSET))
        ensure_onnx(name, model, path, OPSET, "static")
        with torch.no_grad():
            f = model(x)[0].double()
        t = int(f.argmax())
        net, net32 = lrp_torch.Net(path), None
        with torch.no_grad():
            g = net.forward(x.double())[net.logits][0]
        lrel = float((g - f).abs().max() / f.abs().max())
        print("%s: interpreter vs torchvision logits %.2e, target %d" % (name, lrel, t),
              flush=True)
        if lrel > RTOL:
            print("FAIL %s: the interpreter does not reproduce the model" % name)
            failed += 1
            continue
        for comp in args.composites.split(","):
            t0 = time.time()
            want, cons = lrp_torch.explain(net, xn, t, comp, lrp_torch.EPSILON,
                                           lrp_torch.GAMMA, MEAN, STD)
            t1 = time.time()
            out = os.path.join(args.cache, "lrp-%s-%s" % (name, comp))
            run([args.dmbp, "explain", path, png, "--method", "lrp", "--composite", comp,
                 "--target", str(t), "--no-resize", "--quiet", "--force", "--threads", "1",
                 "-o", out], args.timeout)
            t2 = time.time()
            got = np.load(out + ".npy").reshape(want.shape).astype(np.float64)
            mx = np.abs(want).max()
            rel = float(np.abs(got - want).max() / mx)
            r = pearson(got, want)
            tol, note = RTOL, ""
            if rel > tol:
                if net32 is None:
                    net32 = lrp_torch.Net(path, torch.float32)
                w32, _ = lrp_torch.explain(net32, xn, t, comp, lrp_torch.EPSILON,
                                           lrp_torch.GAMMA, MEAN, STD)
                cond = float(np.abs(w32 - want).max() / mx)
                tol = RTOL + COND_FACTOR * cond
                note = "  (torch float32 vs float64: %.2e)" % cond
            ok = rel <= tol and r >= MIN_PEARSON
            passed += ok
            failed += not ok
            print("%s %-9s %-21s max rel %.2e (tolerance %.1e)  Pearson %.7f  "
                  "conservation %.4g  torch %.0f s, dmbp %.0f s%s" %
                  ("PASS" if ok else "FAIL", name, comp, rel, tol, r, cons, t1 - t0,
                   t2 - t1, note), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
