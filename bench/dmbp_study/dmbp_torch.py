#!/usr/bin/python3
"""PyTorch DMBP for the study of issue #23: classic DMBP (dmbp-method.md
section 3) and path DMBP (section 7), plus the baselines, on an ONNX CNN
run by a small batched interpreter (Conv, BatchNormalization, Relu,
MaxPool, Add, GlobalAveragePool, AveragePool, Flatten, Gemm, Reshape).

The gated linear map L_x (section 1) is run lane by lane: lane b has its
own recorded gates / MaxPool choices and its own mask values (a mask layer
on every Conv output and every Gemm but the last).  The mapping
W(m) = d L_x(z; m)[t] / dz is torch autograd of the linear pass (z = 0:
the map is linear, so W does not depend on z), with create_graph=True when
the loss needs d/dmask: every mask gradient is autograd double-backward,
not the closed form (which it equals).

Path DMBP (section 7): copy j sits at a_j x, a_j = (j + 1/2)/K, with its own
gates; m+ and m- are shared by all copies; the maps are A+- = mean_j W_j(m+-)
* x; the loss of section 3 is applied to the aggregates (A1 = IG with K
midpoint steps).  Classic DMBP = one copy at a = 1 (x itself) and theta = 2.
"""

import re

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

TERMS = ("completeness", "sign", "nuisance", "evidence", "sparsity")
DEFAULT_W = dict(completeness=10.0, sign=3.0, nuisance=1.0, evidence=0.0, sparsity=0.01)
THETA0 = 2.0
LR, BETAS, ADAM_EPS = 0.05, (0.9, 0.999), 1e-8


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a):
    p = list(a.get("pads", [0, 0, 0, 0]))
    assert p[0] == p[2] and p[1] == p[3], "asymmetric pads"
    return [p[0], p[1]]


