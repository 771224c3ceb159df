#!/usr/bin/python3
"""Seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/): tiny
ONNX models using every supported op family on an 8x8 input, a few small
PNGs from tests/ref/data/img, small JPEGs from tests/ref/data/jpeg,
labels files, IDX and image-list files
for the eval readers (first byte: 1 = idx, 0 = list), and image sets'
manifest lines (issue #21: deep nesting, NUL bytes, crafted records). Small on purpose:
each replays in milliseconds in make check.

    /usr/bin/python3 tests/fuzz/make_seeds.py"""
import os
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
RNG = np.random.default_rng(11)


def w(name, *shape):
    return numpy_helper.from_array(
        (RNG.standard_normal(shape) * 0.3).astype(np.float32), name)


def i64(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def save(nodes, inits, fname, in_shape=("N", 1, 8, 8), opset=13,
         classes=3):
    g = helper.make_graph(
        nodes, "seed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       list(in_shape))],
        [helper.make_tensor_value_info(nodes[-1].output[0],
                                       TensorProto.FLOAT, ["N", classes])],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(CORPUS, "onnx", fname), "wb") as f:
        f.write(m.SerializeToString())


def head(x, c, classes=3, p="h"):
    return ([helper.make_node("GlobalAveragePool", [x], [p + "g"]),
             helper.make_node("Flatten", [p + "g"], [p + "f"]),
             helper.make_node("Gemm", [p + "f", p + "w", p + "b"],
                              ["logits"], transB=1)],
            [w(p + "w", classes, c), w(p + "b", classes)])


def onnx_seeds():
    os.makedirs(os.path.join(CORPUS, "onnx"), exist_ok=True)
    # Conv, ReLU, MaxPool, Gemm.
    n, i = head("p", 4)
    save([helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1] * 4),
          helper.make_node("Relu", ["c"], ["r"]),
          helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2],
                           strides=[2, 2])] + n,
         [w("cw", 4, 1, 3, 3), w("cb", 4)] + i, "conv_relu_pool.onnx")
    # BatchNormalization (folded), LeakyReLU, AveragePool, Softmax.
    n, i = head("a", 2)
    n[-1].output[0] = "lg"
    save([helper.make_node("Conv", ["x", "cw"], ["c"]),
          helper.make_node("BatchNormalization", ["c", "s", "bb", "mu",
                                                  "var"], ["bn"]),
          helper.make_node("LeakyRelu", ["bn"], ["l"], alpha=0.1),
          helper.make_node("AveragePool", ["l"], ["a"], kernel_shape=[3, 3],
                           pads=[1] * 4, strides=[2, 2])] + n +
         [helper.make_node("Softmax", ["lg"], ["logits"], axis=1)],
         [w("cw", 2, 1, 1, 1), w("s", 2), w("bb", 2), w("mu", 2),
          numpy_helper.from_array(np.ones(2, np.float32), "var")] + i,
         "bn_leaky_avg_softmax.onnx")
    # Residual Add, Clip, Concat on channels, Pad.
    n, i = head("cat", 4)
    save([helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1] * 4),
          helper.make_node("Clip", ["a", "lo", "hi"], ["ca"]),
          helper.make_node("Conv", ["ca", "w2"], ["b"], pads=[1] * 4),
          helper.make_node("Add", ["ca", "b"], ["s"]),
          helper.make_node("Pad", ["s", "pads"], ["ps"]),
          helper.make_node("Conv", ["ps", "w3"], ["t"]),
          helper.make_node("Concat", ["s", "t"], ["cat"], axis=1)] + n,
         [w("w1", 2, 1, 3, 3), w("w2", 2, 2, 3, 3), w("w3", 2, 2, 3, 3),
          numpy_helper.from_array(np.float32(0), "lo"),
          numpy_helper.from_array(np.float32(6), "hi"),
          i64("pads", [0, 0, 1, 1, 0, 0, 1, 1])] + i, "add_clip_concat_pad.onnx")
    # Reshape keeping the batch, MatMul, Dropout and Identity.
    save([helper.make_node("Identity", ["x"], ["xi"]),
          helper.make_node("Reshape", ["xi", "shape"], ["r"]),
          helper.make_node("Dropout", ["r"], ["d"]),
          helper.make_node("MatMul", ["d", "mw"], ["logits"])],
         [i64("shape", [0, -1]), w("mw", 64, 3)], "reshape_matmul.onnx")
    # Grouped and dilated convolution, strided, opset 11 Pad and Flatten.
    n, i = head("c2", 4)
    save([helper.make_node("Conv", ["x", "w1"], ["c1"], dilations=[2, 2],
                           pads=[2] * 4),
          helper.make_node("Conv", ["c1", "w2"], ["c2"], group=2,
                           strides=[2, 2], auto_pad="SAME_UPPER")] + n,
         [w("w1", 4, 1, 3, 3), w("w2", 4, 2, 3, 3)] + i, "group_dilate.onnx",
         opset=11)
    # Old opset Softmax and Gemm without bias, fixed batch 1.
    save([helper.make_node("Flatten", ["x"], ["f"]),
          helper.make_node("Gemm", ["f", "gw"], ["g"], transB=1, alpha=0.5),
          helper.make_node("Softmax", ["g"], ["logits"])],
         [w("gw", 3, 64)], "gemm_softmax_op9.onnx", in_shape=(1, 1, 8, 8),
         opset=9)
    # Squeeze-excitation as EfficientNet and MobileNetV3 export it:
    # Sigmoid, HardSigmoid, HardSwish, a per-channel Mul, ReduceMean.
    n, i = head("se", 4)
    save([helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1] * 4),
          helper.make_node("Sigmoid", ["c"], ["sg"]),
          helper.make_node("Mul", ["c", "sg"], ["silu"]),
          helper.make_node("ReduceMean", ["silu"], ["m"], axes=[2, 3],
                           keepdims=1),
          helper.make_node("Conv", ["m", "w2"], ["z"]),
          helper.make_node("HardSigmoid", ["z"], ["hs"], alpha=1 / 6,
                           beta=0.5),
          helper.make_node("Mul", ["silu", "hs"], ["sc"]),
          helper.make_node("HardSwish", ["sc"], ["se"])] + n,
         [w("w1", 4, 1, 3, 3), w("w2", 4, 4, 1, 1)] + i,
         "se_sigmoid_hardswish.onnx", opset=14)
    # ConvNeXt's pieces at opset 17: Transpose to channels-last,
    # LayerNormalization, GELU via Div, Erf, Add, Mul, a layer scale Mul.
    n, i = head("th", 4, p="cx")
    save([helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1] * 4),
          helper.make_node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),
          helper.make_node("LayerNormalization", ["t", "g", "b"], ["ln"],
                           axis=-1, epsilon=1e-6),
          helper.make_node("Div", ["ln", "sq2"], ["d"]),
          helper.make_node("Erf", ["d"], ["e"]),
          helper.make_node("Add", ["e", "one"], ["e1"]),
          helper.make_node("Mul", ["ln", "e1"], ["gx"]),
          helper.make_node("Mul", ["gx", "half"], ["gelu"]),
          helper.make_node("Transpose", ["gelu"], ["tb"], perm=[0, 3, 1, 2]),
          helper.make_node("Tanh", ["tb"], ["th"])] + n,
         [w("w1", 4, 1, 3, 3), w("g", 4), w("b", 4),
          numpy_helper.from_array(np.float32(1.4142135), "sq2"),
          numpy_helper.from_array(np.float32(1), "one"),
          numpy_helper.from_array(np.float32(0.5), "half")] + i,
         "convnext_ln_gelu.onnx", opset=17)
    # LayerNorm decomposed as opset 13 exports it: ReduceMean, Sub, Pow,
    # Sqrt, Div; Squeeze, Unsqueeze and Slice.
    n, i = head("sl", 4, p="lh")
    save([helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1] * 4),
          helper.make_node("ReduceMean", ["c"], ["mu"], axes=[1]),
          helper.make_node("Sub", ["c", "mu"], ["xc"]),
          helper.make_node("Pow", ["xc", "two"], ["sq"]),
          helper.make_node("ReduceMean", ["sq"], ["var"], axes=[1]),
          helper.make_node("Add", ["var", "eps"], ["ve"]),
          helper.make_node("Sqrt", ["ve"], ["sd"]),
          helper.make_node("Div", ["xc", "sd"], ["nx"]),
          helper.make_node("Unsqueeze", ["nx", "ax4"], ["u"]),
          helper.make_node("Squeeze", ["u", "ax4"], ["sqz"]),
          helper.make_node("Slice", ["sqz", "st", "en", "axs"], ["sl"])] + n,
         [w("w1", 4, 1, 3, 3), numpy_helper.from_array(np.float32(2), "two"),
          numpy_helper.from_array(np.float32(1e-5), "eps"),
          i64("ax4", [4]), i64("st", [0]), i64("en", [4]), i64("axs", [1])]
         + i, "layernorm13_slice.onnx")
    # A shape subgraph folded at load: x.view(x.size(0), -1) at opset 9
    # style (Shape, Gather, Unsqueeze, Concat, Cast, Reshape).
    save([helper.make_node("Conv", ["x", "w1"], ["c"]),
          helper.make_node("Shape", ["c"], ["s"]),
          helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
          helper.make_node("Unsqueeze", ["n", "ax0"], ["nu"]),
          helper.make_node("Concat", ["nu", "minus1"], ["shp"], axis=0),
          helper.make_node("Cast", ["shp"], ["shp64"], to=7),
          helper.make_node("Reshape", ["c", "shp64"], ["r"]),
          helper.make_node("MatMul", ["r", "mw"], ["logits"])],
         [w("w1", 2, 1, 3, 3), i64("zero", 0), i64("ax0", [0]),
          i64("minus1", [-1]), w("mw", 72, 3)],
         "shape_fold_view.onnx", in_shape=(1, 1, 8, 8))
    # The regressions are added to the ONNX seeds by make fuzz.


