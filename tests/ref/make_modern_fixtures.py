#!/usr/bin/python3
"""Fixtures for the modern CNN ops: reduced-width copies of torchvision's
MobileNetV3-small, EfficientNet-B0, RegNetY-400MF, ShuffleNetV2, MNASNet,
ConvNeXt-tiny and GoogLeNet (torchvision's own classes with fewer channels and
blocks).

Run from anywhere (paths are relative to this file):

    /usr/bin/python3 tests/ref/make_modern_fixtures.py

For each case it writes, into tests/ref/data/:

    <case>.onnx         the model (opset 13; ConvNeXt also at 17 for
                        LayerNormalization), dynamic batch axis
    <case>.input.npy    float32 [2, 3, 64, 64], seeded normal
    <case>.logits.npy   float32 [2, 10]: torch's output

adds the case names to forward_cases.txt (tests/test_forward compares the
logits, tests/test_reverse checks the reverse passes of every listed model)
or, for the models in FORWARD_ONLY, to forward_only_cases.txt (logits only:
their reverse passes do not pass tests/test_reverse yet),
and writes into tests/ref/data/modern/:

    <case>.gxi.npy      float32 [3, 64, 64]: gradient x input of image 0 for
                        torch's top class (autograd)
    cases.txt           "<case> <target>" lines for tests/test_modern

Weights: torchvision's init, then every BatchNorm gets random running
statistics and affine parameters, every LayerNorm a random affine map and
ConvNeXt's layer scales random values in [0.5, 1.5] (torchvision's 1e-6
would hide the blocks).
"""

import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import mobilenetv3, efficientnet, regnet, convnext
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.mnasnet import MNASNet
from torchvision.models.googlenet import GoogLeNet, Inception, BasicConv2d

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
MOD = os.path.join(OUT, "modern")
CLASSES = 10
SIZE = 64
BATCH = 2


