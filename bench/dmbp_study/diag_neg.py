#!/usr/bin/python3
"""Diagnosis of the negative lane (RESULTS.md section 8): how the
contribution-sign start's per-layer choices compose.

    /usr/bin/python3 bench/dmbp_study/diag_neg.py --model evidence_vgg --n 40 [--K 4] --out FILE.jsonl
    /usr/bin/python3 bench/dmbp_study/diag_neg.py --model fmnist_vgg --fmnist 5000 --n 40 --out FILE.jsonl

Per image (the model's top class t, K path copies at (j + 1/2)/K x), with
c[l] the per-filter contributions at all masks 1 and F = the sum of A1:
  neg_frac[l]     share of layer l's filters with c < 0
  Fneg_layer[l]   F with the negative filters of layer l alone kept (hard
                  0/1 masks, every other layer 1) = sum of c[l] < 0: negative
  Fneg_from[l]    F with the independent negative split on layers l..L-1,
                  the layers below 1: where does the all-layer lane flip?
  Fpos_from[l]    the same for the positive split
  Fneg_pair[l]    F with the negative split on layers l and l+1 only: > 0
                  means a negative filter fed by negative filters adds
                  positively
  Fcomp           F with the composed negative split on every layer
  soft one shot   A- of the sign start with sigma(+-2) masks (the library's
                  start): Fn_soft, its positive share an_pos_share, and the
                  same for A+ (Fp_soft)
"""
import argparse
import json
import os

import torch

import common as C
import dmbp_torch as D
import eval_crosscheck as E


def hardF(net, x, t, rec, K, sets, sizes):
    """F at hard masks: sets {layer: bool tensor of kept filters}, others 1."""
    ms = [sets[l].float().view(1, -1) if l in sets else torch.ones(1, s)
          for l, s in enumerate(sizes)]
    _, Fv = D.contributions(net, x, t, rec, K, masks=ms)
    return Fv


def diagnose(net, x, t, K):
    a = D.path_points(K, False)
    rec, _ = net.record(a.view(-1, 1, 1, 1) * x)
    sizes = net.mask_sizes(x)
    L = len(sizes)
    c, F1 = D.contributions(net, x, t, rec, K)
    neg = [v < 0 for v in c]
    pos = [v > 0 for v in c]
    r = dict(L=L, F=F1, neg_frac=[float(v.float().mean()) for v in neg],
             Fneg_layer=[float(v[v < 0].sum()) for v in c],
             Fneg_from=[hardF(net, x, t, rec, K, {m: neg[m] for m in range(l, L)}, sizes)
                        for l in range(L)],
             Fpos_from=[hardF(net, x, t, rec, K, {m: pos[m] for m in range(l, L)}, sizes)
                        for l in range(L)],
             Fneg_pair=[hardF(net, x, t, rec, K, {l: neg[l], l + 1: neg[l + 1]}, sizes)
                        for l in range(L - 1)])
    tn = D.neg_thetas(net, x, t, rec, K, "comp")
    r["Fcomp"] = hardF(net, x, t, rec, K, {l: v > 0 for l, v in enumerate(tn)}, sizes)
    tp, tn = D.start_thetas(net, x, t, rec, K, "sign")
    thetas = [torch.stack([p, n]) for p, n in zip(tp, tn)]
    W = net.mapping(D.tile_rec(rec, 2), D.masks_of(net, thetas, K), t,
                    (2 * K,) + tuple(x.shape[1:]), False).detach()
    Ap, An = (W[:K].mean(0) * x[0]).double(), (W[K:].mean(0) * x[0]).double()
    r.update(Fp_soft=float(Ap.sum()), Fn_soft=float(An.sum()),
             an_pos_share=float(torch.relu(An).sum() / An.abs().sum()),
             ap_neg_share=float(torch.relu(-Ap).sum() / Ap.abs().sum()))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--K", type=int, default=4)
    ap.add_argument("--split", default="val")
    ap.add_argument("--fmnist", type=int, default=None,
                    help="Fashion-MNIST test images from this index instead of the generator")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    net = D.Net(os.path.join(C.REPO, C.MODELS.get(a.model, "models/%s.onnx" % a.model)))
    if a.fmnist is not None:
        xs = E.read_idx3(E.IDX, a.fmnist + a.n)[a.fmnist:]
        imgs = [(a.fmnist + k, torch.from_numpy(v[None])) for k, v in enumerate(xs)]
    else:
        imgs = [(i, C.preprocess(img, net)) for i, img, _, _ in C.against_images(a.split, a.n)]
    with open(a.out, "w") as f:
        for i, x in imgs:
            with torch.no_grad():
                t = int(net.run(x, rec={}).argmax())
            r = dict(model=a.model, index=i, target=t, **diagnose(net, x, t, a.K))
            f.write(json.dumps(r) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
