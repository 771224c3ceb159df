#!/usr/bin/python3
"""Generate forward-parity fixtures for libdmbp's C tests.

Run from anywhere (paths are relative to this file):

    /usr/bin/python3 tests/ref/make_forward_fixtures.py

For each case it writes, into tests/ref/data/:

    <case>.onnx         the model (not for the fmnist_*_samples cases)
    <case>.model.txt    (fmnist_*_samples only) model path relative to the repo
    <case>.input.npy    float32, C order, NCHW
    <case>.logits.npy   float32, C order, [batch, 10]: torch's output

and forward_cases.txt listing the case names.  Weights are random but seeded
(default torch init); every BatchNorm gets random running statistics and
affine parameters so that BN handling is really exercised.  Each exported
graph is also run by a small independent ONNX interpreter (torch ops, below)
and must agree with torch, so the fixtures are known to be self-consistent.
"""

import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.vgg import VGG, make_layers, cfgs
from torchvision.models.resnet import ResNet, Bottleneck
from torchvision.models.densenet import DenseNet
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "data")
SLUGS = ["tshirt", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530


# --------------------------------------------------------------------------
# Model builders
# --------------------------------------------------------------------------
def scaled_cfg(key, div):
    return [v if v == "M" else v // div for v in cfgs[key]]


def small_vgg(key, batch_norm, random_conv_bias, div=16, hidden=128, num_classes=10):
    """torchvision VGG topology with widths / div and a hidden size of
    `hidden` instead of 4096 in the classifier.

    torchvision's VGG init zeroes every conv bias; the exporter then
    de-duplicates the identical bias initializers into Identity nodes.
    random_conv_bias=True gives each conv a distinct random bias instead.
    The classifier gets He-normal weights so the logits are O(1)."""
    feats = make_layers(scaled_cfg(key, div), batch_norm=batch_norm)
    m = VGG(feats, num_classes=num_classes, init_weights=True)
    c = 512 // div
    m.classifier = nn.Sequential(
        nn.Linear(c * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, num_classes))
    with torch.no_grad():
        for mod in m.classifier:
            if isinstance(mod, nn.Linear):
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                mod.bias.uniform_(-0.1, 0.1)
        if random_conv_bias:
            for mod in m.features:
                if isinstance(mod, nn.Conv2d):
                    mod.bias.uniform_(-0.1, 0.1)
    return m


class SmallResNet(ResNet):
    """torchvision's ResNet (its forward() and _make_layer()) with all widths
    divided by `div`: stem 64/div channels, stage planes 64/div .. 512/div."""

    def __init__(self, block, layers, div=8, num_classes=10):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        w = 64 // div
        self.inplanes = w
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, w, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, w, layers[0])
        self.layer2 = self._make_layer(block, 2 * w, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * w, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * w, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def randomize_bn(model, gen):
    """Give every BatchNorm non-trivial running stats and affine params."""
    n = 0
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.empty(c).uniform_(-0.5, 0.5, generator=gen))
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 2.0, generator=gen))
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty(c).uniform_(-0.5, 0.5, generator=gen))
            n += 1
    return n


# --------------------------------------------------------------------------
# Small independent ONNX interpreter (torch functional ops) used only to
# check that each exported graph computes what the torch module computes.
# --------------------------------------------------------------------------
def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sym_pads(pads):
    n = len(pads) // 2
    if list(pads[:n]) == list(pads[n:]):
        return list(pads[:n]), None
    # Asymmetric: explicit F.pad, (left,right) pairs from the last axis.
    pad = []
    for i in reversed(range(n)):
        pad += [pads[i], pads[i + n]]
    return [0] * n, pad


