#!/usr/bin/python3
"""Reference fixtures for libdmbp's reverse engine and gradient methods.

Run with Debian's python3 (python3-torch, python3-onnx, numpy), from anywhere,
AFTER tests/ref/make_forward_fixtures.py (it reads the small models and their
inputs from tests/ref/data/) and after models/train.py (shipped models and
models/samples/*.png):

    /usr/bin/python3 tests/ref/make_grad_fixtures.py [--only CASE ...]

It writes tests/ref/data/grad/ (about 7.6 MB, about 20 s on 1 thread).
--out DIR and --fwd-dir DIR redirect the output and the forward-fixture
directory; --only CASE... redoes some cases without rewriting cases.txt.
Nothing here depends on libdmbp: every ONNX file is re-run by a small torch
interpreter (class OnnxNet below; node order = ONNX node order), first
checked against the logits of the forward fixtures (<case>.logits.npy, to
1e-5 relative).

Conventions
-----------
x is one preprocessed image, 1xCxHxW float32; f its logits (1x10); the
target t is argmax f(x).  The fmnist images are models/samples/<slug>.png
read as v/255, then (v - 0.2860)/0.3530 in float32 (the same rows as
tests/ref/data/fmnist_*_samples.input.npy); the other models take row 0 of
tests/ref/data/<model>.input.npy.  "image index" = the sample's class number
(fmnist) or 0; it only enters the SmoothGrad noise seed.

All gradients are float32 torch autograd through the interpreter, with these
derivative rules (the library's): ReLU gate 1[u>0]; LeakyReLU 1 if u>0 else
its slope; Clip(lo,hi) 1[lo<u<hi] (strict: torch.clamp itself would pass the
gradient at u == lo or hi); MaxPool routes to the element torch picks (first
maximum in scan order), overlapping windows accumulate.

Files, in tests/ref/data/grad/ (all .npy are float32 C order unless int64 is
said; scalars also appear in full float64 precision in <case>.json):

  cases.txt                  one line per case:
                             <case> <model> <image_index> <target> <methods>
  <case>.json                everything about the case: model, input source,
                             target, logits, parameters, seeds, value names,
                             mask layer list, check results, file list
  <case>.input.npy           x, 1xCxHxW
  <case>.logits.npy          f(x), 1x10 (interpreter, float32)
  <case>.grad.npy            df_t/dx, 1xCxHxW
                             (gxi = grad * input is not stored: the float32
                             product of the two stored arrays is exact)
  <case>.ig_<rule><n>.npy    integrated gradients, baseline x0 = 0 (all-zero
                             model input), rule in midpoint/left/right/
                             trapezoid, n steps (Captum's alphas and weights):
                             (x - x0) * sum_k w_k df_t/dx(x0 + a_k (x - x0))
  <case>.ig_<rule><n>_stats.npy  [f_t(x), f_t(x0), sum(IG), gap, cond] with
                             gap = f_t(x) - f_t(x0) - sum(IG) and cond =
                             max|IG_float32 - IG_float64| / max|IG_float64|:
                             how far float32 arithmetic itself is from the
                             exact path integral. Where a path point lies
                             within rounding of a ReLU kink, any two float32
                             implementations may differ by up to ~2 cond; the
                             C test adds that to its tolerance for this array.
  <case>.smoothgrad.npy      mean_k x_k * df_t/dx(x_k), x_k = x + eps_k
  <case>.smoothgrad_grad.npy mean_k df_t/dx(x_k)
  <case>.smoothgrad_noise.npy  eps as added (float32), flat in stream order
                             (sample 0's C*H*W values first): all K*C*H*W
                             values if at most 2^17, else only the first 2^15
                             (json: smoothgrad.noise_values_stored)
  <case>.guided.npy          guided backprop: every ReLU/LeakyReLU/Clip
                             backward multiplies by its gate and by
                             1[incoming > 0]; seed e_t at the logits
  <case>.gradcam_cam.npy     raw cam relu(sum_k a_k A_k), h x w, a_k = mean of
                             df_t/dA_k; A = output of the last Conv node, or
                             of the single Relu/LeakyRelu/Clip reading it
                             (through one BatchNormalization if present);
                             json "gradcam.layer" names the value
  <case>.gradcam.npy         cam upsampled to H x W, torch bilinear,
                             align_corners=False (not normalised)
  <case>.masks.npy           masks m, one flat array in mask-layer order (a
                             layer per Conv node, one mask per output channel,
                             and per Gemm node, one per unit, except the
                             network's last Gemm/MatMul; ONNX node order),
                             m ~ U(0.3, 1) (numpy, seeded)
  <case>.mask_sizes.npy      int64, masks per layer
  <case>.mask_V.npy          V, 1xCxHxW standard normal (numpy, seeded)
  <case>.mask_W.npy          W(m) = df_t/dx with every mask layer output u
                             replaced by m*u + (1-m)*detach(u) (forward values,
                             gates and pool choices unchanged, du = m)
  <case>.mask_dldm.npy       dl/dm for l = sum(V * W(m)), flat like masks
                             (autograd double backward, float32)
  <case>.adj_u.npy           u, 1x10 standard normal (seed at the logits)
                             (v, input-shaped, is mask_V: not stored twice)
  <case>.adj_JTu.npy         J^T u (J = df/dx at x, masks all ones)
  <case>.adj_Jv.npy          J v, 1x10
  <case>.adj_dots.npy        [<u, J v>, <J^T u, v>] (computed in float64)

J^T u and J v come from float64 copies of the network with gates and pool
choices frozen at their float32 values at x: J^T u by autograd, J v by an
independent forward pass of the gated linear map L_x (biases dropped, BN
reduced to its scale, the "tangent" pass of docs/dmbp-method.md section 2).
dl/dm is also checked in float64 (frozen gates) against central finite
differences and against the closed form sum_p delta[l,k,p] z[l,k,p] of
dmbp-method.md section 2 (z from the tangent pass on V); the errors are
printed and stored in the json.

MaxPool ties: windows whose maximum occurs more than once at x are counted
in the json ("at_x.maxpool_ties"), and the json gives how much grad changes
if the LAST maximum were taken instead ("at_x.grad_rel_diff_if_last_max",
max-abs and L2 relative).  Ties with a positive maximum occur in fmnist_vgg
(uniform image background -> identical conv outputs after ReLU): there the
reference depends on the library breaking ties like torch AND computing
those equal values bit-identically.

SmoothGrad noise: eps_k elementwise = (float)(z * sigma_abs), sigma_abs =
sigma * (max(x) - min(x)) in double from the float input; z from splitmix64
with state = seed + image_index, u = ((next() >> 11) + 1) * 2^-53, Box-Muller
z0 = sqrt(-2 ln u1) cos(2 pi u2), z1 = ... sin(...), emitted z0, z1, z0',
... as one stream: sample 0's C*H*W values first (C order), then sample 1.
x_k = x + eps_k in float32.

Case set: fmnist_{vgg,resnet}_{0,7} = models/fmnist_{vgg,resnet}.onnx on
samples/tshirt.png (image index 0) and samples/sneaker.png (index 7), all
methods (fmnist_vgg_0 also has IG with all four rules at n = 8);
vgg16_small_op17 and resnet50_small_op13, all methods; mobilenet_v2_small_op12
and densenet_small_op14: grad, guided, masks, adjoint.  IG n = 32 midpoint;
SmoothGrad K = 8, sigma = 0.15, seed = 7.
"""