def mobilenet_v3_small():
    setting, last = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
    return mobilenetv3.MobileNetV3(setting, last // 4, num_classes=CLASSES)


def efficientnet_b0():
    setting, last = efficientnet._efficientnet_conf("efficientnet_b0", width_mult=0.25,
                                                   depth_mult=0.4)
    return efficientnet.EfficientNet(setting, 0.2, num_classes=CLASSES, last_channel=last)


def regnet_y_400mf():
    params = regnet.BlockParams.from_init_params(depth=5, w_0=16, w_a=8.0, w_m=2.0,
                                                 group_width=8, se_ratio=0.25)
    return regnet.RegNet(params, num_classes=CLASSES, stem_width=8)


def shufflenet_v2():
    return ShuffleNetV2([2, 2, 1], [8, 16, 32, 64, 128], num_classes=CLASSES)


def mnasnet():
    return MNASNet(0.25, num_classes=CLASSES)


def convnext_tiny():
    C = convnext.CNBlockConfig
    return convnext.ConvNeXt([C(8, 16, 1), C(16, 32, 2), C(32, None, 1)],
                             num_classes=CLASSES)


class SmallGoogLeNet(GoogLeNet):
    """torchvision's GoogLeNet (no auxiliary heads, as in eval mode; no
    transform_input, as weights=None) with every width divided by about 8.
    What matters for issue #9 is kept: the ceil-mode 3x3/2 max pools, the
    3x3/1 pool of each Inception block's fourth branch, whose overlapping
    windows see duplicated values, and the concatenations. PyTorch's default
    init instead of GoogLeNet's trunc_normal(0.01), which would make the
    logits vanish at this width."""

    def __init__(self):
        super().__init__(num_classes=CLASSES, aux_logits=False, init_weights=False)
        c, inc = BasicConv2d, Inception
        self.conv1 = c(3, 8, kernel_size=7, stride=2, padding=3)
        self.conv2 = c(8, 8, kernel_size=1)
        self.conv3 = c(8, 24, kernel_size=3, padding=1)
        self.inception3a = inc(24, 8, 12, 16, 2, 4, 4)        # 32 channels out
        self.inception3b = inc(32, 16, 16, 24, 4, 12, 8)      # 60
        self.inception4a = inc(60, 24, 12, 26, 2, 6, 8)       # 64
        self.inception4b = inc(64, 20, 14, 28, 3, 8, 8)       # 64
        self.inception4c = inc(64, 16, 16, 32, 3, 8, 8)       # 64
        self.inception4d = inc(64, 14, 18, 36, 4, 8, 8)       # 66
        self.inception4e = inc(66, 32, 20, 40, 4, 16, 16)     # 104
        self.inception5a = inc(104, 32, 20, 40, 4, 16, 16)    # 104
        self.inception5b = inc(104, 48, 24, 48, 6, 16, 16)    # 128
        self.fc = nn.Linear(128, CLASSES)


def googlenet():
    return SmallGoogLeNet()


CASES = [("mobilenet_v3_small_small_op13", mobilenet_v3_small, 13),
         ("efficientnet_b0_small_op13", efficientnet_b0, 13),
         ("regnet_y_400mf_small_op13", regnet_y_400mf, 13),
         ("shufflenet_v2_small_op13", shufflenet_v2, 13),
         ("mnasnet_small_op13", mnasnet, 13),
         ("convnext_tiny_small_op13", convnext_tiny, 13),
         ("convnext_tiny_small_op17", convnext_tiny, 17),
         ("googlenet_small_op13", googlenet, 13)]


# Models kept out of tests/test_reverse's list (known failures). Empty since
# the arena fix of issue #9 (EfficientNet's mask gradient had disagreed
# with difference quotients: see make_reverse_fixtures.py).
FORWARD_ONLY = []


def randomize(model, gen):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            shape = m.weight.shape
            with torch.no_grad():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.copy_(torch.empty(shape).uniform_(-0.5, 0.5, generator=gen))
                    m.running_var.copy_(torch.empty(shape).uniform_(0.5, 2.0, generator=gen))
                m.weight.copy_(torch.empty(shape).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty(shape).uniform_(-0.5, 0.5, generator=gen))
        if isinstance(m, convnext.CNBlock):
            with torch.no_grad():
                m.layer_scale.copy_(torch.empty(m.layer_scale.shape).uniform_(
                    0.5, 1.5, generator=gen))


def main():
    torch.set_num_threads(2)
    os.makedirs(MOD, exist_ok=True)
    fwd_list = os.path.join(OUT, "forward_cases.txt")
    with open(fwd_list) as f:
        listed = [l.strip() for l in f if l.strip() and l.strip() not in FORWARD_ONLY]
    lines = []
    for name, make, opset in CASES:
        torch.manual_seed(0)
        model = make().eval()
        randomize(model, torch.Generator().manual_seed(1))
        gen = torch.Generator().manual_seed(2)
        x = torch.randn(BATCH, 3, SIZE, SIZE, generator=gen)
        path = os.path.join(OUT, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x[:1], path, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              do_constant_folding=True)
        with torch.no_grad():
            logits = model(x)
        np.save(os.path.join(OUT, name + ".input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(OUT, name + ".logits.npy"), logits.numpy().astype(np.float32))
        target = int(logits[0].argmax())
        xg = x[:1].clone().requires_grad_(True)
        model(xg)[0, target].backward()
        gxi = (xg.grad * x[:1])[0].numpy().astype(np.float32)
        np.save(os.path.join(MOD, name + ".gxi.npy"), gxi)
        lines.append("%s %d" % (name, target))
        if name not in listed and name not in FORWARD_ONLY:
            listed.append(name)
        print("%-32s %6.1f kB  max|logit| %.3g  target %d" % (
            name, os.path.getsize(path) / 1e3, float(logits.abs().max()), target))
    with open(fwd_list, "w") as f:
        f.write("\n".join(listed) + "\n")
    with open(os.path.join(OUT, "forward_only_cases.txt"), "w") as f:
        f.write("# Forward parity only (tests/ref/make_modern_fixtures.py, FORWARD_ONLY):\n"
                "# tests/test_reverse does not pass on these yet.\n")
        f.write("\n".join(FORWARD_ONLY) + "\n")
    with open(os.path.join(MOD, "cases.txt"), "w") as f:
        f.write("# tests/ref/make_modern_fixtures.py: <case> <target class of image 0>\n")
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