def run_onnx(model_or_path, x):
    m = onnx.load(model_or_path) if isinstance(model_or_path, str) else model_or_path
    g = m.graph
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    env[g.input[0].name] = x
    for node in g.node:
        a = _attrs(node)
        ins = [env[n] if n else None for n in node.input]
        op = node.op_type
        outs = None
        if op == "Conv":
            pads, extra = _sym_pads(a.get("pads", [0, 0, 0, 0]))
            xin = F.pad(ins[0], extra) if extra else ins[0]
            y = F.conv2d(xin, ins[1], ins[2] if len(ins) > 2 else None,
                         stride=a.get("strides", [1, 1]), padding=pads,
                         dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "BatchNormalization":
            y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0,
                             a.get("epsilon", 1e-5))
        elif op == "Relu":
            y = F.relu(ins[0])
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", None)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", None)
            lo = float(lo) if lo is not None else None
            hi = float(hi) if hi is not None else None
            y = torch.clamp(ins[0], lo, hi)
        elif op in ("MaxPool", "AveragePool"):
            pads, extra = _sym_pads(a.get("pads", [0, 0, 0, 0]))
            assert extra is None, "asymmetric pool padding"
            k, s = a["kernel_shape"], a.get("strides", [1, 1])
            ceil = bool(a.get("ceil_mode", 0))
            if op == "MaxPool":
                assert a.get("dilations", [1, 1]) == [1, 1]
                y = F.max_pool2d(ins[0], k, s, pads, ceil_mode=ceil)
            else:
                y = F.avg_pool2d(ins[0], k, s, pads, ceil_mode=ceil,
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            assert mode == "constant", mode
            p = [int(v) for v in (ins[1] if len(ins) > 1 else a["pads"])]
            n = len(p) // 2
            val = float(ins[2]) if len(ins) > 2 and ins[2] is not None else a.get("value", 0.0)
            pad = []
            for i in reversed(range(n)):
                pad += [p[i], p[i + n]]
            y = F.pad(ins[0], pad, value=val)
        elif op == "GlobalAveragePool":
            y = ins[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            shape = [int(v) for v in ins[1]]
            shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
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
            y = torch.cat(ins, dim=a["axis"])
        elif op == "Constant":
            y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
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
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Mul":
            y = ins[0] * ins[1]
        elif op == "ReduceMean":
            axes = a.get("axes") or [int(v) for v in ins[1]]
            y = ins[0].mean(dim=tuple(axes), keepdim=bool(a.get("keepdims", 1)))
        else:
            raise NotImplementedError(op)
        if outs is None:
            outs = [y]
        for name, val in zip(node.output, outs):
            env[name] = val
    return env[g.output[0].name]


# --------------------------------------------------------------------------
def export(model, x, path, opset, preserve_bn=False):
    kw = {}
    if preserve_bn:
        # The exporter's eval-mode peephole folds Conv->BatchNorm into the
        # Conv. TrainingMode.PRESERVE (model is in eval mode) skips that
        # pass, so real inference-mode BatchNormalization nodes remain.
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def save_case(name, x, logits):
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(logits, dtype=np.float32)
    np.save(os.path.join(OUT, name + ".input.npy"), x)
    np.save(os.path.join(OUT, name + ".logits.npy"), y)
    return y


def torch_case(name, model, shape, opset, seed, preserve_bn=False):
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1000)
    nbn = randomize_bn(model, gen)
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        ref = model(x)
    path = os.path.join(OUT, name + ".onnx")
    m = export(model, x, path, opset, preserve_bn)
    with torch.no_grad():
        got = run_onnx(m, x)
        # Also run a different batch size through the graph to exercise the
        # dynamic batch axis (not saved).
        x3 = torch.randn(3, *shape[1:], generator=gen)
        ref3, got3 = model(x3), run_onnx(m, x3)
    scale = ref.abs().max().item()
    err = (got - ref).abs().max().item() / scale
    err3 = (got3 - ref3).abs().max().item() / ref3.abs().max().item()
    y = save_case(name, x.numpy(), ref.numpy())
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    nparams = sum(p.numel() for p in model.parameters())
    print("%-24s opset %-2d in %-16s params %7d  BN modules %2d  max|logit| %.4g  "
          "onnx-interp rel err %.1e (batch 3: %.1e)\n%26s ops: %s"
          % (name, opset, "x".join(map(str, shape)), nparams, nbn, np.abs(y).max(),
             err, err3, "", " ".join("%s:%d" % kv for kv in sorted(ops.items()))), flush=True)
    if err > 1e-5 or err3 > 1e-5:
        sys.exit("%s: ONNX graph disagrees with torch" % name)
    return name


def fmnist_case(name, model_rel):
    imgs = [np.asarray(Image.open(os.path.join(REPO, "models", "samples", s + ".png")))
            for s in SLUGS]
    for im in imgs:
        assert im.shape == (28, 28) and im.dtype == np.uint8, im.shape
    x = np.stack(imgs).astype(np.float32)[:, None] / 255.0
    x = ((x - np.float32(FMNIST_MEAN)) / np.float32(FMNIST_STD)).astype(np.float32)
    path = os.path.join(REPO, model_rel)
    with torch.no_grad():
        y = run_onnx(path, torch.from_numpy(x)).numpy()
    save_case(name, x, y)
    with open(os.path.join(OUT, name + ".model.txt"), "w") as f:
        f.write(model_rel + "\n")
    pred = y.argmax(1)
    print("%-24s model %s  in %s  max|logit| %.4g  argmax %s (expected 0..9: %s)"
          % (name, model_rel, "x".join(map(str, x.shape)), np.abs(y).max(),
             pred.tolist(), "ok" if (pred == np.arange(10)).all() else "MISMATCH"),
          flush=True)
    if not (pred == np.arange(10)).all():
        sys.exit("%s: samples not classified as their class" % name)
    return name


def main():
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True, warn_only=True)
    np.random.seed(0)
    os.makedirs(OUT, exist_ok=True)
    cases = []

    def seeded(seed):
        torch.manual_seed(seed)
        return seed

    s = seeded(1)
    cases.append(torch_case("vgg16_small_op9", small_vgg("D", False, True), (2, 3, 224, 224), 9, s))
    s = seeded(1)  # same weights and input as op9, different opset
    cases.append(torch_case("vgg16_small_op17", small_vgg("D", False, True), (2, 3, 224, 224), 17, s))
    s = seeded(2)
    cases.append(torch_case("resnet50_small_op13", SmallResNet(Bottleneck, [3, 4, 6, 3], div=8),
                            (2, 3, 64, 64), 13, s))
    s = seeded(3)
    cases.append(torch_case("vgg11_bn_small_op11", small_vgg("A", True, False), (1, 3, 224, 224), 11, s,
                            preserve_bn=True))
    s = seeded(4)
    cases.append(torch_case("mobilenet_v2_small_op12",
                            torchvision.models.mobilenet_v2(weights=None, width_mult=0.25,
                                                            num_classes=10),
                            (1, 3, 64, 64), 12, s))
    s = seeded(5)
    cases.append(torch_case("densenet_small_op14",
                            DenseNet(growth_rate=8, block_config=(2, 2, 2, 2),
                                     num_init_features=16, bn_size=2, num_classes=10),
                            (1, 3, 64, 64), 14, s))
    s = seeded(6)
    # 66x66: the first conv gives 32x32, and every ceil_mode MaxPool then
    # sees an even size (32, 16, 8), so ceil_mode really changes the shape.
    cases.append(torch_case("squeezenet_small_op10",
                            torchvision.models.squeezenet1_1(weights=None, num_classes=10),
                            (1, 3, 66, 66), 10, s))
    cases.append(fmnist_case("fmnist_vgg_samples", "models/fmnist_vgg.onnx"))
    cases.append(fmnist_case("fmnist_resnet_samples", "models/fmnist_resnet.onnx"))

    with open(os.path.join(OUT, "forward_cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    mine = [f for f in os.listdir(OUT) if f.split(".")[0] in cases]
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in mine)
    print("%d cases, %d files in %s: %.2f MB" % (len(cases), len(mine), OUT, total / 1e6))


if __name__ == "__main__":
    main()
