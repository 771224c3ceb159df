#!/usr/bin/python3
"""Classic DMBP in PyTorch (dmbp_torch.dmbp, classic=True) against the C
program on a few images: `dmbp explain MODEL IMG --method dmbp -o X` writes
X.npy = [W+, W-, A+, A-, N] (5 x C x H x W).

    /usr/bin/python3 bench/dmbp_study/verify_c.py [--spec SPEC] MODEL X.npy IMG [X.npy IMG ...]

--spec: a DMBP spec of study.py (path-K4-i40-sign, split-O8-K2-i90-rr, ...)
instead of classic DMBP, against `dmbp explain` with the matching preset
or options (RESULTS.md sections 1 and 9).
"""
import sys
import time

import numpy as np
import torch

import common as C
import dmbp_torch as D
import study as S


def main():
    torch.set_num_threads(1)
    argv = sys.argv[1:]
    spec = None
    if argv[0] == "--spec":
        spec, argv = argv[1], argv[2:]
    net = D.Net(argv[0])
    args = argv[1:]
    for npy, png in zip(args[::2], args[1::2]):
        ref = np.load(npy).astype(np.float64)
        x = C.load_png(png, net)
        with torch.no_grad():
            t = int(net.run(x, rec={}).argmax())
        t0 = time.time()
        if spec is None:
            r = D.dmbp(net, x, t, classic=True)
        elif spec.startswith("split"):
            r = S.SP.dmbp_split(net, x, t, **S.SP.parse(spec))
        else:
            o = S.parse(spec)
            r = D.dmbp(net, x, t, K=o["K"], iters=o["its"], lr=o["lr"], start=o["start"])
        secs = time.time() - t0
        out = [r["Wp"], r["Wn"], r["Ap"], r["An"], r["N"]]
        line = []
        for name, a, b in zip(["W+", "W-", "A+", "A-", "N"], out, ref):
            a = a.double().numpy()
            rel = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
            corr = np.corrcoef(a.ravel(), b.ravel())[0, 1]
            line.append("%s max|d|/max|ref| %.2e corr %.6f" % (name, rel, corr))
        pos, neg = C.dmbp_maps(r["Ap"], r["An"])
        truth = np.array(__import__("PIL.Image").Image.open(png[:-4] + ".truth.png"))
        mine = C.gt_scores(pos, neg, truth)
        rp, rn = C.dmbp_maps(torch.from_numpy(ref[2]), torch.from_numpy(ref[3]))
        theirs = C.gt_scores(rp, rn, truth)
        print("%s (target %d, %.1f s): %s" % (png, t, secs, "; ".join(line)))
        print("   gt (+mass, -mass, +rank, -rank) torch %s  C %s"
              % (np.round(mine, 4).tolist(), np.round(theirs, 4).tolist()))


if __name__ == "__main__":
    main()
