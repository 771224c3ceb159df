#!/usr/bin/python3
"""Models without dmbp.* metadata for the preprocessing defaults (#9 item 4).

Run with Debian's python3 (python3-onnx, python3-pil):
    /usr/bin/python3 tests/ref/make_preprocess_fixtures.py
Writes tests/ref/data/pre/:
  static28.onnx   input [1, 1, 28, 28], Conv 1x1 -> GlobalAveragePool ->
                  Flatten (3 classes), no metadata: the declared size is the
                  default crop (28) and resize (28 * 256 / 224 = 32)
  dynamic_hw.onnx input [N, 1, H, W]: ImageNet's defaults (256, 224)
  gray28.png      a 28x28 gray image, the declared size exactly
  gray30.png      a 30x30 gray image
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "pre")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(9)


def model(dims, name):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [dims[0], 3])
    w = rng.standard_normal((3, 1, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["y"], name="flat")]
    g = helper.make_graph(nodes, "g", [x], [y],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name))


model([1, 1, 28, 28], "static28.onnx")
model(["N", 1, "H", "W"], "dynamic_hw.onnx")
for side in (28, 30):
    img = rng.integers(0, 256, size=(side, side), dtype=np.uint8)
    Image.fromarray(img, mode="L").save(os.path.join(OUT, "gray%d.png" % side))
print("wrote", sorted(os.listdir(OUT)))
