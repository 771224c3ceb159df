#!/usr/bin/python3
"""The negative-evidence perturbation test (logit rise after removing the
5 / 10 / 20 % most negative pixels, `dmbp eval`'s protocol as
tests/ref/make_metrics_fixtures.py implements it) on the evidence
benchmark, where the truth is known: does the test agree with the
ground-truth negative mass?  Besides the methods, two oracles: `truth-
against` (the pixels of the hollow shapes of the class first, the rest in
the protocol's tie order) and `truth-for` (the filled shapes first).

    /usr/bin/python3 bench/dmbp_study/evid_perturb.py --model evidence_vgg --split val --n 20 \\
        --methods path-K4-i40-sign,path-K4-i40-sign-negconst --out FILE.jsonl
"""
import argparse
import json
import os

import numpy as np
import torch

import common as C
import dmbp_torch as D
import study
import make_grad_fixtures as G       # OnnxNet (tests/ref)
import make_metrics_fixtures as M    # pixel_scores, negative


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--methods", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    path = os.path.join(C.REPO, C.MODELS[a.model])
    net, ref = D.Net(path), G.OnnxNet(path)
    done = set()
    if os.path.exists(a.out):
        done = {(r["index"], r["method"]) for r in map(json.loads, open(a.out))}
    with open(a.out, "a") as f:
        for (i, img, truth, label) in C.against_images(a.split, a.n):
            x = C.preprocess(img, net)
            xa = x[0].numpy()
            with torch.no_grad():
                t = int(net.run(x, rec={}).argmax())
            for m in ["truth-against", "truth-for"] + a.methods.split(","):
                if (i, m) in done:
                    continue
                if m.startswith("truth-"):
                    v = C.ev.TRUTH_AGAINST if m == "truth-against" else C.ev.TRUTH_FOR
                    neg = (truth == v).astype(np.float32)
                else:
                    _, An, _ = study.raw_maps(net, x, t, m, seed=i)
                    neg = M.pixel_scores(An.numpy(), -1)
                rise = M.negative(ref, xa, t, neg)
                f.write(json.dumps(dict(model=a.model, split=a.split, index=i, method=m,
                                        target=t, label=label, neg5=float(rise[0]),
                                        neg10=float(rise[1]), neg20=float(rise[2]),
                                        against_share=float((truth == C.ev.TRUTH_AGAINST).mean()),
                                        secs=0.0)) + "\n")
                f.flush()


if __name__ == "__main__":
    main()
