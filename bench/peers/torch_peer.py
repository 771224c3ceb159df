#!/usr/bin/python3
"""PyTorch peer of bench/bench.c: the same computations, timed in PyTorch.

Usage (Debian's /usr/bin/python3, python3-torch):
  bench/peers/torch_peer.py --model resnet50 --what WHAT [--threads 2]
      [--repeat 3] [--warmup 1] [--iterations 200] [--cache DIR] [--autocast]

WHAT is one of
  forward        logits of one image (torch.no_grad, batch 1)
  grad           forward + gradient of the top logit w.r.t. the input
  dmbp_iter      one DMBP iteration, two ways (--variant):
    autograd     masks in the graph as y = m*u + (1-m)*u.detach() after every
                 Conv and every Linear but the last; both mask sets as a
                 batch of 2; W(m) = grad(f_t, x, create_graph=True); the loss
                 of dmbp-method.md section 3 (preset dmbp); loss.backward();
                 Adam step.  The forward is part of every iteration (the
                 graph depends on the masks).
    explicit     dmbp-method.md section 2 done in PyTorch: the forward (batch
                 2) runs once per image and its graph is kept; the masks are
                 tensor hooks on every Conv/Linear output that record the
                 arriving signal delta and return delta*m, so one
                 autograd.grad(retain_graph=True) per iteration gives W(m+)
                 and W(m-); V = dl/dW in closed form; then a hand-written
                 tangent pass (the same modules in "linear mode": convs and
                 linears without bias, BN as its scale, ReLU gates and
                 max-pool indices recorded by the forward) pushes V forward
                 and accumulates sum_p delta*z per mask; Adam step.  No
                 forward and no double backward per iteration.
  dmbp           a full DMBP (initial gradient, --iterations Adam steps, final
                 mappings), --variant autograd or explicit
  ig             integrated gradients, 32 midpoint steps as one batch of 32,
                 zero baseline, plus f(x) and f(baseline) for the
                 completeness gap (as libdmbp does)
  lrp            LRP, composite epsilon-plus-flat, by tests/ref/lrp_torch.py
                 (the fixtures' reference: the exported CACHE/<model>.onnx
                 run on its own interpreter in float32, each rule as the
                 gradient trick); check: the conservation
  occlusion      a 32 x 32 zero patch moved by 24 (9 x 9 patches at 224, the
                 last flush with the border, as bench.c and
                 tests/ref/torchvision_perturb.py), batches of 16 on the
                 torchvision module; check: the map's sum

Threads: torch.set_num_threads(--threads) (and OMP_NUM_THREADS from the
caller).  Weights: bench/export_models.build(), i.e. the constructor and seed
the ONNX file was exported from.  Input: CACHE/input.npy.

--autocast runs the setup and every timed run under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's own bf16: convolutions
and linears in bf16, the rest as autocast decides); impl gets "-bf16".

Prints one JSON line: {"impl": "torch-<variant>", "model", "what",
"threads", "times": [seconds...], "peak_rss_kb", "setup_s", ...}.
"""

import argparse
import contextlib
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from export_models import build, cache_dir  # noqa: E402
REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "ref")

# dmbp-method.md section 3, preset "dmbp".
W_COMPL, W_SIGN, W_NUIS, W_EVID, W_SPARS = 10.0, 3.0, 1.0, 0.0, 0.01
LR, INIT_LOGIT = 0.05, 2.0
IG_STEPS = 32
OCC_WINDOW, OCC_STRIDE, OCC_BATCH = 32, 24, 16


# ---------------------------------------------------------------------------
# Masked model: the torchvision modules wrapped so that one network serves
# the autograd peer, the hook-based backward and the linear tangent pass.
# ---------------------------------------------------------------------------

class Ctx:
    def __init__(self):
        self.mode = "plain"   # plain | autograd | hook | tangent
        self.masks = []       # per mask layer: (lanes, C) tensor
        self.deltas = []      # per mask layer: signal arriving in backward
        self.mgrad = []       # per mask layer: (lanes, C) sum delta*z
        self.gates = []       # ReLU gates of the recorded forward
        self.pools = []       # max-pool indices of the recorded forward
        self.cursor_g = 0
        self.cursor_p = 0
        self.record = False


def mview(m, like):
    return m.view(m.shape[0], m.shape[1], *([1] * (like.dim() - 2)))