def png_seeds():
    d = os.path.join(CORPUS, "png")
    os.makedirs(d, exist_ok=True)
    for f in ["gray1_13x5.png", "gray4_19x11.png", "ga16_17x9.png",
              "pal8_37x23.png", "rgb8i_37x23.png", "rgba16_23x37.png",
              "pal4t_50x64.png", "bad_crc.png", "bad_truncated.png",
              "bad_huge.png"]:
        shutil.copy(os.path.join(TOP, "tests/ref/data/img", f), d)


def jpeg_seeds():
    """The small JPEG fixtures of tests/test_jpeg, each behind one byte
    that fuzz_jpeg reads as the EXIF setting (0: pixels as stored, 1:
    apply the Orientation tag)."""
    d = os.path.join(CORPUS, "jpeg")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(TOP, "tests/ref/data/jpeg")
    for f, exif in [("gray", 0), ("gray_progressive", 0),
                    ("progressive_420", 0), ("baseline_422", 0),
                    ("cmyk", 0), ("ycck", 0), ("rgb_adobe", 0),
                    ("bad_truncated_data", 0), ("exif_6", 1),
                    ("exif_3", 1)]:
        with open(os.path.join(src, f + ".jpg"), "rb") as fin, \
                open(os.path.join(d, f), "wb") as fout:
            fout.write(bytes([exif]) + fin.read())


