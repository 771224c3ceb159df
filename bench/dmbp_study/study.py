#!/usr/bin/python3
"""Ground-truth scores of attribution methods on the evidence benchmark.

    /usr/bin/python3 bench/dmbp_study/study.py --model evidence_cnn \\
        --split val|test --n N --methods SPEC,SPEC,... --out FILE.jsonl

Images: the first N images of the generator's split (make_evidence.py,
same seed) that have evidence against the labelled class; each map
explains the model's top class (as `dmbp eval` does).  Appends one JSON
line per image and method to FILE.jsonl (+/- mass, +/- rank as
groundtruth_crosscheck.scores defines them, seconds, and for DMBP F, F+,
F-, the share of A- that is positive and of A+ that is negative).
Rows already in FILE.jsonl are skipped, so a run can be resumed.

Method specs:
  gxi | ig<steps> | sgx<samples>s<sigma>  (e.g. sgx32s0.15: SmoothGrad x input)
  classic[-i<its>]                        classic DMBP (theta 2, one copy at x)
  path-K<k>-i<its>-<start>[-lr<x>][-wc<x>][-ws<x>][-wn<x>][-we<x>][-wsp<x>][-th<x>][-neg<rule>][-nth<x>]
      path DMBP; start in const, sign, top, composed (dmbp_torch.start_thetas);
      neg<rule>: the negative lane's own start (dmbp_torch.neg_thetas: const,
      top<k>, comp, comptop<k>); nth<x>: its |theta| at the start (default th)
  split-O<Kout>-K<Kit>-i<its>-<fixed|strat|rr>[-lr<x>][-a1out]
      path DMBP, start / outputs at Kout copies, iterations at Kit (dmbp_split.py)
"""
import argparse
import json
import os
import time

import numpy as np
import torch

import common as C
import dmbp_torch as D
import dmbp_split as SP

WKEYS = {"wc": "completeness", "ws": "sign", "wn": "nuisance", "we": "evidence",
         "wsp": "sparsity"}


def parse(spec):
    parts = spec.split("-")
    kind = parts[0]
    o = dict(kind=kind, K=1, its=200, start="const", lr=D.LR, w={}, th=D.THETA0, neg=None,
             nth=None)
    for p in parts[1:]:
        if p in ("const", "sign", "top", "composed"):
            o["start"] = p
        elif p.startswith("neg"):
            o["neg"] = p[3:]
        elif p.startswith("nth"):
            o["nth"] = float(p[3:])
        elif p.startswith("K"):
            o["K"] = int(p[1:])
        elif p.startswith("i"):
            o["its"] = int(p[1:])
        elif p.startswith("lr"):
            o["lr"] = float(p[2:])
        elif p.startswith("th"):
            o["th"] = float(p[2:])
        else:
            for k in sorted(WKEYS, key=len, reverse=True):
                if p.startswith(k):
                    o["w"][WKEYS[k]] = float(p[len(k):])
                    break
            else:
                raise ValueError(spec)
    return o


def raw_maps(net, x, t, spec, seed):
    """-> (A+, A-, extra): for single-map methods A+ = A- = the map."""
    if spec == "gxi":
        A = D.gxi(net, x, t)
        return A, A, {}
    if spec.startswith("ig"):
        A = D.ig(net, x, t, int(spec[2:]))
        return A, A, {}
    if spec.startswith("sgx"):
        k, s = spec[3:].split("s")
        A = D.smoothgrad_x_input(net, x, t, int(k), float(s), seed)
        return A, A, {}
    if spec.startswith("split"):
        r = SP.dmbp_split(net, x, t, seed=seed, **SP.parse(spec))
        return r["Ap"], r["An"], _dmbp_extra(r)
    o = parse(spec)
    r = D.dmbp(net, x, t, K=o["K"], iters=o["its"], lr=o["lr"], weights=o["w"],
               start=o["start"], classic=(o["kind"] == "classic"), theta0=o["th"],
               neg=o["neg"], neg_theta=o["nth"])
    return r["Ap"], r["An"], _dmbp_extra(r)


def _dmbp_extra(r):
    Ap, An = r["Ap"].double(), r["An"].double()
    return dict(F=float(r["A1"].double().sum()), Fp=float(Ap.sum()), Fn=float(An.sum()),
                 an_pos_share=float(torch.relu(An).sum() / max(float(An.abs().sum()), 1e-30)),
                 ap_neg_share=float(torch.relu(-Ap).sum() / max(float(Ap.abs().sum()), 1e-30)),
                 nuis=float(r["N"].double().abs().sum()
                            / max(float(r["A1"].double().abs().sum()), 1e-30)))


def run_method(net, x, t, spec, seed):
    """-> (pos, neg, extra dict): the ground-truth pixel maps."""
    Ap, An, extra = raw_maps(net, x, t, spec, seed)
    if Ap is An:
        return C.signed_maps(Ap) + (extra,)
    return C.dmbp_maps(Ap, An) + (extra,)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="name in common.MODELS or a path")
    ap.add_argument("--split", default="val")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--methods", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--part", default="0/1",
                    help="I/P: only the images at positions I, I+P, ... (parallel runs)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = C.MODELS.get(args.model, args.model)
    net = D.Net(os.path.join(C.REPO, path))
    done = set()
    if os.path.exists(args.out):
        for line in open(args.out):
            r = json.loads(line)
            done.add((r["index"], r["method"]))
    methods = args.methods.split(",")
    part, parts = (int(v) for v in args.part.split("/"))
    imgs = C.against_images(args.split, args.n)[part::parts]
    with open(args.out, "a") as f:
        for (i, img, truth, label) in imgs:
            x = C.preprocess(img, net)
            with torch.no_grad():
                t = int(net.run(x, rec={}).argmax())
            for m in methods:
                if (i, m) in done:
                    continue
                t0 = time.time()
                pos, neg, extra = run_method(net, x, t, m, seed=i)
                secs = time.time() - t0
                pm, nm, pr, nr = C.gt_scores(pos, neg, truth)
                row = dict(model=args.model, split=args.split, index=i, method=m, target=t,
                           label=label, pm=pm, nm=nm, pr=pr, nr=nr, secs=secs, **extra)
                f.write(json.dumps(row) + "\n")
                f.flush()


if __name__ == "__main__":
    main()