class MaskedLinearOp(nn.Module):
    """A Conv2d or Linear followed by a mask layer (or none if last)."""

    def __init__(self, mod, ctx, index):
        super().__init__()
        self.mod, self.ctx, self.index = mod, ctx, index

    def linear_part(self, x):
        m = self.mod
        if isinstance(m, nn.Conv2d):
            return F.conv2d(x, m.weight, None, m.stride, m.padding, m.dilation,
                            m.groups)
        return F.linear(x, m.weight)

    def forward(self, x):
        ctx, i = self.ctx, self.index
        if ctx.mode == "tangent":
            z = self.linear_part(x)
            if i < 0:
                return z
            m = mview(ctx.masks[i], z)
            d = ctx.deltas[i]
            red = tuple(range(2, z.dim()))
            ctx.mgrad[i] = (d * z).sum(red) if red else d * z
            return z * m
        u = self.mod(x)
        if i < 0 or ctx.mode == "plain":
            return u
        if ctx.mode == "autograd":
            m = mview(ctx.masks[i], u)
            return m * u + (1 - m) * u.detach()
        # hook mode: y = u; the backward signal is recorded and scaled.
        if u.requires_grad:
            def hook(g, i=i):
                ctx.deltas[i] = g
                # (under autocast the signal may be bf16: keep its type)
                return (g * mview(ctx.masks[i], g)).to(g.dtype)
            u.register_hook(hook)
        return u


class GatedReLU(nn.Module):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx

    def forward(self, x):
        ctx = self.ctx
        if ctx.mode == "tangent":
            g = ctx.gates[ctx.cursor_g]
            ctx.cursor_g += 1
            return x * g
        y = F.relu(x)
        if ctx.record:
            ctx.gates.append((y > 0).to(y.dtype).detach())
        return y


class GatedMaxPool(nn.Module):
    def __init__(self, mod, ctx):
        super().__init__()
        self.mod, self.ctx = mod, ctx

    def forward(self, x):
        ctx, m = self.ctx, self.mod
        if ctx.mode == "tangent":
            idx = ctx.pools[ctx.cursor_p]
            ctx.cursor_p += 1
            n, c = x.shape[:2]
            return x.reshape(n, c, -1).gather(2, idx.reshape(n, c, -1)).view(idx.shape)
        if ctx.record:
            y, idx = F.max_pool2d(x, m.kernel_size, m.stride, m.padding,
                                  m.dilation, m.ceil_mode, return_indices=True)
            ctx.pools.append(idx)
            return y
        return m(x)


class LinearBN(nn.Module):
    """Eval-mode BatchNorm; in the tangent pass only its scale."""

    def __init__(self, mod, ctx):
        super().__init__()
        self.mod, self.ctx = mod, ctx
        self.scale = (mod.weight / torch.sqrt(mod.running_var + mod.eps)).detach()

    def forward(self, x):
        if self.ctx.mode == "tangent":
            return x * self.scale.view(1, -1, 1, 1)
        return self.mod(x)


def wrap_model(model, ctx):
    """Replace modules in place; returns the channel count per mask layer."""
    ops = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    last = ops[-1]
    index = {}
    channels = []
    for m in ops:
        if m is last:
            index[id(m)] = -1
        else:
            index[id(m)] = len(channels)
            channels.append(m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)

    def rec(parent):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.Conv2d, nn.Linear)):
                setattr(parent, name, MaskedLinearOp(child, ctx, index[id(child)]))
            elif isinstance(child, nn.ReLU):
                setattr(parent, name, GatedReLU(ctx))
            elif isinstance(child, nn.MaxPool2d):
                setattr(parent, name, GatedMaxPool(child, ctx))
            elif isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, LinearBN(child, ctx))
            else:
                rec(child)
    rec(model)
    return channels


# ---------------------------------------------------------------------------
# DMBP pieces shared by both variants.
# ---------------------------------------------------------------------------

def loss_terms(wp, wn, x, a1, F0, S, mp_all, mn_all):
    ap, an = wp * x, wn * x
    nu = a1 - ap - an
    fp, fn = ap.sum(), an.sum()
    r = (fp + fn - F0) / S
    compl = r * r
    sign = (F.relu(-ap).sum() + F.relu(an).sum()) / S
    nuis = nu.abs().sum() / S
    evid = (-fp + fn) / S
    spars = mp_all.mean() + mn_all.mean()
    return (W_COMPL * compl + W_SIGN * sign + W_NUIS * nuis + W_EVID * evid
            + W_SPARS * spars)