def text_seeds():
    d = os.path.join(CORPUS, "labels")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "ten.txt"), "w") as f:
        f.write("".join("class %d\n" % i for i in range(10)))
    with open(os.path.join(d, "crlf_noeol.txt"), "wb") as f:
        f.write(b"T-shirt/top\r\nTrouser\r\n\r\nlast")
    d = os.path.join(CORPUS, "images")
    os.makedirs(d, exist_ok=True)
    # IDX3 of unsigned bytes: magic 0x00000803, count, rows, cols, data.
    img = RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    with open(os.path.join(d, "idx3_3x4x5"), "wb") as f:
        f.write(b"\1" + struct.pack(">IIII", 0x803, 3, 4, 5) + img.tobytes())
    with open(os.path.join(d, "list"), "wb") as f:
        f.write(b"\0" + b"# a comment\n\nnot-there.png\n")
    labels_issue21()


def labels_issue21():
    """--labels lines of issue #21: a NUL byte, 4094 bytes of text before
    CRLF (accepted), 4095 (refused). The first byte is the class count."""
    d = os.path.join(CORPUS, "labels")
    with open(os.path.join(d, "nul_byte.txt"), "wb") as f:
        f.write(b"\x0aA\0Trouser\nB\n" + b"".join(b"c%d\n" % i for i in range(9)))
    with open(os.path.join(d, "crlf_4094.txt"), "wb") as f:
        f.write(b"\x01" + b"x" * 4094 + b"\r\n")
    with open(os.path.join(d, "long_4095.txt"), "wb") as f:
        f.write(b"\x01" + b"x" * 4095 + b"\r\n")


