#!/usr/bin/python3
"""A model using the example plugin's op (examples/swish_plugin.c) and
PyTorch's attributions on it, for tests/cli_plugin.sh.

Run with Debian's python3 (python3-torch, python3-onnx, python3-pil):
    /usr/bin/python3 tests/ref/make_plugin_fixtures.py
Writes tests/ref/data/plugin/:
  swish.onnx       input [1, 3, 32, 32]: Conv 3x3 -> Swishx(beta 1.5) ->
                   MaxPool 2 -> Conv 3x3 -> Swishx(beta 1) ->
                   GlobalAveragePool -> Flatten -> Gemm (5 classes); the
                   Swishx nodes are in domain org.dmbp.example, assembled
                   with onnx.helper (x * sigmoid(beta * x))
  input.png        a seeded random 32x32 RGB image
  target.txt       PyTorch's top class
  saliency.npy, gxi.npy, guided.npy   (3x32x32) for that class, autograd:
                   the gradient, gradient x input, and guided
                   backpropagation (negative gradients removed where they
                   enter each Swishx, as dmbp does at every gate)
"""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "plugin")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
BETAS = (1.5, 1.0)

w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.4).astype(np.float32)
b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
w2 = (rng.standard_normal((8, 8, 3, 3)) * 0.25).astype(np.float32)
b2 = (rng.standard_normal(8) * 0.1).astype(np.float32)
wf = rng.standard_normal((5, 8)).astype(np.float32)
bf = (rng.standard_normal(5) * 0.1).astype(np.float32)

DOMAIN = "org.dmbp.example"
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Swishx", ["c1"], ["s1"], name="swish1", beta=BETAS[0], domain=DOMAIN),
    helper.make_node("MaxPool", ["s1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Swishx", ["c2"], ["s2"], name="swish2", beta=BETAS[1], domain=DOMAIN),
    helper.make_node("GlobalAveragePool", ["s2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["f"], name="flat"),
    helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
]
inits = [numpy_helper.from_array(a, n) for a, n in
         [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (wf, "wf"), (bf, "bf")]]
g = helper.make_graph(nodes, "swish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])
onnx.save(m, os.path.join(OUT, "swish.onnx"))  # the checker rejects unknown ops

img = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
Image.fromarray(img, mode="RGB").save(os.path.join(OUT, "input.png"))
x = torch.from_numpy(((img.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).copy())[None]


class GuidedSwish(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, beta):
        ctx.save_for_backward(v)
        ctx.beta = beta
        return v * torch.sigmoid(beta * v)

    @staticmethod
    def backward(ctx, dy):
        (v,) = ctx.saved_tensors
        s = torch.sigmoid(ctx.beta * v)
        return dy.clamp(min=0) * (s + ctx.beta * v * s * (1 - s)), None


def net(inp, guided=False):
    def swish(v, beta):
        return GuidedSwish.apply(v, beta) if guided else v * torch.sigmoid(beta * v)
    t = torch.nn.functional.conv2d(inp, torch.from_numpy(w1), torch.from_numpy(b1), padding=1)
    t = torch.nn.functional.max_pool2d(swish(t, BETAS[0]), 2)
    t = torch.nn.functional.conv2d(t, torch.from_numpy(w2), torch.from_numpy(b2), padding=1)
    t = swish(t, BETAS[1]).mean(dim=(2, 3))
    return t @ torch.from_numpy(wf).T + torch.from_numpy(bf)


def grad(guided):
    xi = x.clone().requires_grad_()
    y = net(xi, guided)
    y[0, target].backward()
    return xi.grad[0].numpy()


with torch.no_grad():
    logits = net(x)[0].numpy()
target = int(np.argmax(logits))
with open(os.path.join(OUT, "target.txt"), "w") as f:
    f.write("%d\n" % target)
g = grad(False)
np.save(os.path.join(OUT, "saliency.npy"), g.astype(np.float32))
np.save(os.path.join(OUT, "gxi.npy"), (g * x[0].numpy()).astype(np.float32))
np.save(os.path.join(OUT, "guided.npy"), grad(True).astype(np.float32))
print("logits", logits, "target", target)