def closed_form_v(wp, wn, x, a1, F0, S):
    """V = dl/dW for both sets (dmbp-method.md section 3), no autograd."""
    ap, an = wp * x, wn * x
    sn = torch.sign(a1 - ap - an)
    r = (ap.sum() + an.sum() - F0) / S
    common = 2 * W_COMPL * r
    gp = common - W_SIGN * (ap < 0).to(x.dtype) - W_NUIS * sn - W_EVID
    gn = common + W_SIGN * (an > 0).to(x.dtype) - W_NUIS * sn + W_EVID
    return torch.cat([x * gp / S, x * gn / S], 0)


class DMBPTorch:
    def __init__(self, model, x, variant):
        self.ctx = Ctx()
        self.model = model
        self.channels = wrap_model(model, self.ctx)
        self.K = sum(self.channels)
        self.variant = variant
        self.x = x
        with torch.no_grad():
            self.ctx.mode = "plain"
            self.target = int(model(x)[0].argmax())
        self.seed = torch.zeros(2, model_classes(model))
        self.seed[:, self.target] = 1

    def start(self):
        """Per image: W(1), F, S; the mask logits and Adam."""
        ctx, x = self.ctx, self.x
        ctx.mode = "plain"
        xg = x.clone().requires_grad_(True)
        out = self.model(xg)
        w1, = torch.autograd.grad(out[0, self.target], xg)
        self.a1 = (w1 * x).detach()
        self.F0 = self.a1.sum()
        self.S = self.a1.abs().sum()
        self.theta = torch.full((2, self.K), INIT_LOGIT, requires_grad=True)
        self.opt = torch.optim.Adam([self.theta], lr=LR)
        if self.variant == "explicit":
            # The forward of the two lanes, once: graph kept, gates recorded.
            ctx.mode, ctx.record = "hook", True
            ctx.gates, ctx.pools = [], []
            ctx.deltas = [None] * len(self.channels)
            ctx.mgrad = [None] * len(self.channels)
            ctx.masks = self.split(torch.sigmoid(self.theta.detach()))
            self.x2 = x.expand(2, -1, -1, -1).clone().requires_grad_(True)
            self.out2 = self.model(self.x2)
            ctx.record = False

    def split(self, m):
        return list(torch.split(m, self.channels, dim=1))

    def iterate(self):
        if self.variant == "autograd":
            self.iterate_autograd()
        else:
            self.iterate_explicit()

    def iterate_autograd(self):
        ctx, x = self.ctx, self.x
        m = torch.sigmoid(self.theta)
        ctx.mode, ctx.masks = "autograd", self.split(m)
        x2 = x.expand(2, -1, -1, -1).clone().requires_grad_(True)
        out = self.model(x2)
        w, = torch.autograd.grad((out * self.seed).sum(), x2, create_graph=True)
        loss = loss_terms(w[:1], w[1:], x, self.a1, self.F0, self.S, m[0], m[1])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def mappings_explicit(self):
        ctx = self.ctx
        ctx.mode = "hook"
        ctx.masks = self.split(torch.sigmoid(self.theta.detach()))
        w, = torch.autograd.grad(self.out2, self.x2, self.seed, retain_graph=True)
        return w

    def iterate_explicit(self):
        ctx, x = self.ctx, self.x
        with torch.no_grad():
            m = torch.sigmoid(self.theta)
        w = self.mappings_explicit()
        with torch.no_grad():
            v = closed_form_v(w[:1], w[1:], x, self.a1, self.F0, self.S)
            ctx.mode, ctx.cursor_g, ctx.cursor_p = "tangent", 0, 0
            self.model(v)
            g = torch.cat(ctx.mgrad, 1) + W_SPARS / self.K
            self.theta.grad = g * m * (1 - m)
        self.opt.step()

    def finish(self):
        if self.variant == "explicit":
            w = self.mappings_explicit()
        else:
            ctx = self.ctx
            m = torch.sigmoid(self.theta.detach())
            ctx.mode, ctx.masks = "autograd", self.split(m)
            x2 = self.x.expand(2, -1, -1, -1).clone().requires_grad_(True)
            out = self.model(x2)
            w, = torch.autograd.grad((out * self.seed).sum(), x2)
        return w.detach()


