#!/usr/bin/python3
"""Reference fixtures for libdmbp's DMBP optimiser (docs/dmbp-method.md 1-4).

Run with Debian's python3 (python3-torch 1.13, python3-onnx, numpy, PIL),
from anywhere, after models/train.py (shipped models and models/samples/*.png):

    /usr/bin/python3 tests/ref/make_dmbp_fixtures.py [--only CASE ...]
                     [--threads N] [--out DIR] [--no-f64]

It writes tests/ref/data/dmbp/ (about 0.25 MB).  Time: 0.04-0.1 s per
float32 iteration on an idle core (vgg, resnet), K times that for the
smoothed case; whole run 5-15 min depending on machine load, more than half
of it the float64 conditioning runs and checks, which --no-f64 skips.
Output is byte-identical for --threads 1 and 2 (checked on one case).
--only CASE... redoes some cases and replaces (or adds) only their lines in
cases.txt.

Independence
------------
Nothing here depends on libdmbp, and nothing uses the closed-form V or the
tangent pass of dmbp-method.md section 3: every mask gradient comes from
torch autograd double-backward.  The ONNX graph is run by the OnnxNet
interpreter of tests/ref/make_grad_fixtures.py (imported), with its
derivative rules (ReLU gate 1[u>0], MaxPool first maximum, ...).  Gates and
MaxPool choices are recorded by one float32 forward pass per input copy and
then frozen; a mask layer on the output u of every Conv and every Gemm but
the last one is  y = m*u + (1-m)*detach(u): forward unchanged, backward
multiplied by m per output channel/unit, so W(m) = df_t/dx is the masked
mapping and, with create_graph=True, differentiable in m.

The optimisation (per case)
---------------------------
x: 1xCxHxW float32 (png/255, then (v - 0.2860)/0.3530); t = argmax f(x).
theta+ and theta-: one float32 tensor per mask layer, all 2.0;
m+- = sigmoid(theta+-).  Per input copy k (K = 1: the clean x):
  W1_k = W_k(1) (plain gradient), A1_k = W1_k*x_k, F_k = sum A1_k,
  S_k = sum |A1_k|; W+-_k = W_k(m+-), A+-_k = W+-_k*x_k, F+-_k = sum A+-_k,
  N_k = A1_k - A+_k - A-_k.
Terms (unweighted; sums over all channels and pixels):
  completeness ((F+ + F- - F)/S)^2
  sign         (sum relu(-A+) + sum relu(A-))/S
  nuisance     sum |N| / S
  evidence     (-F+ + F-)/S
  sparsity     mean(m+) + mean(m-)   (mean over ALL masks of the set)
loss = sum_term w_term * mean_k term_k (sparsity is the same for all k).
Presets: dmbp: completeness 10, sign 3, nuisance 1, evidence 0,
sparsity 0.01; evidence: evidence 1, sign 0.3, sparsity 0.01, others 0.
torch.optim.Adam([theta+..., theta-...], lr=0.05, betas=(0.9, 0.999),
eps=1e-8) (torch 1.13 single-tensor Adam: m = b1 m + (1-b1) g;
v = b2 v + (1-b2) g^2; theta -= lr/(1-b1^n) * m / (sqrt(v)/sqrt(1-b2^n)
+ eps), n = 1, 2, ...).  Iteration i = 0..iterations-1 evaluates the loss
at the current theta (loss_curve[i], terms_curve[i]), backpropagates, and
takes one Adam step; the final values are evaluated at theta after the last
step (so loss_curve[0] is the loss at theta = 2 and `final` is not in the
curve).  Derivatives at kinks: d|N|/dN = 0 at N = 0, relu'(0) = 0 (torch).

Smoothed variant (samples K > 1, sigma): x_k = x + eps_k in float32,
eps_k = (float)(z * sigma * (max x - min x)) (max/min of the clean x,
computed in double) with z from make_grad_fixtures.normals(seed,
noise_index, K*C*H*W) (splitmix64 + Box-Muller, state = seed + noise_index,
sample-major: copy 0's C*H*W values first); noise_index = the image's
position in its dmbp_explain call, 0 here (the C test explains one image
per call).  Each copy has its own gates (forward at x_k); all
share theta+-.  Outputs: W+- = mean_k W+-_k, A+- = W+- * x (clean x),
N = mean_k(W1_k) * x - A+ - A-, F+- = sum A+-, Fn = sum N,
F = sum mean_k(W1_k) * x; the loss and the terms are the means over copies
of the per-copy values above (each copy with its own x_k, S_k, ...).

Conditioning: each case is run a second time entirely in float64 (float64
copy of the network, same frozen float32 gates and choices, float64 theta,
float64 Adam, x and x_k converted exactly from float32).  The json gives the
Pearson correlation of the float32 and float64 final masks and maps and the
relative difference of the final loss; the C test (float32) can only be
expected to match the float32 fixture about as well as float64 does.
A float64 central finite-difference check of d loss/d theta at theta = 2
against autograd (a few indices) is stored too ("fd_check").

Files, in tests/ref/data/dmbp/ (all .npy float32 C order):

  cases.txt                  one line per case ('#' lines are comments):
                             <case> <model> <sample png> <iterations>
                             <samples> <sigma> <seed> <preset>
                             (paths relative to the repository; K = 1 cases
                             have sigma 0 and seed 0, both unused)
  <case>.json                everything readable: model, png, image index,
                             target, logits, preset and weights, mask layers
                             and sizes, noise parameters, float32 final
                             scalars in full precision, the float64 run's
                             finals, conditioning, fd_check, timing, files
  <case>.input.npy           x, 1xCxHxW (clean, preprocessed)
  <case>.m_pos.npy           final m+ = sigmoid(theta+), flat, mask-layer
  <case>.m_neg.npy           order (ONNX node order; a layer per Conv, one
                             mask per output channel, and per Gemm but the
                             last, one per unit), like grad/<case>.masks.npy
  <case>.w_pos.npy           W+ (mapping), 1xCxHxW
  <case>.w_neg.npy           W-
  <case>.a_pos.npy           A+ = W+ * x
  <case>.a_neg.npy           A- = W- * x
  <case>.nuisance.npy        N = W(1) * x - A+ - A-   (smoothed: see above)
  <case>.loss_curve.npy      [iterations] loss before each Adam step
  <case>.terms_curve.npy     [iterations x 5] unweighted terms before each
                             step: completeness, sign, nuisance, evidence,
                             sparsity
  <case>.final.npy           [f, F, F_pos, F_neg, F_nuisance, loss,
                             completeness, sign, nuisance_term, evidence,
                             sparsity] at the final theta; f = logit t of the
                             clean x, F = sum W(1)*x (f - F = bias part), the
                             five terms unweighted
  <case>.noise.npy           smoothed cases only: eps as added, K*C*H*W flat
                             in stream order

Path DMBP (dmbp-method.md section 7; preset "path", path_steps K > 0):
the copies are x_k = a_k * x in float32 with a_k = (k + 0.5)/K (float32,
the midpoint rule), each with its own frozen gates; all share theta+-.
The loss is taken ONCE on the aggregate maps, not per copy:
  W+- = mean_k W+-_k, A+- = W+- * x, W1 = mean_k W1_k, A1 = W1 * x
  (clean x: integrated gradients with K midpoint steps), F = sum A1,
  S = sum |A1|, N = A1 - A+ - A-, the five terms of the table above on
  these aggregates.  Start ("contribution sign"): with every mask 1,
  c = d/dm [ sum_k sum(x * W_k(m)) ] at m = 1 by autograd (the filter's
  signed contribution along the path; the 1/K of the method text does not
  change a sign), theta+ = +2 where c > 0 else -2, theta- = +2 where c < 0
  else -2.  Outputs as the smoothed case: W+-, A+- = W+- * x, N.
  cases.txt's ninth column is K (0 or absent: no path).

Round robin (preset "path-rr", dmbp_path_refresh R = 1, K = 8): the K
copies form G = ceil(K/R) groups, copy k in group k mod G.  Before the
first iteration every copy's W+-_k(m) is computed at the start masks
(no graph); iteration i recomputes group g = i mod G's maps with the graph
and stores them, the loss is the aggregate loss above on the stored maps
of every copy (the other groups' from their last iteration), and the
group's maps enter the gradient K / n_g times (n_g its copies):
W = W.detach() + (K / n_g) (W - W.detach()) (the sparsity term is not
scaled).  Start, A1 and the outputs use all K copies.

Negative set fixed (dmbp_fix_negative, cases.txt's tenth column 1): the
optimiser steps theta+ only (theta- is not among Adam's parameters), so
m- stays at the contribution-sign start; everything else as above.

Case set: fmnist_{vgg,resnet}_{ankle_boot,trouser}: preset classic, 200
iterations, K = 1; fmnist_resnet_bag_k4: K = 4, sigma 0.1, seed 0, 50
iterations; fmnist_vgg_sneaker_evidence: preset evidence, 100 iterations;
fmnist_{vgg,resnet}_*_path: preset path, K = 4, 40 iterations;
fmnist_{vgg,resnet}_*_rr: preset path-rr, K = 8, R = 1, 180 iterations;
fmnist_resnet_sneaker_rrfix: the same with the negative set fixed;
fmnist_vgg_trouser_default: the default preset, path-evidence (path-rr,
the negative set fixed, evidence weight 1).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_grad_fixtures as G  # noqa: E402

REPO = G.REPO
OUT = os.path.join(HERE, "data", "dmbp")

PRESETS = {
    "classic": dict(completeness=10.0, sign=3.0, nuisance=1.0, evidence=0.0, sparsity=0.01),
    "path": dict(completeness=10.0, sign=3.0, nuisance=1.0, evidence=0.0, sparsity=0.01),
    "path-rr": dict(completeness=10.0, sign=3.0, nuisance=1.0, evidence=0.0, sparsity=0.01),
    "path-evidence": dict(completeness=10.0, sign=3.0, nuisance=1.0, evidence=1.0,
                          sparsity=0.01),
    "evidence": dict(completeness=0.0, sign=0.3, nuisance=0.0, evidence=1.0, sparsity=0.01),
}
TERMS = ["completeness", "sign", "nuisance", "evidence", "sparsity"]
THETA0 = 2.0
LR, BETAS, ADAM_EPS = 0.05, (0.9, 0.999), 1e-8
FINAL_NAMES = ["f", "F", "F_pos", "F_neg", "F_nuisance", "loss"] + \
    ["completeness", "sign", "nuisance_term", "evidence", "sparsity"]


def case_list():
    c = []
    for mdl in ("fmnist_vgg", "fmnist_resnet"):
        for slug in ("ankle_boot", "trouser"):
            c.append(dict(name="%s_%s" % (mdl, slug), model="models/%s.onnx" % mdl,
                          slug=slug, iterations=200, samples=1, sigma=0.0, seed=0,
                          preset="classic"))
    c.append(dict(name="fmnist_resnet_bag_k4", model="models/fmnist_resnet.onnx",
                  slug="bag", iterations=50, samples=4, sigma=0.1, seed=0, preset="classic"))
    c.append(dict(name="fmnist_vgg_sneaker_evidence", model="models/fmnist_vgg.onnx",
                  slug="sneaker", iterations=100, samples=1, sigma=0.0, seed=0,
                  preset="evidence"))
    for mdl, slug in (("fmnist_vgg", "ankle_boot"), ("fmnist_vgg", "pullover"),
                      ("fmnist_resnet", "trouser"), ("fmnist_resnet", "coat")):
        c.append(dict(name="%s_%s_path" % (mdl, slug), model="models/%s.onnx" % mdl,
                      slug=slug, iterations=40, samples=1, sigma=0.0, seed=0,
                      preset="path", path=4))
    for mdl, slug in (("fmnist_vgg", "coat"), ("fmnist_resnet", "pullover")):
        c.append(dict(name="%s_%s_rr" % (mdl, slug), model="models/%s.onnx" % mdl,
                      slug=slug, iterations=180, samples=1, sigma=0.0, seed=0,
                      preset="path-rr", path=8, refresh=1))
    c.append(dict(name="fmnist_resnet_sneaker_rrfix", model="models/fmnist_resnet.onnx",
                  slug="sneaker", iterations=180, samples=1, sigma=0.0, seed=0,
                  preset="path-rr", path=8, refresh=1, fix_negative=1))
    c.append(dict(name="fmnist_vgg_trouser_default", model="models/fmnist_vgg.onnx",
                  slug="trouser", iterations=180, samples=1, sigma=0.0, seed=0,
                  preset="path-evidence", path=8, refresh=1, fix_negative=1))
    for x in c:
        x.setdefault("fix_negative", 0)
        x.setdefault("path", 0)
        x.setdefault("refresh", 0)
        x["png"] = "models/samples/%s.png" % x["slug"]
        x["image_index"] = G.SLUGS.index(x["slug"])
        x["noise_index"] = 0  # one image per dmbp_explain call
    return c


def load_input(case):
    from PIL import Image
    im = np.asarray(Image.open(os.path.join(REPO, case["png"])))
    assert im.shape == (28, 28) and im.dtype == np.uint8, im.shape
    x = im.astype(np.float32)[None, None] / 255.0
    return ((x - np.float32(G.FMNIST_MEAN)) / np.float32(G.FMNIST_STD)).astype(np.float32)


def make_noise(x, case):
    """eps (K x C x H x W float32) and its parameters, like G.smoothgrad."""
    K = case["samples"]
    xd = x.double()
    sigma_abs = case["sigma"] * (float(xd.max()) - float(xd.min()))
    chw = x[0].numel()
    z = G.normals(case["seed"], case["noise_index"], K * chw)
    eps = torch.from_numpy((z * sigma_abs).astype(np.float32)).view(K, *x.shape[1:])
    return eps, dict(samples=K, sigma=case["sigma"], seed=case["seed"],
                     noise_index=case["noise_index"],
                     state0=(case["seed"] + case["noise_index"]) & G.M64,
                     sigma_abs=sigma_abs, first_normals=[float(v) for v in z[:4]])


class Problem:
    """One DMBP problem in one dtype: the input copies with frozen gates."""

    def __init__(self, net, x, t, copies, recs, weights, path=False, refresh=0):
        self.net, self.x, self.t = net, x, t
        self.path = path              # loss on the copies' aggregate maps
        K = len(copies)
        self.G = -(-K // refresh) if path and 0 < refresh < K else 1
        self.stale = None             # round robin: every copy's last maps
        self.group = None             # the group evaluate_path recomputes
        self.copies = copies          # list of 1xCxHxW tensors (net dtype)
        self.recs = recs              # frozen gates/choices per copy
        self.w = weights
        ones = [torch.ones(s, dtype=x.dtype) for s in sizes_of(net)]
        self.W1 = [G.masked_grad(net, xk, t, rk, ones, False).detach()
                   for xk, rk in zip(copies, recs)]

    def evaluate(self, mp, mn, create_graph):
        """Loss (weighted, a tensor), terms (list of 5 tensors, unweighted,
        mean over copies) and the per-copy mappings."""
        K = len(self.copies)
        if self.path:
            return self.evaluate_path(mp, mn, create_graph)
        acc = [0.0] * 4
        Wps, Wns = [], []
        for xk, rk, W1 in zip(self.copies, self.recs, self.W1):
            Wp = G.masked_grad(self.net, xk, self.t, rk, mp, create_graph)
            Wn = G.masked_grad(self.net, xk, self.t, rk, mn, create_graph)
            A1, Ap, An = W1 * xk, Wp * xk, Wn * xk
            Fk, S = A1.sum(), A1.abs().sum()
            Fp, Fn_ = Ap.sum(), An.sum()
            N = A1 - Ap - An
            terms = [((Fp + Fn_ - Fk) / S) ** 2,
                     (torch.relu(-Ap).sum() + torch.relu(An).sum()) / S,
                     N.abs().sum() / S,
                     (-Fp + Fn_) / S]
            for j in range(4):
                acc[j] = acc[j] + terms[j]
            Wps.append(Wp)
            Wns.append(Wn)
        spars = torch.cat([m.reshape(-1) for m in mp]).mean() + \
            torch.cat([m.reshape(-1) for m in mn]).mean()
        terms = [a / K for a in acc] + [spars]
        loss = sum(self.w[n] * v for n, v in zip(TERMS, terms))
        return loss, terms, Wps, Wns

    def evaluate_path(self, mp, mn, create_graph):
        """Section 7: the terms of the aggregate maps (clean x)."""
        K = len(self.copies)
        ks = range(K) if self.group is None else range(self.group, K, self.G)
        Wps, Wns = (list(v) for v in self.stale) if self.group is not None else ([None] * K,
                                                                                [None] * K)
        for k in ks:
            for Ws, m in ((Wps, mp), (Wns, mn)):
                W = G.masked_grad(self.net, self.copies[k], self.t, self.recs[k], m,
                                  create_graph)
                if self.group is not None:
                    self.stale[Ws is Wns][k] = W.detach()
                    W = W.detach() + (K / len(ks)) * (W - W.detach())
                Ws[k] = W
        A1 = sum(self.W1) / K * self.x
        Ap, An = sum(Wps) / K * self.x, sum(Wns) / K * self.x
        F, S = A1.sum(), A1.abs().sum()
        Fp, Fn_ = Ap.sum(), An.sum()
        N = A1 - Ap - An
        spars = torch.cat([m.reshape(-1) for m in mp]).mean() + \
            torch.cat([m.reshape(-1) for m in mn]).mean()
        terms = [((Fp + Fn_ - F) / S) ** 2,
                 (torch.relu(-Ap).sum() + torch.relu(An).sum()) / S,
                 N.abs().sum() / S, (-Fp + Fn_) / S, spars]
        loss = sum(self.w[n] * v for n, v in zip(TERMS, terms))
        return loss, terms, Wps, Wns

    def contribution_start(self):
        """theta+- from the sign of c = d/dm sum_k sum(x * W_k(m)) at m = 1
        (autograd through the masked passes; nothing closed-form)."""
        ones = [torch.ones(s, dtype=self.x.dtype, requires_grad=True)
                for s in sizes_of(self.net)]
        with torch.enable_grad():
            tot = sum((self.x * G.masked_grad(self.net, xk, self.t, rk, ones, True)).sum()
                      for xk, rk in zip(self.copies, self.recs))
            cs = torch.autograd.grad(tot, ones)
        thp = [torch.where(c > 0, THETA0, -THETA0).to(self.x.dtype) for c in cs]
        thn = [torch.where(c < 0, THETA0, -THETA0).to(self.x.dtype) for c in cs]
        return thp, thn, torch.cat([c.reshape(-1) for c in cs])

    def finals(self, thp, thn, f):
        with torch.no_grad():
            mp = [torch.sigmoid(v) for v in thp]
            mn = [torch.sigmoid(v) for v in thn]
        with torch.enable_grad():
            loss, terms, Wps, Wns = self.evaluate(mp, mn, False)
        K = len(self.copies)
        Wp = sum(Wps) / K
        Wn = sum(Wns) / K
        W1 = sum(self.W1) / K
        Ap, An = Wp * self.x, Wn * self.x
        N = W1 * self.x - Ap - An
        F = float((W1 * self.x).double().sum())
        fin = [f, F, float(Ap.double().sum()), float(An.double().sum()),
               float(N.double().sum()), float(loss)] + [float(v) for v in terms]
        arr = dict(m_pos=torch.cat([m.reshape(-1) for m in mp]),
                   m_neg=torch.cat([m.reshape(-1) for m in mn]),
                   w_pos=Wp, w_neg=Wn, a_pos=Ap, a_neg=An, nuisance=N)
        return fin, {k: v.detach() for k, v in arr.items()}


_sizes = {}


def sizes_of(net):
    if net.path not in _sizes:
        _sizes[net.path] = net.mask_sizes(torch.zeros(1, 1, 28, 28, dtype=net.dtype))
    return _sizes[net.path]


def optimise(prob, iterations, f, fix_negative=0):
    dt = prob.x.dtype
    if prob.path:
        p0, n0, contrib = prob.contribution_start()
        thp = [v.clone().requires_grad_(True) for v in p0]
        thn = [v.clone().requires_grad_(True) for v in n0]
    else:
        contrib = None
        thp = [torch.full((s,), THETA0, dtype=dt, requires_grad=True)
               for s in sizes_of(prob.net)]
        thn = [torch.full((s,), THETA0, dtype=dt, requires_grad=True)
               for s in sizes_of(prob.net)]
    # The negative set fixed: theta- is no parameter of the optimiser.
    opt = torch.optim.Adam(thp if fix_negative else thp + thn, lr=LR, betas=BETAS,
                           eps=ADAM_EPS)
    curve, tcurve = [], []
    if prob.G > 1:   # round robin: every copy's maps at the start masks
        with torch.no_grad():
            mp = [torch.sigmoid(v) for v in thp]
            mn = [torch.sigmoid(v) for v in thn]
        with torch.enable_grad():
            _, _, Wps, Wns = prob.evaluate(mp, mn, False)
        prob.stale = [[w.detach() for w in Wps], [w.detach() for w in Wns]]
    t0 = time.time()
    for i in range(iterations):
        opt.zero_grad()
        mp = [torch.sigmoid(v) for v in thp]
        mn = [torch.sigmoid(v) for v in thn]
        prob.group = i % prob.G if prob.G > 1 else None
        loss, terms, _, _ = prob.evaluate(mp, mn, True)
        prob.group = None
        curve.append(float(loss))
        tcurve.append([float(v) for v in terms])
        loss.backward()
        opt.step()
    secs = (time.time() - t0) / max(iterations, 1)
    fin, arr = prob.finals(thp, thn, f)
    return dict(curve=curve, terms_curve=tcurve, final=fin, arrays=arr, sec_per_it=secs,
                contrib=contrib)


def fd_check(prob, picks, h=1e-4):
    """d loss/d theta at theta = 2 (float64): autograd vs central FD."""
    dt = prob.x.dtype
    sizes = sizes_of(prob.net)
    total = sum(sizes)

    def loss_at(flat, grad=False):
        th = flat.clone().requires_grad_(grad)
        parts = list(torch.split(th, sizes + sizes))
        mp = [torch.sigmoid(v) for v in parts[:len(sizes)]]
        mn = [torch.sigmoid(v) for v in parts[len(sizes):]]
        loss, _, _, _ = prob.evaluate(mp, mn, grad)
        if grad:
            (g,) = torch.autograd.grad(loss, th)
            return float(loss), g
        return float(loss)

    base = torch.full((2 * total,), THETA0, dtype=dt)
    _, g = loss_at(base, True)
    scale = float(g.abs().max())
    out = []
    for p in picks:
        e = torch.zeros_like(base)
        e[p] = h
        est = (loss_at(base + e) - loss_at(base - e)) / (2 * h)
        ad = float(g[p])
        out.append(dict(index=int(p), set="pos" if p < total else "neg", fd=est,
                        autograd=ad, err_over_max_abs=abs(est - ad) / max(scale, 1e-300)))
    return dict(step=h, max_abs_grad=scale, picks=out,
                max_err_over_max_abs=max(d["err_over_max_abs"] for d in out))


def pearson(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def build(net, x, t, case, eps):
    """Problem for net's dtype; gates always from the float32 forward."""
    dt = net.dtype
    if case["path"] > 0:
        K = case["path"]
        copies32 = [x * np.float32((k + 0.5) / K) for k in range(K)]
    elif case["samples"] > 1:
        copies32 = [x + eps[k:k + 1] for k in range(case["samples"])]
    else:
        copies32 = [x]
    recs = []
    for xk in copies32:
        with torch.no_grad():
            _, _, rec = net32_for(net.path).run(xk, record=True)
        recs.append({k: v for k, v in rec.items() if not isinstance(k, tuple)})
    copies = [xk.to(dt) for xk in copies32]
    return Problem(net, x.to(dt), t, copies, recs, PRESETS[case["preset"]],
                   path=case["path"] > 0, refresh=case["refresh"])


