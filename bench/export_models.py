#!/usr/bin/python3
"""Export the benchmark models and inputs for `make bench` (not committed).

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision,
python3-onnx).  Writes into the cache directory (BENCH_CACHE, else
$XDG_CACHE_HOME/dmbp-bench, else ~/.cache/dmbp-bench), skipping every file
that is already there and was made by the same torch/torchvision/opset:

  <model>.onnx     torchvision <model>(weights=None) after torch.manual_seed(0),
                   eval mode, ONNX opset 14, dynamic batch axis
  <model>.layers   one line per Conv / Linear, in execution order, with the
                   shapes the FLOP count and the oneDNN-only reference need:
                     conv N IC IH IW OC KH KW SH SW PH PW DH DW G OH OW
                     fc   N IN OUT
  input.npy        1 x 3 x 224 x 224 float32: a seeded uniform [0,1) image
                   normalised with ImageNet's mean and std
  input8.npy       8 x 3 x 224 x 224 float32, the same recipe (image 0 of
                   input8 is input)

Usage: bench/export_models.py [--cache DIR] [--models resnet50,vgg16]
Prints the cache directory on its last line.
"""

import argparse
import os
import sys
import warnings

import numpy as np
import torch
import torchvision

MODELS = ["resnet50", "vgg16"]
OPSET = 14
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def cache_dir():
    d = os.environ.get("BENCH_CACHE")
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dmbp-bench")


def stamp():
    return "torch %s torchvision %s opset %d" % (
        torch.__version__, torchvision.__version__, OPSET)


def build(name):
    """The benchmark model: same constructor and seed everywhere (the
    PyTorch peers call this too, so their weights equal the ONNX file's)."""
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


def is_current(path):
    sp = path + ".stamp"
    if not (os.path.exists(path) and os.path.exists(sp)):
        return False
    with open(sp) as f:
        return f.read().strip() == stamp()


def mark_current(path):
    with open(path + ".stamp", "w") as f:
        f.write(stamp() + "\n")


def export_onnx(model, path):
    tmp = path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 3, 224, 224), tmp,
                          opset_version=OPSET, input_names=["input"],
                          output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"},
                                        "logits": {0: "batch"}},
                          do_constant_folding=True)
    os.replace(tmp, path)


def layer_lines(model):
    """Conv2d / Linear shapes at batch 1, 224 x 224, in execution order."""
    lines = []

    def conv_hook(mod, inp, out):
        n, c, h, w = inp[0].shape
        _, oc, oh, ow = out.shape
        kh, kw = mod.kernel_size
        sh, sw = mod.stride
        ph, pw = mod.padding
        dh, dw = mod.dilation
        lines.append("conv %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d"
                     % (n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw,
                        mod.groups, oh, ow))

    def fc_hook(mod, inp, out):
        lines.append("fc %d %d %d" % (inp[0].shape[0], mod.in_features,
                                      mod.out_features))

    hooks = []
    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, torch.nn.Linear):
            hooks.append(mod.register_forward_hook(fc_hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    return lines


def flops_of(lines):
    """2 * IC/G * OC * KH * KW * OH * OW per conv, 2 * IN * OUT per FC."""
    total = 0
    for ln in lines:
        f = ln.split()
        v = [int(t) for t in f[1:]]
        if f[0] == "conv":
            n, ic, _, _, oc, kh, kw = v[:7]
            g, oh, ow = v[13], v[14], v[15]
            total += 2 * n * (ic // g) * oc * kh * kw * oh * ow
        else:
            n, i, o = v
            total += 2 * n * i * o
    return total


def make_inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.random((n, 3, 224, 224), dtype=np.float32)
    return ((img - MEAN) / STD).astype(np.float32)


def write_atomic_npy(path, arr):
    tmp = path + ".tmp.npy"
    np.save(tmp, arr)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=cache_dir())
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            ap.error("unknown model %s (have %s)" % (name, ", ".join(MODELS)))
        onnx_path = os.path.join(args.cache, name + ".onnx")
        layers_path = os.path.join(args.cache, name + ".layers")
        if is_current(onnx_path) and is_current(layers_path):
            print("%s: cached" % name, file=sys.stderr)
            continue
        print("%s: exporting to %s" % (name, onnx_path), file=sys.stderr)
        model = build(name)
        export_onnx(model, onnx_path)
        mark_current(onnx_path)
        lines = layer_lines(model)
        with open(layers_path + ".tmp", "w") as f:
            f.write("# %s, batch 1, 224x224: %d layers, %d forward FLOPs "
                    "(conv + fc)\n" % (name, len(lines), flops_of(lines)))
            f.write("\n".join(lines) + "\n")
        os.replace(layers_path + ".tmp", layers_path)
        mark_current(layers_path)
    x8 = make_inputs(8)
    for fname, arr in (("input.npy", x8[:1]), ("input8.npy", x8)):
        path = os.path.join(args.cache, fname)
        if os.path.exists(path):
            old = np.load(path)
            if old.shape == arr.shape and np.array_equal(old, arr):
                continue
        write_atomic_npy(path, np.ascontiguousarray(arr))
    print(args.cache)


if __name__ == "__main__":
    main()