class Net:
    """Batched interpreter of one ONNX CNN (see the module's docstring)."""

    def __init__(self, path):
        m = onnx.load(path)
        g = m.graph
        self.meta = {p.key: p.value for p in m.metadata_props}
        self.params = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                       for t in g.initializer}
        self.nodes = list(g.node)
        self.attrs = [_attrs(n) for n in self.nodes]
        self.inp = [i.name for i in g.input if i.name not in self.params][0]
        self.out = g.output[0].name
        lin = [i for i, n in enumerate(self.nodes) if n.op_type in ("Gemm", "MatMul")]
        self.mask_nodes = [i for i, n in enumerate(self.nodes)
                           if n.op_type == "Conv" or (n.op_type == "Gemm" and i != lin[-1])]
        self.sizes = None

    def run(self, x, rec=None, linear=False, masks=None, keep_premask=None):
        """Forward.  rec: dict filled with gates/choices (if not linear) or
        read from (if linear).  masks: {node: (B, C) tensor} (linear only).
        keep_premask: dict receiving {node: pre-mask output}."""
        env = dict(self.params)
        env[self.inp] = x
        for i, node in enumerate(self.nodes):
            a, op = self.attrs[i], node.op_type
            ins = [env[n] if n else None for n in node.input]
            if op == "Conv":
                b = None if linear or len(ins) < 3 else ins[2]
                y = F.conv2d(ins[0], ins[1], b, stride=a.get("strides", [1, 1]),
                             padding=_pads(a), dilation=a.get("dilations", [1, 1]),
                             groups=a.get("group", 1))
            elif op == "BatchNormalization":
                eps = a.get("epsilon", 1e-5)
                if linear:
                    y = ins[0] * (ins[1] / torch.sqrt(ins[4] + eps)).view(1, -1, 1, 1)
                else:
                    y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, eps)
            elif op == "Relu":
                if linear:
                    y = rec[i] * ins[0]
                else:
                    rec[i] = (ins[0] > 0).to(ins[0].dtype)
                    y = torch.relu(ins[0])
            elif op == "MaxPool":
                u = ins[0]
                if linear:
                    idx = rec[i]
                    y = u.flatten(2).gather(2, idx.flatten(2)).view(idx.shape)
                else:
                    y, idx = F.max_pool2d(u, a["kernel_shape"], a.get("strides", [1, 1]),
                                          _pads(a), ceil_mode=bool(a.get("ceil_mode", 0)),
                                          return_indices=True)
                    rec[i] = idx
            elif op == "AveragePool":
                y = F.avg_pool2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), _pads(a),
                                 ceil_mode=bool(a.get("ceil_mode", 0)),
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = ins[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = ins[0].reshape(ins[0].shape[0], -1)
            elif op == "Reshape":
                shape = [int(v) for v in ins[1]]
                shape = [ins[0].shape[j] if v == 0 else v for j, v in enumerate(shape)]
                y = ins[0].reshape(shape)
            elif op == "Gemm":
                A, B = ins[0], ins[1]
                if a.get("transA", 0):
                    A = A.t()
                if a.get("transB", 0):
                    B = B.t()
                y = a.get("alpha", 1.0) * (A @ B)
                if len(ins) > 2 and ins[2] is not None and not linear:
                    y = y + a.get("beta", 1.0) * ins[2]
            elif op == "Add":
                y = ins[0] + ins[1]
            else:
                raise NotImplementedError(op)
            if linear and masks is not None and i in masks:
                if keep_premask is not None:
                    keep_premask[i] = y
                m = masks[i]
                y = y * m.view(m.shape[0], m.shape[1], *([1] * (y.dim() - 2)))
            env[node.output[0]] = y
        return env[self.out]

    def mask_sizes(self, x):
        if self.sizes is None:
            sizes = {}
            with torch.no_grad():
                env_rec = {}
                self.run(x[:1], rec=env_rec)
                keep = {}
                self.run(torch.zeros_like(x[:1]), rec=env_rec, linear=True,
                         masks={i: torch.ones(1, 1) for i in self.mask_nodes},
                         keep_premask=keep)
            for i in self.mask_nodes:
                sizes[i] = int(keep[i].shape[1])
            self.sizes = [sizes[i] for i in self.mask_nodes]
        return self.sizes

    # -- gradients ---------------------------------------------------------
    def grad(self, xb, t):
        """d f_t / dx for every row of xb (plain autograd; ReLU' = 1[u>0])."""
        xb = xb.detach().clone().requires_grad_(True)
        y = self.run(xb, rec={})
        (g,) = torch.autograd.grad(y[:, t].sum(), xb)
        return g

    def record(self, xb):
        rec = {}
        with torch.no_grad():
            logits = self.run(xb, rec=rec)
        return rec, logits

    def mapping(self, rec, masks, t, shape, create_graph):
        """W(m) per lane: rec and masks have the lanes' batch size."""
        z = torch.zeros(shape, requires_grad=True)
        y = self.run(z, rec=rec, linear=True, masks=masks)
        (W,) = torch.autograd.grad(y[:, t].sum(), z, create_graph=create_graph)
        return W


def tile_rec(rec, reps):
    """Lanes [copy 0..K-1] -> [set 0 copies..., set 1 copies...]."""
    return {k: v.repeat(reps, *([1] * (v.dim() - 1))) for k, v in rec.items()}


def masks_of(net, thetas, K):
    """thetas: list of (S, C_l) tensors for S mask sets -> {node: (S*K, C)}."""
    out = {}
    for node, th in zip(net.mask_nodes, thetas):
        m = torch.sigmoid(th)
        out[node] = m.repeat_interleave(K, dim=0)
    return out


def path_points(K, classic):
    if classic:
        return torch.ones(1)
    return (torch.arange(K, dtype=torch.float32) + 0.5) / K


def contributions(net, x, t, rec, K, masks=None):
    """c[l,k] = (1/K) sum_j sum_p delta_j z_j with V = x: the derivative of
    F(m) = mean_j L_{a_j x}(x; m)[t] with respect to each mask at `masks`
    (default all ones)."""
    sizes = net.mask_sizes(x)
    if masks is None:
        ms = [torch.ones(1, s, requires_grad=True) for s in sizes]
    else:
        ms = [m.detach().clone().requires_grad_(True) for m in masks]
    md = {n: m.expand(K, -1) for n, m in zip(net.mask_nodes, ms)}
    y = net.run(x.expand(K, -1, -1, -1), rec=rec, linear=True, masks=md)
    Fm = y[:, t].sum() / K
    gs = torch.autograd.grad(Fm, ms)
    return [g[0] for g in gs], float(Fm)


def _pm(cond, v):
    """+v where cond else -v (float tensor)."""
    return torch.where(cond, torch.tensor(v), torch.tensor(-v))


def start_thetas(net, x, t, rec, K, rule, theta0=THETA0):
    """(theta+, theta-) lists of (C_l,) tensors for a start rule:
      const     theta0 everywhere (classic)
      sign      per filter, +theta0 where c > 0 else -theta0 (mirrored for -)
      top       the sign split on the last mask layer only, theta0 elsewhere
      composed  sign split layer by layer from the top, each layer's
                contributions computed with the layers above already set to
                the lane's choice (0/1), so the choices compose
    """
    sizes = net.mask_sizes(x)
    if rule == "const":
        th = [torch.full((s,), theta0) for s in sizes]
        return th, [v.clone() for v in th]
    if rule in ("sign", "top"):
        c, _ = contributions(net, x, t, rec, K)
        if rule == "sign":
            tp = [_pm(v > 0, theta0) for v in c]
            tn = [_pm(v < 0, theta0) for v in c]
        else:
            tp = [torch.full((s,), theta0) for s in sizes]
            tn = [torch.full((s,), theta0) for s in sizes]
            tp[-1] = _pm(c[-1] > 0, theta0)
            tn[-1] = _pm(c[-1] < 0, theta0)
        return tp, tn
    if rule == "composed":
        out = []
        for want in (1.0, -1.0):
            hard = [torch.ones(1, s) for s in sizes]
            for l in reversed(range(len(sizes))):
                c, _ = contributions(net, x, t, rec, K, masks=hard)
                hard[l] = (want * c[l] > 0).float().view(1, -1)
            out.append([_pm(h[0] > 0, theta0) for h in hard])
        return out[0], out[1]
    raise ValueError(rule)


def neg_thetas(net, x, t, rec, K, rule, theta0=THETA0):
    """theta- for a negative-lane rule (section 8 of RESULTS.md); the
    positive lane keeps its own start:
      const       theta0 everywhere (the classic start)
      top<k>      the independent sign split (c < 0) on the last k mask
                  layers only, +theta0 (on) on the layers below
      comp        the composed split on every layer (start_thetas'
                  `composed`, negative lane only)
      comptop<k>  the composed split on the last k mask layers, the layers
                  below on
    """
    sizes = net.mask_sizes(x)
    L = len(sizes)
    if rule == "const":
        return [torch.full((s,), theta0) for s in sizes]
    m = re.fullmatch(r"(comp)?top(\d+)|comp", rule)
    if not m:
        raise ValueError(rule)
    k = L if rule == "comp" else min(int(m.group(2)), L)
    th = [torch.full((s,), theta0) for s in sizes]
    if rule.startswith("top"):
        c, _ = contributions(net, x, t, rec, K)
        for l in range(L - k, L):
            th[l] = _pm(c[l] < 0, theta0)
        return th
    hard = [torch.ones(1, s) for s in sizes]
    for l in reversed(range(L - k, L)):
        c, _ = contributions(net, x, t, rec, K, masks=hard)
        hard[l] = (c[l] < 0).float().view(1, -1)
        th[l] = _pm(c[l] < 0, theta0)
    return th


def dmbp(net, x, t, K=1, iters=200, lr=LR, weights=None, start="const", classic=False,
         theta0=THETA0, return_curve=False, neg=None, neg_theta=None):
    """Classic (classic=True: one copy at x) or path DMBP for one image
    x (1xCxHxW).  Returns dict with A+, A-, W+, W-, A1 (= W(1) x), N, masks."""
    w = dict(DEFAULT_W, **(weights or {}))
    a = path_points(K, classic)
    K = len(a)
    pts = a.view(-1, 1, 1, 1) * x
    rec, _ = net.record(pts)
    shape = (2 * K,) + tuple(x.shape[1:])
    W1 = net.mapping(rec, {n: torch.ones(K, s) for n, s in
                           zip(net.mask_nodes, net.mask_sizes(x))},
                     t, (K,) + tuple(x.shape[1:]), False).detach()
    A1 = W1.mean(0, keepdim=True) * x
    S = A1.abs().sum()
    Fv = A1.sum()
    tp, tn = start_thetas(net, x, t, rec, K, start, theta0)
    if neg is not None:
        tn = neg_thetas(net, x, t, rec, K, neg, neg_theta or theta0)
    thetas = [torch.stack([p, n]).requires_grad_(True) for p, n in zip(tp, tn)]
    rec2 = tile_rec(rec, 2)
    opt = torch.optim.Adam(thetas, lr=lr, betas=BETAS, eps=ADAM_EPS)
    curve = []

    def maps(create_graph):
        W = net.mapping(rec2, masks_of(net, thetas, K), t, shape, create_graph)
        Wp, Wn = W[:K].mean(0, keepdim=True), W[K:].mean(0, keepdim=True)
        return Wp, Wn

    for _ in range(iters):
        opt.zero_grad()
        Wp, Wn = maps(True)
        Ap, An = Wp * x, Wn * x
        Fp, Fn = Ap.sum(), An.sum()
        N = A1 - Ap - An
        ms = torch.cat([torch.sigmoid(th) for th in thetas], dim=1)
        terms = [((Fp + Fn - Fv) / S) ** 2,
                 (torch.relu(-Ap).sum() + torch.relu(An).sum()) / S,
                 N.abs().sum() / S,
                 (-Fp + Fn) / S,
                 ms[0].mean() + ms[1].mean()]
        loss = sum(w[k] * v for k, v in zip(TERMS, terms))
        if return_curve:
            curve.append(float(loss))
        loss.backward()
        opt.step()
    Wp, Wn = maps(False)
    Wp, Wn = Wp.detach(), Wn.detach()
    Ap, An = Wp * x, Wn * x
    res = dict(Wp=Wp[0], Wn=Wn[0], Ap=Ap[0], An=An[0], A1=A1[0], N=(A1 - Ap - An)[0],
               m_pos=[torch.sigmoid(th[0]).detach() for th in thetas],
               m_neg=[torch.sigmoid(th[1]).detach() for th in thetas])
    if return_curve:
        res["curve"] = curve
    return res


# -- baselines -----------------------------------------------------------
def gxi(net, x, t):
    return (net.grad(x, t) * x)[0]


def ig(net, x, t, steps=32):
    a = path_points(steps, False).view(-1, 1, 1, 1)
    g = net.grad(a * x, t).double().mean(0, keepdim=True)
    return (g * x.double()).float()[0]


def smoothgrad_x_input(net, x, t, samples=32, sigma=0.15, seed=0):
    """mean_k x_k * grad(x_k), x_k = x + N(0, (sigma (max x - min x))^2)."""
    gen = torch.Generator().manual_seed(seed)
    s = sigma * float(x.max() - x.min())
    xk = x + s * torch.randn((samples,) + tuple(x.shape[1:]), generator=gen)
    g = net.grad(xk, t)
    return (xk.double() * g.double()).mean(0).float()