import argparse
import json
import math
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
FWD_DIR = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "data", "grad")
SLUGS = ["tshirt", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530

IG_STEPS = 32
IG_ALL_RULES_STEPS = 8
SG_K, SG_SIGMA, SG_SEED = 8, 0.15, 7
SEED_MASKS, SEED_V, SEED_ADJ_U = 11, 12, 13
NOISE_FULL_MAX = 1 << 17           # smoothgrad_noise: all K*C*H*W values if
NOISE_PREFIX = 1 << 15             # at most this many, else this many

ACTS = ("Relu", "LeakyRelu", "Clip")


# --------------------------------------------------------------------------
# The SmoothGrad noise generator (the library's, bit for bit)
# --------------------------------------------------------------------------
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix64_ref(state, count):
    """Plain-Python splitmix64 (explicit masking); returns (values, state)."""
    out = []
    for _ in range(count):
        state = (state + GOLDEN) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append(z ^ (z >> 31))
    return out, state


def splitmix64_np(state, count):
    """Vectorised splitmix64: outputs 1..count from state (uint64 wraps)."""
    k = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(state & M64) + k * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def normals(seed, image_index, count):
    """count standard normals, double, from the splitmix64/Box-Muller stream."""
    state = (seed + image_index) & M64
    npairs = (count + 1) // 2
    raw = splitmix64_np(state, 2 * npairs)
    ref, _ = splitmix64_ref(state, 8)
    assert [int(v) for v in raw[:8]] == ref, "vectorised splitmix64 disagrees"
    u = ((raw >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53
    # exact: (raw >> 11) + 1 <= 2^53 is representable, scaling by 2^-53 exact
    out = np.empty(2 * npairs, dtype=np.float64)
    two_pi = 2.0 * math.pi
    for j in range(npairs):          # libm (glibc) log/sqrt/cos/sin, like C
        u1, u2 = float(u[2 * j]), float(u[2 * j + 1])
        r = math.sqrt(-2.0 * math.log(u1))
        out[2 * j] = r * math.cos(two_pi * u2)
        out[2 * j + 1] = r * math.sin(two_pi * u2)
    return out[:count]


# --------------------------------------------------------------------------
# ONNX interpreter (torch ops)
# --------------------------------------------------------------------------
def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _split_pads(pads):
    """ONNX pads [b1, b2, e1, e2] -> (symmetric torch padding, F.pad list or
    None when begin == end)."""
    n = len(pads) // 2
    if list(pads[:n]) == list(pads[n:]):
        return list(pads[:n]), None
    pad = []
    for i in reversed(range(n)):
        pad += [int(pads[i]), int(pads[i + n])]
    return [0] * n, pad


class GuidedGate(torch.autograd.Function):
    """Activation with the guided-backprop backward: g * gate * 1[g > 0]."""

    @staticmethod
    def forward(ctx, u, gate, y):
        ctx.save_for_backward(gate)
        return y.clone()

    @staticmethod
    def backward(ctx, g):
        (gate,) = ctx.saved_tensors
        return g * gate * (g > 0).to(g.dtype), None, None


class OnnxNet:
    """Runs an ONNX CNN graph with torch functional ops.

    run() modes:
      act="plain"   ordinary autograd with the library's derivative rules
      act="guided"  guided-backprop backward at every ReLU/LeakyReLU/Clip
      frozen=rec    gates and MaxPool choices taken from a record `rec` made
                    by an earlier run(record=True) (forward values unchanged)
      linear=True   the gated linear map L_x (needs frozen): no biases, BN
                    scale only, activation = gate * u, MaxPool gathers the
                    recorded choice, Pad with 0
    masks = {node index: tensor}: mask layer after that Conv/Gemm node.
    """

    def __init__(self, path):
        self.path = path
        model = onnx.load(path)
        g = model.graph
        self.params = {}
        for t in g.initializer:
            self.params[t.name] = torch.from_numpy(numpy_helper.to_array(t).copy())
        self.nodes = list(g.node)
        self.attrs = [_attrs(n) for n in self.nodes]
        self.input_name = [i.name for i in g.input if i.name not in self.params][0]
        self.output_name = g.output[0].name
        self.consumers = {}
        for i, n in enumerate(self.nodes):
            for v in n.input:
                self.consumers.setdefault(v, []).append(i)
        lin = [i for i, n in enumerate(self.nodes) if n.op_type in ("Gemm", "MatMul")]
        last_lin = lin[-1] if lin else -1
        self.mask_nodes = [i for i, n in enumerate(self.nodes)
                           if n.op_type == "Conv" or (n.op_type == "Gemm" and i != last_lin)]
        self.dtype = torch.float32

    def to(self, dtype):
        for k, v in self.params.items():
            if v.is_floating_point():
                self.params[k] = v.to(dtype)
        self.dtype = dtype
        return self

    def mask_sizes(self, x):
        """Masks per layer: Conv output channels / Gemm units."""
        with torch.no_grad():
            _, env, _ = self.run(x, keep=[self.nodes[i].output[0] for i in self.mask_nodes])
        return [int(env[self.nodes[i].output[0]].shape[1]) for i in self.mask_nodes]

    def gradcam_layer(self):
        conv = [i for i, n in enumerate(self.nodes) if n.op_type == "Conv"][-1]
        v = self.nodes[conv].output[0]
        c = self.consumers.get(v, [])
        if len(c) == 1 and self.nodes[c[0]].op_type == "BatchNormalization":
            v = self.nodes[c[0]].output[0]
            c = self.consumers.get(v, [])
        if len(c) == 1 and self.nodes[c[0]].op_type in ACTS:
            v = self.nodes[c[0]].output[0]
        return v, self.nodes[conv].name

    @staticmethod
    def _gate(op, a, u, ins):
        if op == "Relu":
            return (u > 0).to(u.dtype)
        if op == "LeakyRelu":
            al = a.get("alpha", 0.01)
            return torch.where(u > 0, torch.ones_like(u), torch.full_like(u, al))
        lo, hi = OnnxNet._clip_bounds(a, ins)
        g = torch.ones_like(u, dtype=torch.bool)
        if lo is not None:
            g = g & (u > lo)
        if hi is not None:
            g = g & (u < hi)
        return g.to(u.dtype)

    @staticmethod
    def _clip_bounds(a, ins):
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", None)
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", None)
        lo = float(lo) if lo is not None else None
        hi = float(hi) if hi is not None else None
        return lo, hi

    @staticmethod
    def _act_value(op, a, u, ins):
        if op == "Relu":
            return F.relu(u)
        if op == "LeakyRelu":
            return F.leaky_relu(u, a.get("alpha", 0.01))
        lo, hi = OnnxNet._clip_bounds(a, ins)
        return torch.clamp(u, lo, hi)

    def run(self, x, act="plain", frozen=None, record=False, masks=None,
            linear=False, keep=(), premask=None):
        """Returns (logits, env restricted to `keep`, record or None).
        premask: dict that receives {node index: pre-mask output}."""
        assert not linear or frozen is not None
        env = dict(self.params)
        data = {self.input_name}          # values that depend on x
        env[self.input_name] = x
        rec = {} if record else None
        keep = set(keep)
        for i, node in enumerate(self.nodes):
            a = self.attrs[i]
            op = node.op_type
            ins = [env[n] if n else None for n in node.input]
            isdata = [bool(n) and n in data for n in node.input]
            outs = None
            if op == "Conv":
                assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                pads, extra = _split_pads(a.get("pads", [0, 0, 0, 0]))
                xin = F.pad(ins[0], extra) if extra else ins[0]
                b = ins[2] if len(ins) > 2 and not linear else None
                y = F.conv2d(xin, ins[1], b, stride=a.get("strides", [1, 1]),
                             padding=pads, dilation=a.get("dilations", [1, 1]),
                             groups=a.get("group", 1))
            elif op == "BatchNormalization":
                eps = a.get("epsilon", 1e-5)
                if linear:
                    s = ins[1] / torch.sqrt(ins[4] + eps)
                    y = ins[0] * s.view(1, -1, *([1] * (ins[0].dim() - 2)))
                else:
                    y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0, eps)
            elif op in ACTS:
                u = ins[0]
                gate = frozen[i] if frozen is not None else self._gate(op, a, u, ins)
                if record:
                    rec[i] = gate.detach()
                if linear:
                    y = gate * u
                elif act == "guided":
                    y = GuidedGate.apply(u, gate, self._act_value(op, a, u, ins).detach())
                else:
                    # value = act(u) exactly; derivative = gate
                    y = gate * u + (self._act_value(op, a, u, ins) - gate * u).detach()
            elif op == "MaxPool":
                assert a.get("dilations", [1, 1]) in ([1, 1], (1, 1))
                assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                pads, extra = _split_pads(a.get("pads", [0, 0, 0, 0]))
                assert extra is None, "asymmetric MaxPool padding"
                u = ins[0]
                if frozen is not None:
                    idx = frozen[i]
                    y = u.flatten(2).gather(2, idx.flatten(2)).view(idx.shape)
                else:
                    y, idx = F.max_pool2d(u, a["kernel_shape"], a.get("strides", [1, 1]),
                                          pads, ceil_mode=bool(a.get("ceil_mode", 0)),
                                          return_indices=True)
                if record:
                    rec[i] = idx
                    rec[("ties", i)] = self._pool_ties(u.detach(), a, pads)
                    rec[("last", i)] = self._last_max(u.detach(), a, pads)
            elif op == "AveragePool":
                assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                pads, extra = _split_pads(a.get("pads", [0, 0, 0, 0]))
                assert extra is None, "asymmetric AveragePool padding"
                y = F.avg_pool2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), pads,
                                 ceil_mode=bool(a.get("ceil_mode", 0)),
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = ins[0].mean(dim=tuple(range(2, ins[0].dim())), keepdim=True)
            elif op == "Pad":
                mode = a.get("mode", b"constant")
                assert mode in (b"constant", "constant"), mode
                pads = [int(v) for v in ins[1]] if len(ins) > 1 else list(a["pads"])
                val = 0.0
                if len(ins) > 2 and ins[2] is not None:
                    val = float(ins[2])
                elif "value" in a:
                    val = float(a["value"])
                if linear:
                    val = 0.0
                n = len(pads) // 2
                tp = []
                for d in reversed(range(n)):
                    tp += [pads[d], pads[d + n]]
                y = F.pad(ins[0], tp, value=val)
            elif op == "Flatten":
                ax = a.get("axis", 1)
                y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
            elif op == "Reshape":
                shape = [int(v) for v in ins[1]]
                shape = [ins[0].shape[j] if v == 0 else v for j, v in enumerate(shape)]
                y = ins[0].reshape(shape)
            elif op == "Shape":
                y = torch.tensor(ins[0].shape, dtype=torch.int64)
            elif op == "Gather":
                ax = a.get("axis", 0)
                y = torch.index_select(ins[0], ax, ins[1].reshape(-1).long()).reshape(
                    ins[0].shape[:ax] + ins[1].shape + ins[0].shape[ax + 1:])
            elif op == "Unsqueeze":
                axes = a["axes"] if "axes" in a else [int(v) for v in ins[1]]
                y = ins[0]
                for ax in sorted(axes):
                    y = y.unsqueeze(ax)
            elif op == "Squeeze":
                axes = a["axes"] if "axes" in a else [int(v) for v in ins[1]]
                y = ins[0]
                for ax in sorted(axes, reverse=True):
                    y = y.squeeze(ax)
            elif op == "Concat":
                assert not linear or all(isdata) or not any(isdata)
                y = torch.cat(ins, dim=a["axis"])
            elif op == "Constant":
                y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
                if y.is_floating_point():
                    y = y.to(self.dtype)
            elif op in ("Identity", "Dropout"):
                y = ins[0]
                outs = [y, torch.ones_like(y, dtype=torch.bool)][:len(node.output)]
            elif op == "Gemm":
                A, B = ins[0], ins[1]
                if a.get("transA", 0):
                    A = A.t()
                if a.get("transB", 0):
                    B = B.t()
                y = a.get("alpha", 1.0) * (A @ B)
                if len(ins) > 2 and ins[2] is not None and not linear:
                    y = y + a.get("beta", 1.0) * ins[2]
            elif op == "MatMul":
                assert not (linear and all(isdata)), "MatMul of two data tensors"
                y = ins[0] @ ins[1]
            elif op in ("Add", "Sub"):
                if linear and isdata.count(True) == 1:
                    d = ins[isdata.index(True)]
                    shp = torch.broadcast_shapes(ins[0].shape, ins[1].shape)
                    y = torch.broadcast_to(d if isdata[0] or op == "Add" else -d, shp)
                else:
                    y = ins[0] + ins[1] if op == "Add" else ins[0] - ins[1]
            elif op == "Mul":
                assert not (linear and all(isdata)), "Mul of two data tensors"
                y = ins[0] * ins[1]
            elif op == "Softmax":
                assert not linear
                y = torch.softmax(ins[0], dim=a.get("axis", -1))
            else:
                raise NotImplementedError(op)
            if outs is None:
                outs = [y]
            if masks is not None and i in masks:
                u = outs[0]
                if premask is not None:
                    premask[i] = u
                m = masks[i].view(1, -1, *([1] * (u.dim() - 2)))
                outs[0] = m * u if linear else m * u + (1 - m) * u.detach()
            dep = any(isdata) and op != "Shape"
            for name, val in zip(node.output, outs):
                env[name] = val
                if dep:
                    data.add(name)
        out = env[self.output_name]
        return out, {k: env[k] for k in keep}, rec

    @staticmethod
    def _windows(u, a, pads):
        k, s = a["kernel_shape"], a.get("strides", [1, 1])
        ceil = bool(a.get("ceil_mode", 0))
        up = F.pad(u, [pads[1], pads[1], pads[0], pads[0]], value=-math.inf)
        if ceil:   # extra -inf row/col so that unfold sees partial windows
            up = F.pad(up, [0, s[1], 0, s[0]], value=-math.inf)
        win = up.unfold(2, k[0], s[0]).unfold(3, k[1], s[1])
        ref = F.max_pool2d(u, k, s, pads, ceil_mode=ceil)
        return win[:, :, :ref.shape[2], :ref.shape[3]], ref

    @staticmethod
    def _last_max(u, a, pads):
        """MaxPool indices (flat per channel, like torch's) taking the LAST
        maximum of each window in scan order instead of the first."""
        k, s = a["kernel_shape"], a.get("strides", [1, 1])
        win, ref = OnnxNet._windows(u, a, pads)
        flat = win.flatten(-2)
        hit = (flat == ref[..., None]).flip(-1)
        j = flat.shape[-1] - 1 - hit.to(torch.int64).argmax(-1)
        r, c = j // k[1], j % k[1]
        oh = torch.arange(ref.shape[2]).view(1, 1, -1, 1)
        ow = torch.arange(ref.shape[3]).view(1, 1, 1, -1)
        return (oh * s[0] - pads[0] + r) * u.shape[3] + (ow * s[1] - pads[1] + c)

    @staticmethod
    def _pool_ties(u, a, pads):
        """(#windows whose max occurs more than once, of those with max > 0)."""
        win, ref = OnnxNet._windows(u, a, pads)
        mx = win.amax(dim=(-1, -2))
        assert torch.equal(mx, ref)
        cnt = (win == mx[..., None, None]).sum(dim=(-1, -2))
        tie = cnt > 1
        return int(tie.sum()), int((tie & (mx > 0)).sum())


# --------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------
def input_grad(net, x, t, **kw):
    x = x.detach().clone().requires_grad_(True)
    y, _, _ = net.run(x, **kw)
    (g,) = torch.autograd.grad(y[0, t], x)
    return g, y.detach()


def ig_alphas(rule, n):
    if rule == "midpoint":
        return [(k + 0.5) / n for k in range(n)], [1.0 / n] * n
    if rule == "left":
        return [k / n for k in range(n)], [1.0 / n] * n
    if rule == "right":
        return [(k + 1) / n for k in range(n)], [1.0 / n] * n
    if rule == "trapezoid":
        w = [1.0 / (n - 1)] * n
        w[0] = w[-1] = 0.5 / (n - 1)
        return [k / (n - 1) for k in range(n)], w
    raise ValueError(rule)


def integrated_gradients(net, x, t, rule, n):
    x0 = torch.zeros_like(x)
    alphas, weights = ig_alphas(rule, n)
    acc = torch.zeros(x.shape, dtype=torch.float64)
    for al, w in zip(alphas, weights):
        xa = x0 + np.float32(al) * (x - x0)
        g, _ = input_grad(net, xa, t)
        acc += w * g.double()
    ig = (x - x0).double() * acc
    with torch.no_grad():
        fx = float(net.run(x)[0][0, t])
        f0 = float(net.run(x0)[0][0, t])
    s = float(ig.sum())
    return ig.float(), dict(rule=rule, steps=n, alphas=alphas, weights=weights,
                            f_x=fx, f_x0=f0, sum=s, gap=fx - f0 - s)


def smoothgrad(net, x, t, image_index, K=SG_K, sigma=SG_SIGMA, seed=SG_SEED):
    xd = x.double()
    sigma_abs = sigma * (float(xd.max()) - float(xd.min()))
    chw = x[0].numel()
    z = normals(seed, image_index, K * chw)
    eps = torch.from_numpy((z * sigma_abs).astype(np.float32)).view(K, *x.shape[1:])
    sg = torch.zeros(x.shape, dtype=torch.float64)
    sgg = torch.zeros(x.shape, dtype=torch.float64)
    for k in range(K):
        xk = x + eps[k:k + 1]
        g, _ = input_grad(net, xk, t)
        sg += (xk * g).double()
        sgg += g.double()
    return (sg / K).float(), (sgg / K).float(), eps, dict(
        samples=K, sigma=sigma, seed=seed, image_index=image_index,
        state0=(seed + image_index) & M64, sigma_abs=sigma_abs,
        first_normals=[float(v) for v in z[:4]])


def gradcam(net, x, t):
    layer, conv = net.gradcam_layer()
    y, env, _ = net.run(x.detach().clone().requires_grad_(True), keep=[layer])
    A = env[layer]
    (gA,) = torch.autograd.grad(y[0, t], A)
    alpha = gA.double().mean(dim=(2, 3))
    cam = F.relu((alpha[:, :, None, None] * A.detach().double()).sum(dim=1, keepdim=True))
    up = F.interpolate(cam, size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)
    return cam[0, 0].float(), up[0, 0].float(), dict(layer=layer, conv_node=conv,
                                                     shape=list(A.shape))


def masked_grad(net, x, t, rec, mvals, create_graph):
    """W(m) with gates frozen at rec; mvals list of tensors (mask layers)."""
    masks = dict(zip(net.mask_nodes, mvals))
    x = x.detach().clone().requires_grad_(True)
    y, _, _ = net.run(x, frozen=rec, masks=masks)
    (W,) = torch.autograd.grad(y[0, t], x, create_graph=create_graph)
    return W


def mask_case(net, x, t, rec, info):
    sizes = net.mask_sizes(x)
    rng = np.random.default_rng(SEED_MASKS)
    m_flat = rng.uniform(0.3, 1.0, sum(sizes)).astype(np.float32)
    V = np.random.default_rng(SEED_V).standard_normal(x.shape).astype(np.float32)
    Vt = torch.from_numpy(V)

    def split(flat, dtype):
        out, o = [], 0
        for s in sizes:
            out.append(torch.tensor(flat[o:o + s], dtype=dtype).requires_grad_(True))
            o += s
        return out

    # float32, gates of the float32 forward at x
    ms = split(m_flat, torch.float32)
    W = masked_grad(net, x, t, rec, ms, True)
    loss = (Vt * W).sum()
    d32 = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, ms)])

    # float64 copy, same frozen gates
    net64 = OnnxNet(net.path).to(torch.float64)
    x64 = x.double()
    V64 = Vt.double()
    m64 = split(m_flat, torch.float64)
    W64 = masked_grad(net64, x64, t, rec, m64, True)
    d64 = torch.cat([g.reshape(-1) for g in
                     torch.autograd.grad((V64 * W64).sum(), m64)]).detach()

    # closed form: delta (arriving signal at each mask layer, before the
    # mask) from autograd; z from the tangent pass L_x(V; m)
    mm = dict(zip(net64.mask_nodes, [m.detach() for m in m64]))
    xr = x64.clone().requires_grad_(True)
    mvars = dict(zip(net64.mask_nodes, m64))
    y, env, _ = net64.run(xr, frozen=rec, masks=mvars,
                          keep=[net64.nodes[i].output[0] for i in net64.mask_nodes])
    outs = [env[net64.nodes[i].output[0]] for i in net64.mask_nodes]
    deltas = torch.autograd.grad(y[0, t], outs)
    pre = {}
    with torch.no_grad():
        net64.run(V64, frozen=rec, masks=mm, linear=True, premask=pre)
        closed = torch.cat([(d * pre[i]).sum(dim=[j for j in range(d.dim()) if j != 1])
                            for d, i in zip(deltas, net64.mask_nodes)])
        # Sum W(m) * x  ==  L_x(x; m)[t]
        lin_x, _, _ = net64.run(x64, frozen=rec, masks=mm, linear=True)
    F_m = float((W64.detach() * x64).sum())

    # central finite differences in float64 (l is affine in each mask)
    scale = float(d64.abs().max())
    nonzero = np.flatnonzero(d64.numpy() != 0)   # dead channels give exact 0
    picks = sorted(set([0, sizes[0] - 1, sum(sizes) // 2, sum(sizes) - 1] +
                       [int(v) for v in np.random.default_rng(99).choice(
                           nonzero, min(6, len(nonzero)), replace=False)]))
    h = 1e-3
    fd = []
    with torch.enable_grad():
        for p in picks:
            vals = []
            for sgn in (1, -1):
                mf = m_flat.astype(np.float64).copy()
                mf[p] += sgn * h
                mv = [torch.tensor(mf[o:o + s]) for o, s in
                      zip(np.cumsum([0] + sizes[:-1]), sizes)]
                Wp = masked_grad(net64, x64, t, rec, mv, False)
                vals.append(float((V64 * Wp).sum()))
            est = (vals[0] - vals[1]) / (2 * h)
            ad = float(d64[p])
            fd.append(dict(index=int(p), fd=est, autograd=ad,
                           rel_err=abs(est - ad) / max(abs(ad), 1e-12 * scale, 1e-300),
                           err_over_max_abs=abs(est - ad) / max(scale, 1e-300)))
    info.update(dict(
        layers=[dict(node=net.nodes[i].name, op=net.nodes[i].op_type,
                     value=net.nodes[i].output[0], size=s)
                for i, s in zip(net.mask_nodes, sizes)],
        total=int(sum(sizes)), seed_masks=SEED_MASKS, seed_V=SEED_V,
        mask_dist="numpy default_rng(seed).uniform(0.3, 1.0, total) as float32",
        V_dist="numpy default_rng(seed).standard_normal(input shape) as float32",
        loss_f32=float(loss), loss_f64=float((V64 * W64).sum()),
        fd_step=h, fd=fd, dldm_exact_zeros=int(len(d64) - len(nonzero)),
        fd_max_rel_err=max(d["rel_err"] for d in fd),
        fd_max_err_over_max_abs=max(d["err_over_max_abs"] for d in fd),
        f32_vs_f64_max_rel=float((d32.double() - d64).abs().max()) / scale,
        closed_form_vs_autograd_max_rel=float((closed - d64).abs().max()) / scale,
        sum_Wx_f64=F_m, linear_logit_f64=float(lin_x[0, t]),
        sum_Wx_vs_linear_rel=abs(F_m - float(lin_x[0, t])) / max(abs(F_m), 1e-30)))
    return dict(masks=m_flat, mask_sizes=np.array(sizes, dtype=np.int64), mask_V=V,
                mask_W=W.detach().numpy(), mask_dldm=d32.detach().numpy())


def adjoint_case(net, x, t, rec, info, v):
    net64 = OnnxNet(net.path).to(torch.float64)
    x64 = x.double()
    u = np.random.default_rng(SEED_ADJ_U).standard_normal((1, 10)).astype(np.float32)
    xr = x64.clone().requires_grad_(True)
    y, _, _ = net64.run(xr, frozen=rec)
    assert y.shape == (1, 10), y.shape
    u64 = torch.from_numpy(u).double()
    (JTu,) = torch.autograd.grad((y * u64).sum(), xr)
    with torch.no_grad():
        Jv, _, _ = net64.run(torch.from_numpy(v).double(), frozen=rec, linear=True)
    d1 = float((u64 * Jv).sum())
    d2 = float((JTu * torch.from_numpy(v).double()).sum())
    info.update(dict(seed_u=SEED_ADJ_U, v="mask_V", u_Jv=d1, JTu_v=d2,
                     rel_diff=abs(d1 - d2) / max(abs(d1), abs(d2), 1e-300)))
    return dict(adj_u=u, adj_JTu=JTu.float().numpy(), adj_Jv=Jv.float().numpy(),
                adj_dots=np.array([d1, d2], dtype=np.float32))


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
ALL = ["grad", "gxi", "ig", "smoothgrad", "guided", "gradcam", "masks", "adjoint"]
SMALL = ["grad", "gxi", "guided", "masks", "adjoint"]


def case_list():
    c = []
    for mdl in ("fmnist_vgg", "fmnist_resnet"):
        for idx in (0, 7):
            c.append(dict(name="%s_%d" % (mdl, idx), model="models/%s.onnx" % mdl,
                          fwd="%s_samples" % mdl, png="models/samples/%s.png" % SLUGS[idx],
                          image_index=idx, methods=ALL,
                          ig_rules=(["midpoint", "left", "right", "trapezoid"]
                                    if (mdl, idx) == ("fmnist_vgg", 0) else [])))
    for name, methods in (("vgg16_small_op17", ALL), ("resnet50_small_op13", ALL),
                          ("mobilenet_v2_small_op12", SMALL),
                          ("densenet_small_op14", SMALL)):
        c.append(dict(name=name, model="tests/ref/data/%s.onnx" % name, fwd=name,
                      png=None, image_index=0, methods=methods, ig_rules=[]))
    return c


def model_file(case):
    if case["model"].startswith("tests/ref/data/"):     # honour --fwd-dir
        return os.path.join(FWD_DIR, os.path.basename(case["model"]))
    return os.path.join(REPO, case["model"])


def load_input(case):
    fwd_in = os.path.join(FWD_DIR, case["fwd"] + ".input.npy")
    if case["png"]:
        im = np.asarray(Image.open(os.path.join(REPO, case["png"])))
        assert im.shape == (28, 28) and im.dtype == np.uint8
        x = im.astype(np.float32)[None, None] / 255.0
        x = ((x - np.float32(FMNIST_MEAN)) / np.float32(FMNIST_STD)).astype(np.float32)
        if os.path.exists(fwd_in):
            ref = np.load(fwd_in)[case["image_index"]:case["image_index"] + 1]
            assert np.array_equal(ref, x), "PNG preprocessing differs from %s" % fwd_in
        return x
    return np.ascontiguousarray(np.load(fwd_in)[0:1])


_checked = {}


def check_forward(net, case):
    """Interpreter vs the forward fixture's logits (whole batch)."""
    key = case["model"]
    if key in _checked:
        return _checked[key]
    xin = np.load(os.path.join(FWD_DIR, case["fwd"] + ".input.npy"))
    ref = np.load(os.path.join(FWD_DIR, case["fwd"] + ".logits.npy"))
    with torch.no_grad():
        got = net.run(torch.from_numpy(xin))[0].numpy()
    err = float(np.abs(got.astype(np.float64) - ref).max() / np.abs(ref).max())
    print("  forward check %-28s batch %d  rel err %.2e" % (case["fwd"], len(xin), err),
          flush=True)
    if err > 1e-5:
        sys.exit("%s: interpreter disagrees with the forward fixture" % case["fwd"])
    _checked[key] = err
    return err


def run_case(case):
    name = case["name"]
    print("%s (%s)" % (name, case["model"]), flush=True)
    net = OnnxNet(model_file(case))
    fwd_err = check_forward(net, case)
    x = torch.from_numpy(load_input(case))
    with torch.no_grad():
        logits, _, rec = net.run(x, record=True)
    t = int(logits[0].argmax())
    info = dict(case=name, model=case["model"], image_index=case["image_index"],
                input_source=(case["png"] or "tests/ref/data/%s.input.npy row 0" % case["fwd"]),
                preprocessing=("v/255, (v - 0.2860)/0.3530" if case["png"] else None),
                input_shape=list(x.shape), target=t, logits=[float(v) for v in logits[0]],
                methods=case["methods"], forward_fixture=case["fwd"],
                forward_check_rel_err=fwd_err)
    ties = [(net.nodes[k[1]].name,) + rec[k] for k in rec
            if isinstance(k, tuple) and k[0] == "ties"]
    exact = 0
    with torch.no_grad():
        _, env, _ = net.run(x, keep=[n.input[0] for n in net.nodes if n.op_type in ACTS])
        for n in net.nodes:
            if n.op_type in ACTS:
                u = env[n.input[0]]
                lo, hi = (0.0, None) if n.op_type != "Clip" else \
                    OnnxNet._clip_bounds(_attrs(n), [env.get(v) if v else None
                                                     for v in n.input])
                if lo is not None:
                    exact += int((u == lo).sum())
                if hi is not None:
                    exact += int((u == hi).sum())
    info["at_x"] = dict(maxpool_ties=[dict(node=a, tied_windows=b, tied_windows_max_pos=c)
                                      for a, b, c in ties],
                        activation_inputs_exactly_at_kink=exact)
    arrays = dict(input=x.numpy(), logits=logits.numpy())

    g, _ = input_grad(net, x, t)
    arrays["grad"] = g.numpy()
    info["sum_gxi"] = float((g.double() * x.double()).sum())
    # How much the gradient depends on MaxPool tie-breaking (first maximum,
    # torch's and the library's rule, vs last maximum).
    alt = {k: (rec[("last", k)] if ("last", k) in rec else v)
           for k, v in rec.items() if not isinstance(k, tuple)}
    g_last, _ = input_grad(net, x, t, frozen=alt)
    info["at_x"]["grad_rel_diff_if_last_max"] = \
        float((g_last - g).abs().max() / g.abs().max())
    info["at_x"]["grad_rel_l2_diff_if_last_max"] = \
        float((g_last - g).double().norm() / g.double().norm())
    info["at_x"]["grad_elements_changed_if_last_max"] = int((g_last != g).sum())
    info["gxi"] = "not stored: grad * input in float32 (exact, elementwise)"

    if "ig" in case["methods"]:
        info["ig"] = {}
        runs = [("midpoint", IG_STEPS)] + [(r, IG_ALL_RULES_STEPS) for r in case["ig_rules"]]
        for rule, n in runs:
            ig, st = integrated_gradients(net, x, t, rule, n)
            # The same integral in float64: the conditioning of this path.
            net64 = OnnxNet(net.path).to(torch.float64)
            ig64, _ = integrated_gradients(net64, x.double(), t, rule, n)
            ig64 = ig64.double()
            st["cond"] = float((ig.double() - ig64).abs().max() / ig64.abs().max())
            key = "ig_%s%d" % (rule, n)
            arrays[key] = ig.numpy()
            arrays[key + "_stats"] = np.array([st["f_x"], st["f_x0"], st["sum"], st["gap"],
                                               st["cond"]], dtype=np.float32)
            info["ig"][key] = st
            print("  %-18s gap %+.4e (f_t(x) - f_t(0) = %.4f), float32 vs float64 %.2e"
                  % (key, st["gap"], st["f_x"] - st["f_x0"], st["cond"]), flush=True)

    if "smoothgrad" in case["methods"]:
        sg, sgg, eps, st = smoothgrad(net, x, t, case["image_index"])
        flat = eps.reshape(-1)
        nstore = flat.numel() if flat.numel() <= NOISE_FULL_MAX else NOISE_PREFIX
        st["noise_values_stored"] = int(nstore)
        st["noise_values_total"] = int(flat.numel())
        arrays["smoothgrad"] = sg.numpy()
        arrays["smoothgrad_grad"] = sgg.numpy()
        arrays["smoothgrad_noise"] = flat[:nstore].numpy()
        info["smoothgrad"] = st

    if "guided" in case["methods"]:
        gg, _ = input_grad(net, x, t, act="guided")
        arrays["guided"] = gg.numpy()

    if "gradcam" in case["methods"]:
        cam, up, st = gradcam(net, x, t)
        arrays["gradcam_cam"] = cam.numpy()
        arrays["gradcam"] = up.numpy()
        info["gradcam"] = st

    if "masks" in case["methods"]:
        info["masks"] = {}
        arrays.update(mask_case(net, x, t, rec, info["masks"]))
        mi = info["masks"]
        # W(1) must be the plain gradient
        W1 = masked_grad(net, x, t, rec, [torch.ones(s) for s in arrays["mask_sizes"]], False)
        mi["W_ones_vs_grad_max_abs"] = float((W1 - g).abs().max())
        print("  masks: %d layers, %d masks; FD rel err max %.2e %s; "
              "closed form vs autograd %.2e; f32 vs f64 %.2e; sum(W x) vs L_x(x) %.2e"
              % (len(mi["layers"]), mi["total"], mi["fd_max_rel_err"],
                 ["%.1e" % d["rel_err"] for d in mi["fd"]],
                 mi["closed_form_vs_autograd_max_rel"], mi["f32_vs_f64_max_rel"],
                 mi["sum_Wx_vs_linear_rel"]), flush=True)

    if "adjoint" in case["methods"]:
        info["adjoint"] = {}
        assert "mask_V" in arrays
        arrays.update(adjoint_case(net, x, t, rec, info["adjoint"], arrays["mask_V"]))
        print("  adjoint: <u,Jv> %.10g  <J^T u,v> %.10g  rel diff %.1e"
              % (info["adjoint"]["u_Jv"], info["adjoint"]["JTu_v"],
                 info["adjoint"]["rel_diff"]), flush=True)

    info["files"] = {}
    for k, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype != np.int64:
            arr = arr.astype(np.float32)
        fn = "%s.%s.npy" % (name, k)
        np.save(os.path.join(OUT, fn), arr)
        info["files"][k] = dict(file=fn, shape=list(arr.shape), dtype=str(arr.dtype))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    print("  target %d  ties %s  kinks %d" % (t, [(a[-12:], b, c) for a, b, c in ties], exact),
          flush=True)
    return "%s %s %d %d %s" % (name, case["model"], case["image_index"], t,
                               ",".join(case["methods"]))


def main():
    global FWD_DIR, OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="case names to (re)generate")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fwd-dir", default=FWD_DIR,
                    help="forward fixtures (default tests/ref/data)")
    ap.add_argument("--out", default=OUT, help="default tests/ref/data/grad")
    args = ap.parse_args()
    FWD_DIR, OUT = args.fwd_dir, args.out
    torch.set_num_threads(args.threads)
    os.makedirs(OUT, exist_ok=True)
    cases = case_list()
    lines = []
    for c in cases:
        if args.only and c["name"] not in args.only:
            continue
        lines.append(run_case(c))
    if not args.only:
        with open(os.path.join(OUT, "cases.txt"), "w") as f:
            f.write("# Gradient-method fixtures (tests/ref/make_grad_fixtures.py).\n"
                    "# <case> <model, relative to the repository> <image index> "
                    "<target> <methods>\n"
                    "# Files: <case>.json and <case>.<name>.npy in this directory.\n")
            f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%s: %.2f MB" % (OUT, total / 1e6))


if __name__ == "__main__":
    main()
