#!/usr/bin/python3
"""Small ONNX files for tests/test_api.c and the CLI error tests.

Run with Debian's python3 (python3-onnx, python3-torch):
    /usr/bin/python3 tests/ref/make_api_fixtures.py
Writes tests/ref/data/api/. Expected numbers are computed here with torch,
independently of libdmbp.
"""
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "api")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)


def save(model, name, **kw):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name), **kw)


def tiny_graph(nodes, inits, out_shape=(1, 3)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))
    return helper.make_graph(nodes, "g", [x], [y], inits)


def opset(v=13):
    return [helper.make_opsetid("", v)]


# 1. A custom op: x -> Relu -> ScaleBy(k=2.5, domain org.dmbp.test) -> GAP
#    -> Flatten. The test registers ScaleBy and checks
#    y[c] = 2.5 * mean(relu(x[c])) by hand algebra.
nodes = [
    helper.make_node("Relu", ["x"], ["r"], name="relu"),
    helper.make_node("ScaleBy", ["r"], ["s"], name="scale", k=2.5,
                     domain="org.dmbp.test"),
    helper.make_node("GlobalAveragePool", ["s"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["y"], name="flat"),
]
m = helper.make_model(tiny_graph(nodes, []),
                      opset_imports=opset() + [helper.make_opsetid("org.dmbp.test", 1)])
onnx.save(m, os.path.join(OUT, "custom_op.onnx"))  # checker rejects unknown ops

# 2. An unsupported op (Selu).
nodes = [helper.make_node("Selu", ["x"], ["s"], name="selu"),
         helper.make_node("GlobalAveragePool", ["s"], ["g"]),
         helper.make_node("Flatten", ["g"], ["y"])]
save(helper.make_model(tiny_graph(nodes, []), opset_imports=opset()),
     "unsupported_op.onnx")

# 3. A NaN in a weight, and an int8 weight.
w = rng.standard_normal((3, 3, 1, 1)).astype(np.float32)
w[1, 2, 0, 0] = np.nan
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
         helper.make_node("GlobalAveragePool", ["c"], ["g"]),
         helper.make_node("Flatten", ["g"], ["y"])]
save(helper.make_model(tiny_graph(nodes, [numpy_helper.from_array(w, "w")]),
                       opset_imports=opset()), "nan_weight.onnx")
w8 = (rng.standard_normal((3, 3, 1, 1)) * 10).astype(np.int8)
save(helper.make_model(tiny_graph(nodes, [numpy_helper.from_array(w8, "w")]),
                       opset_imports=opset()), "int8_weight.onnx")

# 4. Weights in an external-data side file, with torch's answer.
w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal((3,)).astype(np.float32)
nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv",
                          pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["c"], ["g"]),
         helper.make_node("Flatten", ["g"], ["y"])]
m = helper.make_model(tiny_graph(nodes, [numpy_helper.from_array(w, "w"),
                                         numpy_helper.from_array(b, "b")]),
                      opset_imports=opset())
onnx.checker.check_model(m)
onnx.save(m, os.path.join(OUT, "external.onnx"), save_as_external_data=True,
          all_tensors_to_one_file=True, location="external.onnx.data",
          size_threshold=0)
x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
with torch.no_grad():
    y = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                   torch.from_numpy(b), padding=1)
    y = y.mean(dim=(2, 3))
np.save(os.path.join(OUT, "external.input.npy"), x)
np.save(os.path.join(OUT, "external.logits.npy"), y.numpy().astype(np.float32))

# 5. A truncated model: the first half of a valid one.
with open(os.path.join(OUT, "external.onnx"), "rb") as f:
    data = f.read()
valid = onnx.load(os.path.join(OUT, "nan_weight.onnx")).SerializeToString()
with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
    f.write(valid[: len(valid) // 2])

# 6. A model whose external data points outside its directory.
m = onnx.load(os.path.join(OUT, "external.onnx"), load_external_data=False)
for t in m.graph.initializer:
    for e in t.external_data:
        if e.key == "location":
            e.value = "../../../../etc/passwd"
onnx.save(m, os.path.join(OUT, "external_escape.onnx"))
print("wrote", sorted(os.listdir(OUT)))
