#!/usr/bin/python3
"""Reference LRP (#24 item 1) in PyTorch, written from the rules' formulas
(libdmbp(3) "Layer-wise relevance propagation", issue #24), not from
libdmbp's C code.

    /usr/bin/python3 tests/ref/lrp_torch.py            # the fixtures
    (imported by tests/ref/torchvision_lrp.py, the slow tier)

It writes tests/ref/data/lrp/ (cases.txt and .npy maps, about 0.5 MB, a
few seconds). The ONNX graph runs in float64 on an interpreter of its own
(torch functional ops); BatchNormalization after a Conv (that Conv's only
reader) is merged into its weights first (Zennit's canonizer); Dropout and
Identity are dropped. Relevance starts as R = f_t(x) e_t at the logits (the
input of a final Softmax) and walks the nodes backwards; each rule is the
"gradient trick": for a layer z = f(a') with modified inputs a' and
weights W', the relevance of a' is a' * d/da' <z, stopgrad(R / stab(z))>
by torch.autograd.grad, stab(z) = z + eps * (1 if z >= 0 else -1):

  epsilon   a' = a, W' = W, with the bias
  gamma     W' = W + gamma W+, bias b + gamma b+
  zplus     a' = a+, W' = W+, no bias
  alpha-beta  alpha (a+ W+ + a- W-) - beta (a+ W- + a- W+): each pair is one
            z (no bias), each term's input gets its share of that z
  flat      a' = 1, W' = 1, no bias (relevance over the receptive field)
  zbox      z = f(a; W) - f(l; W+) - f(h; W-) (no bias), R_in = a g_a -
            l g_l - h g_h; l, h = (0 - mean)/std and (1 - mean)/std per
            channel (the image's 0 and 1 after normalisation)
  Relu, LeakyRelu, Clip, Sigmoid, Tanh: R passes through
  MaxPool   R goes where autograd's max pooling gradient goes (the first
            maximum)
  AveragePool, GlobalAveragePool, Add: R_i = a_i * d/da_i <z, R / stab(z)>
  Flatten, Reshape, Concat: R routed back to the input elements
  BatchNormalization after no Conv: a linear layer under epsilon

Composites (Zennit's names; "first" = the first Conv/Gemm/MatMul in node
order, "conv" = Conv, "dense" = Gemm/MatMul):
  epsilon                epsilon everywhere
  epsilon-plus           zplus on conv, epsilon on dense
  epsilon-plus-flat      as epsilon-plus, flat on first
  epsilon-gamma-box      zbox on first, gamma on conv, epsilon on dense
  epsilon-alpha2-beta1   alpha 2 beta 1 on conv, epsilon on dense
  epsilon-alpha1-beta0   alpha 1 beta 0 on conv, epsilon on dense

cases.txt: <case> <model> <target> <composite> <epsilon> <gamma> <array>
<conservation> <cond> <cond_c>, conservation = sum(map) / f_t(x) in
float64; cond = max|map32 - map| / max|map| and cond_c = |cons32 - cons| /
max(1, |cons|), the same reference run in float32 against float64: how far
float32 arithmetic itself lands from the exact rules. LRP with a small
epsilon divides by sums that cancel (z near 0 at residual Adds and under
zplus), so on the residual models any float32 implementation, PyTorch's
included, is up to ~1e-2 away; the C test allows 2 cond on top of 1e-4,
as the IG fixtures do (tests/ref/make_grad_fixtures.py).
<case>.input.npy the preprocessed image, <case>.<array>.npy the map (1 x
C x H x W float32).
"""

import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "data", "lrp")
EPSILON, GAMMA = 1e-6, 0.25
COMPOSITES = ["epsilon", "epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box",
              "epsilon-alpha2-beta1", "epsilon-alpha1-beta0"]
PASS = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"}
VIEW = {"Flatten", "Reshape", "Squeeze", "Unsqueeze"}
LINEAR = {"Conv", "Gemm", "MatMul"}