def model_classes(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return last.out_features


# ---------------------------------------------------------------------------

def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--what", required=True,
                    choices=["forward", "grad", "dmbp_iter", "dmbp", "ig", "lrp",
                             "occlusion"])
    ap.add_argument("--variant", default="explicit", choices=["autograd", "explicit"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--cache", default=cache_dir())
    ap.add_argument("--autocast", action="store_true",
                    help='run under torch.autocast("cpu", dtype=torch.bfloat16)')
    args = ap.parse_args()

    def ac():
        if args.autocast:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    torch.set_num_threads(args.threads)
    t_setup = time.perf_counter()
    model = build(args.model)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(np.load(os.path.join(args.cache, "input.npy")))
    with torch.no_grad(), ac():
        target = int(model(x)[0].argmax())
    impl = "torch"
    extra = {}

    if args.what == "forward":
        def run():
            with torch.no_grad():
                model(x)
    elif args.what == "grad":
        def run():
            xg = x.clone().requires_grad_(True)
            out = model(xg)
            torch.autograd.grad(out[0, target], xg)
    elif args.what == "ig":
        alphas = (torch.arange(IG_STEPS, dtype=torch.float32) + 0.5) / IG_STEPS
        x0 = torch.zeros_like(x)

        def run():
            with torch.no_grad():
                ends = model(torch.cat([x, x0], 0))
                t = int(ends[0].argmax())
            xs = (x0 + alphas.view(-1, 1, 1, 1) * (x - x0)).requires_grad_(True)
            out = model(xs)
            g, = torch.autograd.grad(out[:, t].sum(), xs)
            ig = g.mean(0, keepdim=True) * (x - x0)
            return float(ig.sum() - (ends[0, t] - ends[1, t]))
    elif args.what == "lrp":
        sys.path.insert(0, REF)
        import lrp_torch
        net = lrp_torch.Net(os.path.join(args.cache, args.model + ".onnx"), torch.float32)
        xn = x.numpy()

        def run():
            with ac():
                _, cons = lrp_torch.explain(net, xn, target, "epsilon-plus-flat",
                                            lrp_torch.EPSILON, lrp_torch.GAMMA,
                                            [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
            return cons
    elif args.what == "occlusion":
        sys.path.insert(0, REF)
        from make_perturb_fixtures import positions
        _, _, h, w = x.shape
        patches = [(a, b) for a in positions(h, OCC_WINDOW, OCC_STRIDE)
                   for b in positions(w, OCC_WINDOW, OCC_STRIDE)]
        extra.update(window=OCC_WINDOW, stride=OCC_STRIDE)

        def run():
            with torch.no_grad():
                f0 = float(model(x)[0, target])
                fs = []
                for i in range(0, len(patches), OCC_BATCH):
                    xs = x.repeat(len(patches[i:i + OCC_BATCH]), 1, 1, 1)
                    for j, (a, b) in enumerate(patches[i:i + OCC_BATCH]):
                        xs[j, :, a:a + OCC_WINDOW, b:b + OCC_WINDOW] = 0
                    fs.append(model(xs)[:, target])
                f = torch.cat(fs).double()
            acc = torch.zeros(h, w, dtype=torch.float64)
            cnt = torch.zeros(h, w, dtype=torch.float64)
            for i, (a, b) in enumerate(patches):
                acc[a:a + OCC_WINDOW, b:b + OCC_WINDOW] += f0 - f[i]
                cnt[a:a + OCC_WINDOW, b:b + OCC_WINDOW] += 1
            return float((acc / cnt).sum())
    elif args.what in ("dmbp_iter", "dmbp"):
        impl = "torch-" + args.variant
        with ac():
            d = DMBPTorch(model, x, args.variant)
        extra["masks_per_set"] = d.K
        if args.what == "dmbp_iter":
            with ac():
                d.start()
                d.iterate()  # Adam's first step differs: skip it

            def run():
                d.iterate()
        else:
            extra["iterations"] = args.iterations

            def run():
                d.start()
                for _ in range(args.iterations):
                    d.iterate()
                w = d.finish()
                return float(((w[0] + w[1]) * x[0]).sum())
    t_setup = time.perf_counter() - t_setup
    if args.autocast:
        impl += "-bf16"
        extra["autocast"] = "bfloat16"

    for _ in range(args.warmup):
        with ac():
            run()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with ac():
            res = run()
        times.append(time.perf_counter() - t0)
        if res is not None:
            extra["check"] = res
    print(json.dumps(dict(impl=impl, model=args.model, what=args.what,
                          threads=args.threads, times=times,
                          peak_rss_kb=peak_rss_kb(), setup_s=t_setup,
                          torch=torch.__version__, target=target, **extra)))


if __name__ == "__main__":
    main()