_net32 = {}


def net32_for(path):
    if path not in _net32:
        _net32[path] = G.OnnxNet(path)
    return _net32[path]


def run_case(case, out, do64):
    name = case["name"]
    print("%s (%s, %s, %d its, K=%d, preset %s)" % (name, case["model"], case["png"],
                                                     case["iterations"], case["samples"],
                                                     case["preset"]), flush=True)
    path = os.path.join(REPO, case["model"])
    net = net32_for(path)
    x = torch.from_numpy(load_input(case))
    ref = np.load(os.path.join(G.FWD_DIR, "%s_samples.input.npy" % os.path.basename(
        case["model"])[:-5]))[case["image_index"]:case["image_index"] + 1]
    assert np.array_equal(ref, x.numpy()), "PNG preprocessing differs from the forward fixture"
    with torch.no_grad():
        logits, _, _ = net.run(x)
    t = int(logits[0].argmax())
    f = float(logits[0, t])
    eps, noise = (make_noise(x, case) if case["samples"] > 1 else (None, None))

    prob = build(net, x, t, case, eps)
    g, _ = G.input_grad(net, x, t)
    w1_err = float((prob.W1[0] - g).abs().max()) if (
        case["samples"] == 1 and case["path"] == 0) else None
    r32 = optimise(prob, case["iterations"], f, case["fix_negative"])

    info = dict(case=name, model=case["model"], png=case["png"],
                image_index=case["image_index"],
                preprocessing="v/255, (v - 0.2860)/0.3530 (float32)",
                input_shape=list(x.shape), target=t, logits=[float(v) for v in logits[0]],
                iterations=case["iterations"], samples=case["samples"],
                sigma=case["sigma"], seed=case["seed"], preset=case["preset"],
                path_steps=case["path"], path_refresh=case["refresh"],
                fix_negative=case["fix_negative"],
                weights=PRESETS[case["preset"]], theta0=THETA0,
                adam=dict(lr=LR, betas=list(BETAS), eps=ADAM_EPS, impl="torch %s Adam"
                          % torch.__version__),
                mask_layers=[dict(node=net.nodes[i].name, op=net.nodes[i].op_type,
                                  value=net.nodes[i].output[0], size=s)
                             for i, s in zip(net.mask_nodes, sizes_of(net))],
                mask_total=sum(sizes_of(net)),
                noise=noise, W_ones_vs_grad_max_abs=w1_err,
                final_names=FINAL_NAMES,
                final=dict(zip(FINAL_NAMES, r32["final"])),
                loss_first=r32["curve"][0], loss_min=min(r32["curve"]),
                loss_min_iteration=int(np.argmin(r32["curve"])),
                loss_increases=int(sum(b > a for a, b in zip(r32["curve"], r32["curve"][1:]))),
                term_names=TERMS,
                terms_first=dict(zip(TERMS, r32["terms_curve"][0])),
                timing=dict(sec_per_iteration_f32=r32["sec_per_it"],
                            threads=torch.get_num_threads()))
    fin = info["final"]
    info["final"]["bias_part"] = fin["f"] - fin["F"]
    info["final"]["mask_pos_mean"] = float(r32["arrays"]["m_pos"].mean())
    info["final"]["mask_neg_mean"] = float(r32["arrays"]["m_neg"].mean())
    info["final"]["mask_pos_below_0.5"] = int((r32["arrays"]["m_pos"] < 0.5).sum())
    info["final"]["mask_neg_below_0.5"] = int((r32["arrays"]["m_neg"] < 0.5).sum())

    if do64:
        net64 = G.OnnxNet(path).to(torch.float64)
        prob64 = build(net64, x, t, case, eps)
        r64 = optimise(prob64, case["iterations"], f, case["fix_negative"])
        cond = {k: pearson(r32["arrays"][k].numpy(), r64["arrays"][k].numpy())
                for k in r32["arrays"]}
        cond["min"] = min(cond.values())
        l32, l64 = r32["final"][5], r64["final"][5]
        cond["final_loss_rel_diff"] = abs(l32 - l64) / max(abs(l64), 1e-300)
        c32, c64 = np.array(r32["curve"]), np.array(r64["curve"])
        cond["loss_curve_max_rel_diff"] = float((np.abs(c32 - c64) /
                                                 np.maximum(np.abs(c64), 1e-300)).max())
        cond["maps_max_abs_diff_over_max_abs"] = {
            k: float((r32["arrays"][k].double() - r64["arrays"][k]).abs().max() /
                     r64["arrays"][k].abs().max())
            for k in ("w_pos", "w_neg", "a_pos", "a_neg", "nuisance")}
        info["f64"] = dict(final=dict(zip(FINAL_NAMES, r64["final"])),
                           loss_first=r64["curve"][0],
                           sec_per_iteration=r64["sec_per_it"])
        info["conditioning"] = cond
        tot = sum(sizes_of(net))
        picks = sorted(set([0, tot - 1, tot, 2 * tot - 1] + [
            int(v) for v in np.random.default_rng(5).choice(2 * tot, 4, replace=False)]))
        info["fd_check"] = fd_check(prob64, picks)

    arrays = dict(input=x, **r32["arrays"],
                  loss_curve=torch.tensor(r32["curve"]),
                  terms_curve=torch.tensor(r32["terms_curve"]),
                  final=torch.tensor(r32["final"], dtype=torch.float64))
    if eps is not None:
        arrays["noise"] = eps.reshape(-1)
    if r32["contrib"] is not None:
        arrays["contribution"] = r32["contrib"]
        info["start_pos_masks_on"] = int((r32["contrib"] > 0).sum())
        info["start_neg_masks_on"] = int((r32["contrib"] < 0).sum())
    info["files"] = {}
    for k, a in arrays.items():
        a = np.ascontiguousarray(a.detach().numpy().astype(np.float32))
        fn = "%s.%s.npy" % (name, k)
        np.save(os.path.join(out, fn), a)
        info["files"][k] = dict(file=fn, shape=list(a.shape), dtype=str(a.dtype))
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump(info, fh, indent=1)

    print("  target %d  f %.4f  F %.4f  F+ %.4f  F- %.4f  Fn %.4f" %
          (t, fin["f"], fin["F"], fin["F_pos"], fin["F_neg"], fin["F_nuisance"]))
    print("  loss it0 %.6f -> final %.6f (min %.6f at it %d, %d increases)  terms %s" %
          (info["loss_first"], fin["loss"], info["loss_min"], info["loss_min_iteration"],
           info["loss_increases"],
           " ".join("%s=%.4g" % (n, fin[m]) for n, m in zip(
               TERMS, ["completeness", "sign", "nuisance_term", "evidence", "sparsity"]))))
    print("  masks<0.5: +%d -%d of %d   %.3f s/it (f32)" %
          (fin["mask_pos_below_0.5"], fin["mask_neg_below_0.5"], info["mask_total"],
           r32["sec_per_it"]))
    if do64:
        c = info["conditioning"]
        print("  f32 vs f64 pearson: " + " ".join("%s %.6f" % (k, c[k]) for k in
                                                   r32["arrays"]) +
              "; final loss rel %.2e; fd check %.1e" %
              (c["final_loss_rel_diff"], info["fd_check"]["max_err_over_max_abs"]),
              flush=True)
    return "%s %s %s %d %d %g %d %s %d %d" % (name, case["model"], case["png"],
                                              case["iterations"], case["samples"],
                                              case["sigma"], case["seed"], case["preset"],
                                              case["path"], case["fix_negative"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="case names to (re)generate")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=OUT, help="default tests/ref/data/dmbp")
    ap.add_argument("--no-f64", action="store_true", help="skip the float64 runs")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    lines = []
    for c in case_list():
        if args.only and c["name"] not in args.only:
            continue
        lines.append(run_case(c, args.out, not args.no_f64))
    cases_txt = os.path.join(args.out, "cases.txt")
    if args.only and os.path.exists(cases_txt):
        # The cases redone replace their lines (new ones go at the end).
        new = {ln.split()[0]: ln for ln in lines}
        old = [ln.rstrip("\n") for ln in open(cases_txt) if not ln.startswith("#")]
        kept = [new.pop(ln.split()[0], ln) for ln in old if ln.strip()]
        lines = kept + list(new.values())
    with open(cases_txt, "w") as fh:
        fh.write("# DMBP optimiser fixtures (tests/ref/make_dmbp_fixtures.py).\n"
                 "# <case> <model> <sample png> <iterations> <samples> <sigma> "
                 "<seed> <preset> <path_steps> <fix_negative>\n"
                 "# Files: <case>.json and <case>.<name>.npy in this directory.\n")
        fh.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print("%s: %.2f MB" % (args.out, total / 1e6))


if __name__ == "__main__":
    main()
