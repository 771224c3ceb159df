#!/usr/bin/python3
"""Path DMBP with the copies of the start / outputs decoupled from the
copies of each iteration (RESULTS.md section 9, issue #23's cost target).

    split-O<Kout>-K<Kit>-i<its>-<mode>[-lr<x>][-a1out][-negfix]

The start (contribution sign, dmbp_torch.start_thetas 'sign') and the
returned maps use Kout copies at the midpoints (j + 1/2)/Kout; each of the
its Adam iterations uses Kit copies only:
  fixed  the Kit midpoints (j + 1/2)/Kit, gates recorded once
  strat  Kit points drawn stratified, (j + u_j)/Kit with u_j ~ U(0, 1)
         (torch generator seeded by the image index), gates re-recorded
         at every iteration (a forward pass of Kit copies)
  rr     round robin over the Kout copies in G = ceil(Kout/Kit) groups
         (copy k in group k mod G): iteration i refreshes group i mod G;
         the loss is on the aggregate of the refreshed maps and the
         others' last (stale) maps; the refreshed copies' gradient is
         scaled by Kout / (copies in the group)
-negfix: the negative lane's logits stay at the start (its gradient is
zeroed before each Adam step), only m+ is optimised.
A1 (IG, the completeness and nuisance target) is the iteration copies'
own (fixed) or the Kout copies' (strat, rr, and fixed with -a1out).

cost(): the C engine's lane-passes / 4 ("copy-iterations"): one
iteration of one copy = its 2 lanes (m+, m-) x (backward + tangent);
forward, W(1) backward, the start's tangent and the final backward are
one pass over 2 lanes per copy each.  Classic (200 its, 1 copy) = 201.5.
"""
import torch

import dmbp_torch as D


def parse(spec):
    parts = spec.split("-")
    o = dict(Kout=8, Kit=2, its=100, mode="fixed", lr=D.LR, a1="it", negfix=False)
    for p in parts[1:]:
        if p in ("fixed", "strat", "rr"):
            o["mode"] = p
        elif p == "a1out":
            o["a1"] = "out"
        elif p == "negfix":
            o["negfix"] = True
        elif p.startswith("O"):
            o["Kout"] = int(p[1:])
        elif p.startswith("K"):
            o["Kit"] = int(p[1:])
        elif p.startswith("i"):
            o["its"] = int(p[1:])
        elif p.startswith("lr"):
            o["lr"] = float(p[2:])
        else:
            raise ValueError(spec)
    if o["mode"] != "fixed":
        o["a1"] = "out"
    return o


def cost(o):
    """Lane-passes / 4 of the C engine for spec o (see the docstring)."""
    Ko, Ki, n = o["Kout"], o["Kit"], o["its"]
    lp = 2 * Ko * 4                      # forward, W1, start tangent, final
    if o["mode"] == "fixed" and Ko != Ki:
        lp += 2 * Ki * (1 + (o["a1"] == "it"))   # forward (+ W1) of the Kit copies
    if o["mode"] == "strat":
        lp += n * 2 * Ki                 # a forward per iteration
    if o["mode"] == "rr":
        lp += 2 * Ko                     # the first W(m) of every copy
    lp += n * 2 * Ki * 2
    return lp / 4.0


def path_cost(K, its):
    return (2 * K * 4 + its * 2 * K * 2) / 4.0


