#!/usr/bin/python3
"""Why GoogLeNet's gradient x input on issue #20's probe image is not
reproducible in float32 (not run by `make check`; about a minute).

    /usr/bin/python3 tests/ref/googlenet_conditioning.py [--dmbp ./dmbp] [--work DIR]

The model and image are those of the issue's reproduction
(/work/shared/repro/googlenet_gxi.py): torchvision 0.14's googlenet with
init_weights=True (convolutions ~ N(0, 0.01)), seed 0, and every
BatchNormalization's statistics and affine parameters drawn uniformly
(mean in [-0.1, 0.1], var in [0.5, 1.5], weight in [0.5, 1.5], bias in
[-0.1, 0.1]); the smooth 224x224 8-bit probe image; opset 13, batch 1.

It prints
  1. for every max pooling: the median gap between the two largest entries
     of a window (relative to the median maximum) and the fraction of
     windows with a positive maximum whose gap is smaller than the largest
     float32 rounding difference of that pooling's input (float32 against
     float64 forward passes): there the window's choice, and so the
     gradient's path, is decided by rounding;
  2. the Pearson correlation of PyTorch's own float32 gradient x input
     against PyTorch computed other ways (channels_last memory format,
     without mkldnn, two threads, float64);
  3. with --dmbp: dmbp's map against each of those.
With the torchvision defaults instead of the random BatchNormalization
statistics (tests/ref/torchvision_parity.py) the same graph on the same
image agrees at Pearson >= 0.9999: the graph's ops are not the cause.
"""
import argparse
import copy
import os
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image


def probe(work, size=224):
    yy, xx = np.mgrid[0:size, 0:size] / float(size)
    rgb = np.stack([0.5 + 0.5 * np.sin(6 * xx + 3 * yy), 0.5 + 0.5 * np.cos(5 * yy - 2 * xx),
                    xx * yy], -1)
    png = os.path.join(work, "probe224.png")
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(png)
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    arr = np.asarray(Image.open(png).convert("RGB")).astype(np.float32) / 255.0
    return png, torch.from_numpy(((arr - mean) / std).transpose(2, 0, 1)[None].copy())


def googlenet():
    torch.manual_seed(0)
    m = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True).eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.1, 0.1)
    return m


def pearson(a, b):
    u = a.ravel() - a.mean()
    v = b.ravel() - b.mean()
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def gxi(m, x, t):
    xg = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(m(xg)[0, t], xg)
    return (g * xg)[0].detach().double().numpy()


def pool_gaps(m, x):
    pools = [(n, mod) for n, mod in m.named_modules() if isinstance(mod, torch.nn.MaxPool2d)]
    caps = {}

    def hook(name):
        def h(mod, inp, out):
            caps.setdefault(name, []).append(inp[0].detach().clone())
        return h
    hs = [mod.register_forward_hook(hook(n)) for n, mod in pools]
    with torch.no_grad():
        m(x)
        copy.deepcopy(m).double()(x.double())
    for h in hs:
        h.remove()
    print("max pooling                 median gap  windows decided by rounding")
    for n, mod in pools:
        a32, a64 = caps[n]
        k, s, p = mod.kernel_size, mod.stride, mod.padding
        size = a64.shape[2]
        oh = -(-(size + 2 * p - k) // s) + 1
        if (oh - 1) * s >= size + p:
            oh -= 1
        padr = (oh - 1) * s + k - size - p
        ap = F.pad(a64, (p, max(padr, 0), p, max(padr, 0)), value=-float("inf"))
        u = ap.unfold(2, k, s).unfold(3, k, s).reshape(*ap.shape[:2], oh, oh, k * k)
        top = u.topk(2, -1).values
        act = top[..., 0] > 0
        gap = (top[..., 0] - top[..., 1])[act]
        noise = (a32.double() - a64).abs().max()
        print("%-26s  %9.1e  %6.1f %%" % (n, float(gap.median() / top[..., 0][act].median()),
                                         100 * float((gap < noise).double().mean())))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dmbp", help="also compare this dmbp program's map")
    ap.add_argument("--work", help="directory for the image, model and map (default: a new one)")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="googlenet-cond-")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    png, x = probe(work)
    m = googlenet()
    with torch.no_grad():
        t = int(m(x).argmax())
    pool_gaps(m, x)
    ref = gxi(m, x, t)
    others = {}
    others["channels_last"] = gxi(copy.deepcopy(m).to(memory_format=torch.channels_last),
                                  x.to(memory_format=torch.channels_last), t)
    torch.backends.mkldnn.enabled = False
    others["no mkldnn"] = gxi(m, x, t)
    torch.backends.mkldnn.enabled = True
    torch.set_num_threads(2)
    others["2 threads"] = gxi(m, x, t)
    torch.set_num_threads(1)
    others["float64"] = gxi(copy.deepcopy(m).double(), x.double(), t)
    for k, v in others.items():
        print("PyTorch float32 vs PyTorch %-14s Pearson %.5f" % (k, pearson(ref, v)))
    if args.dmbp:
        onnx = os.path.join(work, "googlenet-op13.onnx")
        torch.onnx.export(m, x, onnx, opset_version=13, input_names=["input"],
                          output_names=["logits"])
        out = os.path.join(work, "gxi")
        subprocess.run([args.dmbp, "explain", onnx, png, "--method", "gxi", "--target", str(t),
                        "-o", out, "--no-resize", "--crop", "224", "--force", "--quiet"],
                       check=True)
        got = np.load(out + ".npy").astype(np.float64).reshape(ref.shape)
        print("dmbp vs PyTorch float32                 Pearson %.5f" % pearson(got, ref))
        for k, v in others.items():
            print("dmbp vs PyTorch %-24s Pearson %.5f" % (k, pearson(got, v)))


if __name__ == "__main__":
    main()