# (case, model, image)
CASES = [
    ("fmnist_vgg_7", "models/fmnist_vgg.onnx", "models/samples/sneaker.png"),
    ("fmnist_resnet_0", "models/fmnist_resnet.onnx", "models/samples/tshirt.png"),
    ("evidence_cnn_3", "models/evidence_cnn.onnx", "models/evidence/test_00003.png"),
    ("evidence_vgg_0", "models/evidence_vgg.onnx", "models/evidence/test_00000.png"),
    ("evidence_resnet_1", "models/evidence_resnet.onnx", "models/evidence/test_00001.png"),
]
# Reduced-width torchvision families (tests/ref/data, row 0 of their inputs,
# ImageNet's mean and std): the rules the shipped models do not reach
# (BatchNormalization after no Conv, Concat, AveragePool, Pad, Transpose,
# Slice, ReduceMean, Clip, grouped convolutions, ceil-mode pooling).
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SMALL = ["densenet_small_op14", "shufflenet_v2_small_op13", "mnasnet_small_op13",
         "mobilenet_v2_small_op12", "googlenet_small_op13", "squeezenet_small_op10"]
SMALL_COMPOSITES = ["epsilon", "epsilon-plus-flat", "epsilon-alpha2-beta1",
                    "epsilon-gamma-box"]
# Left out: mnasnet_small under epsilon. Its relevance cancels to a map of
# 7e-7 at most for a logit of order 1 (conservation -5e-7): libdmbp is
# 5.8e-10 from float64 there (8e-4 of that map's largest value), PyTorch
# float32 3e-11; the map is rounding-dominated, not a test of a rule.
SMALL_SKIP = {("mnasnet_small_op13", "epsilon")}
# Non-default epsilon and gamma, to check that the options reach the rules.
EXTRA = [("fmnist_resnet_0", "epsilon", 0.1, GAMMA),
         ("evidence_cnn_3", "epsilon-gamma-box", EPSILON, 1.0)]


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def stab(z, eps):
    return z + eps * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))


