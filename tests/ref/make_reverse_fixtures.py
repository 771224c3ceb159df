#!/usr/bin/python3
"""Fixture for tests/test_reverse: the smallest model found that showed the
arena bug of issue #9 (a forward-pass copy of an activation, read by the
backward pass, shared its bytes with a tangent-only buffer, so the second
backward pass after a tangent pass read garbage). A 1x1 expansion to 48
channels, x * sigmoid(x) (SiLU as torch exports it at opset 13: Sigmoid
and a Mul of two computed tensors), a 1x1 projection, global average
pooling and a classifier.

Run from anywhere (paths are relative to this file):

    /usr/bin/python3 tests/ref/make_reverse_fixtures.py

writes into tests/ref/data/:

    silu_expand_op13.onnx        the model, dynamic batch axis
    silu_expand_op13.input.npy   float32 [2, 3, 8, 8], seeded normal
    silu_expand_op13.logits.npy  float32 [2, 5]: torch's output

and adds the case to forward_cases.txt (tests/test_forward compares the
logits; tests/test_reverse checks the reverse passes).
"""

import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
NAME = "silu_expand_op13"


class SiluExpand(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.expand = nn.Conv2d(8, 48, 1)
        self.project = nn.Conv2d(48, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = self.expand(self.stem(x))
        y = y * torch.sigmoid(y)
        return self.fc(self.project(y).mean((2, 3)))


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = SiluExpand().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    path = os.path.join(OUT, NAME + ".onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x[:1], path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(OUT, NAME + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, NAME + ".logits.npy"), logits.numpy().astype(np.float32))
    lst = os.path.join(OUT, "forward_cases.txt")
    with open(lst) as f:
        listed = [l.strip() for l in f if l.strip()]
    if NAME not in listed:
        listed.append(NAME)
        with open(lst, "w") as f:
            f.write("\n".join(listed) + "\n")
    print("%s: %.1f kB, max|logit| %.3g" % (NAME, os.path.getsize(path) / 1e3,
                                            float(logits.abs().max())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