def dmbp_split(net, x, t, Kout=8, Kit=2, its=100, mode="fixed", lr=D.LR, a1="it",
               seed=0, theta0=D.THETA0, negfix=False):
    w = D.DEFAULT_W
    sizes = net.mask_sizes(x)
    shp = tuple(x.shape[1:])

    def ones(K):
        return {n: torch.ones(K, s) for n, s in zip(net.mask_nodes, sizes)}

    a_out = D.path_points(Kout, False)
    rec_out, _ = net.record(a_out.view(-1, 1, 1, 1) * x)
    W1_out = net.mapping(rec_out, ones(Kout), t, (Kout,) + shp, False).detach()
    tp, tn = D.start_thetas(net, x, t, rec_out, Kout, "sign", theta0)
    thetas = [torch.stack([p, n]).requires_grad_(True) for p, n in zip(tp, tn)]
    opt = torch.optim.Adam(thetas, lr=lr, betas=D.BETAS, eps=D.ADAM_EPS)
    gen = torch.Generator().manual_seed(seed)
    A1 = W1_out.mean(0, keepdim=True) * x
    if mode == "fixed":
        a_it = D.path_points(Kit, False)
        rec_it, _ = net.record(a_it.view(-1, 1, 1, 1) * x)
        rec_it2 = D.tile_rec(rec_it, 2)
        if a1 == "it":
            W1_it = net.mapping(rec_it, ones(Kit), t, (Kit,) + shp, False).detach()
            A1 = W1_it.mean(0, keepdim=True) * x
    S, Fv = A1.abs().sum(), A1.sum()
    if mode == "rr":
        Wst = net.mapping(D.tile_rec(rec_out, 2), D.masks_of(net, thetas, Kout), t,
                          (2 * Kout,) + shp, False).detach().view(2, Kout, *shp).clone()
        group = -(-Kout // Kit)
    for i in range(its):
        opt.zero_grad()
        if mode == "fixed":
            W = net.mapping(rec_it2, D.masks_of(net, thetas, Kit), t, (2 * Kit,) + shp, True)
            Wp, Wn = W[:Kit].mean(0, keepdim=True), W[Kit:].mean(0, keepdim=True)
        elif mode == "strat":
            a = (torch.arange(Kit, dtype=torch.float32) + torch.rand(Kit, generator=gen)) / Kit
            rec, _ = net.record(a.view(-1, 1, 1, 1) * x)
            W = net.mapping(D.tile_rec(rec, 2), D.masks_of(net, thetas, Kit), t,
                            (2 * Kit,) + shp, True)
            Wp, Wn = W[:Kit].mean(0, keepdim=True), W[Kit:].mean(0, keepdim=True)
        else:
            idx = list(range(i % group, Kout, group))
            n = len(idx)
            rec = {key: v[idx] for key, v in rec_out.items()}
            W = net.mapping(D.tile_rec(rec, 2), D.masks_of(net, thetas, n), t,
                            (2 * n,) + shp, True).view(2, n, *shp)
            Wd = W.detach()
            Wg = Wd + (Kout / n) * (W - Wd)
            Wst[:, idx] = Wd
            others = Wst.sum(1) - Wd.sum(1)
            Wagg = (others + Wg.sum(1)) / Kout
            Wp, Wn = Wagg[0:1], Wagg[1:2]
        Ap, An = Wp * x, Wn * x
        Fp, Fn = Ap.sum(), An.sum()
        N = A1 - Ap - An
        ms = torch.cat([torch.sigmoid(th) for th in thetas], dim=1)
        loss = (w["completeness"] * ((Fp + Fn - Fv) / S) ** 2
                + w["sign"] * (torch.relu(-Ap).sum() + torch.relu(An).sum()) / S
                + w["nuisance"] * N.abs().sum() / S
                + w["sparsity"] * (ms[0].mean() + ms[1].mean()))
        loss.backward()
        if negfix:
            for th in thetas:
                th.grad[1].zero_()
        opt.step()
    W = net.mapping(D.tile_rec(rec_out, 2), D.masks_of(net, thetas, Kout), t,
                    (2 * Kout,) + shp, False).detach()
    Wp, Wn = W[:Kout].mean(0, keepdim=True), W[Kout:].mean(0, keepdim=True)
    A1o = W1_out.mean(0, keepdim=True) * x
    Ap, An = Wp * x, Wn * x
    return dict(Wp=Wp[0], Wn=Wn[0], Ap=Ap[0], An=An[0], A1=A1o[0], N=(A1o - Ap - An)[0])