class Net:
    def __init__(self, path, dtype=torch.float64):
        g = onnx.load(path).graph
        self.p = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        self.nodes, alias = [], {}
        for n in g.node:
            if n.op_type == "Constant":
                self.p[n.output[0]] = torch.from_numpy(numpy_helper.to_array(n.attribute[0].t).copy())
            elif n.op_type in ("Dropout", "Identity"):
                alias[n.output[0]] = alias.get(n.input[0], n.input[0])
            else:
                n2 = onnx.NodeProto()
                n2.CopyFrom(n)
                for i, v in enumerate(n2.input):
                    n2.input[i] = alias.get(v, v)
                self.nodes.append(n2)
        self.dtype = dtype
        for k, v in self.p.items():
            if v.is_floating_point():
                self.p[k] = v.to(dtype)
        self.input = [i.name for i in g.input if i.name not in self.p][0]
        out = alias.get(g.output[0].name, g.output[0].name)
        last = [n for n in self.nodes if out in n.output][0]
        self.logits = last.input[0] if last.op_type == "Softmax" else out
        self.canonize()

    def consumers(self, v):
        return [n for n in self.nodes if v in n.input]

    def canonize(self):
        """BatchNormalization merged into the Conv before it."""
        keep = []
        prod = {o: n for n in self.nodes for o in n.output}
        for n in self.nodes:
            if n.op_type == "BatchNormalization":
                c = prod.get(n.input[0])
                if c is not None and c.op_type == "Conv" and len(self.consumers(c.output[0])) == 1:
                    gam, beta, mean, var = (self.p[v] for v in n.input[1:5])
                    s = gam / torch.sqrt(var + attrs(n).get("epsilon", 1e-5))
                    W = self.p[c.input[1]] * s.reshape(-1, *[1] * (self.p[c.input[1]].dim() - 1))
                    b = self.p[c.input[2]] if len(c.input) > 2 and c.input[2] else torch.zeros_like(mean)
                    wn, bn = c.name + "/canon_w", c.name + "/canon_b"
                    self.p[wn], self.p[bn] = W, (b - mean) * s + beta
                    x_in = c.input[0]
                    del c.input[:]
                    c.input.extend([x_in, wn, bn])
                    c.output[0] = n.output[0]
                    continue
            keep.append(n)
        self.nodes = keep

    # ---- forward ---------------------------------------------------------
    def linear_fn(self, n):
        """z = fn(x, W, b) for a Conv, Gemm, MatMul or BatchNormalization."""
        a = attrs(n)
        if n.op_type == "Conv":
            k = len(self.p[n.input[1]].shape) - 2
            pads = a.get("pads", [0] * 2 * k)
            st, dil, grp = a.get("strides", [1] * k), a.get("dilations", [1] * k), a.get("group", 1)
            assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")

            def fn(x, W, b):
                if k == 2:
                    x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
                    return F.conv2d(x, W, b, st, 0, dil, grp)
                x = F.pad(x, (pads[0], pads[1]))
                return F.conv1d(x, W, b, st, 0, dil, grp)
            return fn
        if n.op_type == "Gemm":
            al, be, tb = a.get("alpha", 1.0), a.get("beta", 1.0), a.get("transB", 0)

            def fn(x, W, b):
                y = al * (x @ (W.t() if tb else W))
                return y + be * b if b is not None else y
            return fn
        if n.op_type == "MatMul":
            return lambda x, W, b: x @ W
        if n.op_type == "BatchNormalization":
            def fn(x, W, b):
                shape = [1, -1] + [1] * (x.dim() - 2)
                y = x * W.reshape(shape)
                return y + b.reshape(shape) if b is not None else y
            return fn
        raise ValueError(n.op_type)

    def weights(self, n):
        if n.op_type == "BatchNormalization":
            gam, beta, mean, var = (self.p[v] for v in n.input[1:5])
            s = gam / torch.sqrt(var + attrs(n).get("epsilon", 1e-5))
            return s, beta - mean * s
        W = self.p[n.input[1]]
        b = self.p[n.input[2]] if len(n.input) > 2 and n.input[2] else None
        return W, b

    def node_fwd(self, n, ins):
        a, t = attrs(n), n.op_type
        x = ins[0]
        if t in ("Conv", "Gemm", "MatMul", "BatchNormalization"):
            W, b = self.weights(n)
            return self.linear_fn(n)(x, W, b)
        if t == "Relu":
            return F.relu(x)
        if t == "LeakyRelu":
            return F.leaky_relu(x, a.get("alpha", 0.01))
        if t == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", -np.inf)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", np.inf)
            return torch.clamp(x, float(lo), float(hi))
        if t == "Sigmoid":
            return torch.sigmoid(x)
        if t == "Tanh":
            return torch.tanh(x)
        if t in ("MaxPool", "AveragePool"):
            k = a["kernel_shape"]
            pads = a.get("pads", [0] * 2 * len(k))
            st = a.get("strides", [1] * len(k))
            assert pads[:2] == pads[2:], "asymmetric pooling pads"
            if t == "MaxPool":
                return F.max_pool2d(x, k, st, pads[:2], a.get("dilations", [1, 1]),
                                    ceil_mode=bool(a.get("ceil_mode", 0)))
            return F.avg_pool2d(x, k, st, pads[:2], ceil_mode=bool(a.get("ceil_mode", 0)),
                                count_include_pad=bool(a.get("count_include_pad", 0)))
        if t == "GlobalAveragePool":
            return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
        if t == "Add":
            return ins[0] + ins[1]
        if t == "Flatten":
            ax = a.get("axis", 1)
            return x.reshape(int(np.prod(x.shape[:ax])), -1)
        if t == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return x.reshape(shape)
        if t == "Concat":
            return torch.cat([i.reshape(1) if i.dim() == 0 else i for i in ins], a["axis"])
        if t == "Softmax":
            return torch.softmax(x, a.get("axis", -1))
        if t == "Pad":
            pads = [int(v) for v in (ins[1] if len(ins) > 1 else a["pads"])]
            k = x.dim()
            value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
            tp = []
            for d in reversed(range(k)):
                tp += [pads[d], pads[d + k]]
            return F.pad(x, tp, value=value)
        if t == "Transpose":
            return x.permute(*a.get("perm", list(reversed(range(x.dim())))))
        if t == "Slice":
            starts, ends = [int(v) for v in ins[1]], [int(v) for v in ins[2]]
            axes = [int(v) for v in ins[3]] if len(ins) > 3 and ins[3] is not None \
                else list(range(len(starts)))
            steps = [int(v) for v in ins[4]] if len(ins) > 4 and ins[4] is not None \
                else [1] * len(starts)
            idx = [slice(None)] * x.dim()
            for st, en, ax, sp in zip(starts, ends, axes, steps):
                n = x.shape[ax]
                st = max(0, min(n, st + n if st < 0 else st))
                en = max(0, min(n, en + n if en < 0 else en))
                idx[ax] = slice(st, en, sp)
            return x[tuple(idx)]
        if t == "ReduceMean":
            return x.mean(dim=tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
        if t == "Shape":
            return torch.tensor(x.shape, dtype=torch.int64)
        if t == "Gather":
            return torch.index_select(x, a.get("axis", 0), ins[1].reshape(-1)).reshape(
                list(x.shape[:a.get("axis", 0)]) + list(ins[1].shape) +
                list(x.shape[a.get("axis", 0) + 1:]))
        if t == "Cast":
            return x.to({7: torch.int64, 1: self.dtype, 6: torch.int32}[a["to"]])
        if t in ("Mul", "Div", "Sub"):
            if not x.is_floating_point() and t == "Div":
                return torch.div(x, ins[1], rounding_mode="trunc")
            return {"Mul": torch.mul, "Div": torch.div, "Sub": torch.sub}[t](x, ins[1])
        if t == "Unsqueeze":
            axes = a["axes"] if "axes" in a else [int(v) for v in ins[1]]
            for ax in sorted(axes):
                x = x.unsqueeze(ax)
            return x
        if t == "Squeeze":
            axes = a["axes"] if "axes" in a else [int(v) for v in ins[1]]
            for ax in sorted(axes, reverse=True):
                x = x.squeeze(ax)
            return x
        raise NotImplementedError(t)

    def forward(self, x):
        """Every value; those in self.acts (name -> tensor: another
        implementation's activations, e.g. dmbp's float32 ones from
        tests/lrp_trace) replace the computed ones, so that the rules run on
        them (and max pooling picks their winners)."""
        env = dict(self.p)
        env[self.input] = x
        acts = getattr(self, "acts", None) or {}
        for n in self.nodes:
            ins = [env[v] if v else None for v in n.input]
            y = self.node_fwd(n, ins)
            a = acts.get(n.output[0])
            env[n.output[0]] = y if a is None else a.to(self.dtype).reshape(y.shape)
        return env

    # ---- relevance -------------------------------------------------------
    def lrp(self, x, target, composite, eps=EPSILON, gamma=GAMMA, low=None, high=None):
        env = self.forward(x)
        f = env[self.logits][0, target]
        R = {self.logits: torch.zeros_like(env[self.logits])}
        R[self.logits][0, target] = f
        first = next(n for n in self.nodes if n.op_type in LINEAR)
        for n in reversed(self.nodes):
            if n.output[0] not in R:
                continue
            Ro = R.pop(n.output[0])
            ins = [env[v] if v else None for v in n.input]
            rin = self.rule(n, ins, env[n.output[0]], Ro, composite, eps, gamma,
                            n is first, low, high)
            for v, r in zip(n.input, rin):
                if r is not None and v not in self.p:
                    R[v] = R[v] + r if v in R else r
        return R[self.input], float(f)

    def rule(self, n, ins, z, Ro, composite, eps, gamma, first, low, high):
        t = n.op_type
        a = ins[0]
        # With another implementation's activations (self.acts), a rule
        # that divides by the layer's own output (epsilon with the layer's
        # weights and bias, the proportional sums) takes that output as it
        # is, as the forward pass made it, not recomputed from the inputs.
        zf = z if n.output[0] in (getattr(self, "acts", None) or {}) else None
        if t in PASS:
            return [Ro]
        if t in VIEW:
            return [Ro.reshape(a.shape)]
        if t == "Concat":
            sizes = [i.shape[attrs(n)["axis"]] for i in ins]
            return list(torch.split(Ro, sizes, attrs(n)["axis"]))
        if t in ("MaxPool", "Pad", "Transpose", "Slice"):
            # The gradient of a selection or movement routes R back.
            a_ = a.clone().requires_grad_()
            (g,) = torch.autograd.grad(self.node_fwd(n, [a_] + ins[1:]), a_, Ro)
            return [g]
        if t in ("AveragePool", "GlobalAveragePool", "Add", "ReduceMean"):
            comp = [bool(v) and v not in self.p for v in n.input]
            xs = [i.clone().requires_grad_() if c else i for i, c in zip(ins, comp)]
            comp = comp[:1] if t == "ReduceMean" else comp
            zz = self.node_fwd(n, xs)
            s = Ro / stab((zz if zf is None else zf).detach(), eps)
            grads = torch.autograd.grad(zz, [v for v, c in zip(xs, comp) if c], s)
            out, it = [], iter(grads)
            for i, c in zip(ins, comp):
                out.append(i * next(it) if c else None)
            return out
        # linear layers
        fn = self.linear_fn(n)
        W, b = self.weights(n)
        kind = "epsilon"
        if t in LINEAR:
            if first and composite == "epsilon-plus-flat":
                kind = "flat"
            elif first and composite == "epsilon-gamma-box":
                kind = "zbox"
            elif t == "Conv":
                kind = {"epsilon": "epsilon", "epsilon-plus": "zplus",
                        "epsilon-plus-flat": "zplus", "epsilon-gamma-box": "gamma",
                        "epsilon-alpha2-beta1": "ab21", "epsilon-alpha1-beta0": "ab10"}[composite]
        return [linear_rule(fn, kind, a, W, b, Ro, eps, gamma, low, high, zf)]


def grad_of(fn, x, W, b, s):
    x_ = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(fn(x_, W, b), x_, s)
    return g


def linear_rule(fn, kind, a, W, b, R, eps, gamma, low, high, z=None):
    """z: the layer's output as given (epsilon only), else fn(a, W, b)."""
    pos, neg = W.clamp(min=0), W.clamp(max=0)
    if kind in ("epsilon", "gamma"):
        if kind == "gamma":
            W = W + gamma * pos
            b = b + gamma * b.clamp(min=0) if b is not None else None
            z = None
        s = R / stab(fn(a, W, b) if z is None else z, eps)
        return a * grad_of(fn, a, W, b, s)
    if kind == "zplus":
        ap = a.clamp(min=0)
        s = R / stab(fn(ap, pos, None), eps)
        return ap * grad_of(fn, ap, pos, None, s)
    if kind == "flat":
        one, W1 = torch.ones_like(a), torch.ones_like(W)
        s = R / stab(fn(one, W1, None), eps)
        return grad_of(fn, one, W1, None, s)
    if kind in ("ab21", "ab10"):
        alpha, beta = (2.0, 1.0) if kind == "ab21" else (1.0, 0.0)
        ap, an = a.clamp(min=0), a.clamp(max=0)
        sp = R / stab(fn(ap, pos, None) + fn(an, neg, None), eps)
        rel = alpha * (ap * grad_of(fn, ap, pos, None, sp) + an * grad_of(fn, an, neg, None, sp))
        if beta:
            sn = R / stab(fn(ap, neg, None) + fn(an, pos, None), eps)
            rel = rel - beta * (ap * grad_of(fn, ap, neg, None, sn) +
                                an * grad_of(fn, an, pos, None, sn))
        return rel
    if kind == "zbox":
        z = fn(a, W, None) - fn(low, pos, None) - fn(high, neg, None)
        s = R / stab(z, eps)
        return (a * grad_of(fn, a, W, None, s) - low * grad_of(fn, low, pos, None, s) -
                high * grad_of(fn, high, neg, None, s))
    raise ValueError(kind)


def metadata_floats(path, key):
    for p in onnx.load(path).metadata_props:
        if p.key == key:
            return [float(v) for v in p.value.split(",")]
    return None


def load_image(model, png):
    """1 x C x H x W float32: v / 255, then (v - mean) / std in float32."""
    mean = metadata_floats(model, "dmbp.mean")
    std = metadata_floats(model, "dmbp.std")
    im = np.asarray(Image.open(png))
    if im.ndim == 2:
        im = im[:, :, None]
    im = im[:, :, :len(mean)]
    v = im.astype(np.float32).transpose(2, 0, 1)[None] / np.float32(255)
    m = np.array(mean, np.float32)[None, :, None, None]
    s = np.array(std, np.float32)[None, :, None, None]
    return ((v - m) / s).astype(np.float32), mean, std


def bounds(x, mean, std):
    """zbox's l and h: the image's 0 and 1 after normalisation."""
    c = x.shape[1]
    m = torch.tensor(mean[:c] if len(mean) >= c else mean * c, dtype=torch.float64)
    s = torch.tensor(std[:c] if len(std) >= c else std * c, dtype=torch.float64)
    shape = (1, c, 1, 1)
    low = ((0 - m) / s).reshape(shape).expand(x.shape).clone()
    high = ((1 - m) / s).reshape(shape).expand(x.shape).clone()
    return low, high


def explain(net, x, target, composite, eps, gamma, mean, std):
    """The map and its conservation, in net's precision."""
    xd = torch.from_numpy(x).to(net.dtype)
    low, high = bounds(xd, mean, std)
    rel, f = net.lrp(xd, target, composite, eps, gamma, low.to(net.dtype),
                     high.to(net.dtype))
    rel = rel.detach().double()
    return rel.numpy(), float(rel.sum()) / f


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for case, model, png in CASES:
        path = os.path.join(REPO, model)
        x, mean, std = load_image(path, os.path.join(REPO, png))
        np.save(os.path.join(OUT, case + ".input.npy"), x)
        net, net32 = Net(path), Net(path, torch.float32)
        with torch.no_grad():
            t = int(net.forward(torch.from_numpy(x).double())[net.logits][0].argmax())
        runs = [(c, EPSILON, GAMMA, c) for c in COMPOSITES]
        runs += [(c, e, g, "%s_e%g_g%g" % (c, e, g)) for cs, c, e, g in EXTRA if cs == case]
        for comp, e, g, name in runs:
            rel, cons = explain(net, x, t, comp, e, g, mean, std)
            rel32, cons32 = explain(net32, x, t, comp, e, g, mean, std)
            cond = np.abs(rel32 - rel).max() / np.abs(rel).max()
            cond_c = abs(cons32 - cons) / max(1.0, abs(cons))
            np.save(os.path.join(OUT, "%s.%s.npy" % (case, name)), rel.astype(np.float32))
            lines.append("%s %s %d %s %g %g %s %.9g %.3g %.3g" % (case, model, t, comp, e, g,
                                                            name, cons, cond, cond_c))
            print(lines[-1], flush=True)
    for name in SMALL:
        model = "tests/ref/data/%s.onnx" % name
        path = os.path.join(REPO, model)
        x = np.load(os.path.join(REPO, "tests/ref/data/%s.input.npy" % name))[:1]
        x = np.ascontiguousarray(x.astype(np.float32))
        np.save(os.path.join(OUT, name + ".input.npy"), x)
        net, net32 = Net(path), Net(path, torch.float32)
        with torch.no_grad():
            f = net.forward(torch.from_numpy(x).double())[net.logits][0]
        ref = np.load(os.path.join(REPO, "tests/ref/data/%s.logits.npy" % name))[0]
        check = float(np.abs(f.numpy() - ref).max() / np.abs(ref).max())
        assert check < 1e-4, "%s: interpreter logits %.2e from the fixture" % (name, check)
        t = int(f.argmax())
        for comp in [c for c in SMALL_COMPOSITES if (name, c) not in SMALL_SKIP]:
            rel, cons = explain(net, x, t, comp, EPSILON, GAMMA, IMAGENET_MEAN, IMAGENET_STD)
            rel32, cons32 = explain(net32, x, t, comp, EPSILON, GAMMA, IMAGENET_MEAN,
                                    IMAGENET_STD)
            cond = np.abs(rel32 - rel).max() / np.abs(rel).max()
            cond_c = abs(cons32 - cons) / max(1.0, abs(cons))
            np.save(os.path.join(OUT, "%s.%s.npy" % (name, comp)), rel.astype(np.float32))
            lines.append("%s %s %d %s %g %g %s %.9g %.3g %.3g" % (name, model, t, comp, EPSILON,
                                                            GAMMA, comp, cons, cond, cond_c))
            print(lines[-1], flush=True)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# <case> <model> <target> <composite> <epsilon> <gamma> <array> "
                "<conservation> <cond> <cond_c>: tests/ref/lrp_torch.py\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