def manifest_seeds():
    """Manifest lines (fuzz_manifest: one line per record, parsed as
    --resume reads them)."""
    d = os.path.join(CORPUS, "manifest")
    os.makedirs(d, exist_ok=True)
    fp = (b'{"set": {"dmbp": "0.1.0", "command": "explain", "model": '
          b'"fnv1a64:fcf3497aca0ce01b size 1750045", "--method": "saliency", '
          b'"--target": "auto"}}\n')
    claim = (b'{"input": "imgs/bag.png", "status": "claimed", "outputs": '
             b'{"0": "o/bag-saliency.png", "1": "o/bag-saliency.npy"}}\n')
    ok = (b'{"input": "imgs/bag.png", "status": "ok", "input_size": 448, '
          b'"input_mtime_ns": 1796510978446787782, "method": "saliency", '
          b'"target": 8, "label": "Bag", "logit": 9.2, "prob": 0.99, '
          b'"outputs": {"png": "o/bag-saliency.png", "npy": '
          b'"o/bag-saliency.npy"}, "scalars": {"x": null}, "rank": 0, '
          b'"seconds": 0.054}\n')
    failed = (b'{"input": "imgs/bag.png", "status": "failed", "exit_status": '
              b'4, "error": "imgs/bag.png: not a PNG", "rank": 0, '
              b'"seconds": 0.000}\n')
    seeds = {
        "valid": fp + claim + ok + failed,
        # A line of nested brackets (issue #21: SIGSEGV in json_skip).
        "deep": b'{"input": "a", "x": ' + b"[" * 200000 + b"\n",
        "deep_closed": b'{"input": "a", "status": "ok", "x": ' +
                       b"[" * 40 + b"]" * 40 + b"}\n",
        # A name cut by an escaped NUL, and a raw NUL byte.
        "nul_escape": b'{"input": "imgs/bag.png\\u0000junk", "status": '
                      b'"ok", "outputs": {"png": "o/bag.png"}}\n',
        "nul_raw": b'{"input": "imgs/bag.png\0junk", "status": "ok", '
                   b'"outputs": {"png": "o/bag.png"}}\n',
        "surrogates": b'{"input": "\\ud83d\\ude00 \\ud800 \\udc00 '
                      b'\\u12", "status": "ok"}\n',
        "numbers": b'{"input": "a", "status": "ok", "input_size": '
                   b'99999999999999999999999, "input_mtime_ns": -1, '
                   b'"outputs": {}}\n',
        "set_late": claim + fp + b'{"set": 5}\n{"set": {"a": 1}}\n',
        "garbage": b'{"input": "a", "status": "ok"} trailing\n{\n}\n"\n',
        # dmbp eval's records (issue #22): no files, the numbers in "eval".
        "eval": b'{"set": {"dmbp": "0.2.0", "command": "eval", "model": '
                b'"fnv1a64:fcf3497aca0ce01b size 1750045", "--methods": '
                b'"gxi"}}\n{"input": "s/bag.png", "status": "ok", '
                b'"input_size": 448, "input_mtime_ns": 1, "outputs": {}, '
                b'"eval": [[8, 0.99, 1, 0.1, 0.2, 0, 0.5, null, 1e-3, -0, '
                b'2.5]], "layers": ["/fc/Gemm"], "rank": 0, '
                b'"seconds": 0.1}\n',
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    onnx_seeds()
    png_seeds()
    jpeg_seeds()
    text_seeds()
    manifest_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
