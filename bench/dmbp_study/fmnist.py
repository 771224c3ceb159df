#!/usr/bin/python3
"""Deletion / insertion AUC and the negative-evidence test on Fashion-MNIST,
for the study's methods, with the protocols of `dmbp eval` as
tests/ref/make_metrics_fixtures.py re-implements them (deletion to 0 in
normalised space, insertion from the blurred image, 20 steps, softmax of
the target; negative evidence: logit rise after removing the 5/10/20 %
most negative pixels).  Pixel scores: mean_c max(map, 0) (DMBP: of A+) and
mean_c max(-map, 0) (DMBP: of A-), as src/cli/eval.c.

    /usr/bin/python3 bench/dmbp_study/fmnist.py --model models/fmnist_vgg.onnx \\
        --n 100 --methods classic,path-K8-i25-sign --out FILE.jsonl
"""
import argparse
import json
import os
import time

import numpy as np
import torch

import common as C
import dmbp_torch as D
import study
import eval_crosscheck as E          # read_idx3 (tests/ref)
import make_grad_fixtures as G       # OnnxNet (tests/ref)
import make_metrics_fixtures as M    # pixel_scores, curve, negative


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--methods", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    path = os.path.join(C.REPO, args.model)
    net = D.Net(path)
    ref = G.OnnxNet(path)
    xs = E.read_idx3(E.IDX, args.start + args.n)[args.start:]
    done = set()
    if os.path.exists(args.out):
        for line in open(args.out):
            r = json.loads(line)
            done.add((r["index"], r["method"]))
    with open(args.out, "a") as f:
        for k, xa in enumerate(xs):
            i = args.start + k
            x = torch.from_numpy(xa[None])
            with torch.no_grad():
                t = int(net.run(x, rec={}).argmax())
            for m in args.methods.split(","):
                if (i, m) in done:
                    continue
                t0 = time.time()
                Ap, An, extra = study.raw_maps(net, x, t, m, seed=i)
                secs = time.time() - t0
                pos = M.pixel_scores(Ap.numpy(), 1)
                neg = M.pixel_scores(An.numpy(), -1)
                _, dele = M.curve(ref, xa, t, pos, False, steps=20)
                _, ins = M.curve(ref, xa, t, pos, True, steps=20)
                rise = M.negative(ref, xa, t, neg)
                row = dict(model=args.model, index=i, method=m, target=t, deletion=dele,
                           insertion=ins, neg5=float(rise[0]), neg10=float(rise[1]),
                           neg20=float(rise[2]), secs=secs, **extra)
                f.write(json.dumps(row) + "\n")
                f.flush()


if __name__ == "__main__":
    main()
