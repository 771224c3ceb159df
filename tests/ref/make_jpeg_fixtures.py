#!/usr/bin/python3
"""JPEG fixtures: small JPEGs of every kind dmbp reads, each with the pixels
Pillow decodes from it, plus bad files Pillow refuses.

Run from the repository root with Debian's Python (Pillow 9.4, numpy, torch):

    /usr/bin/python3 tests/ref/make_jpeg_fixtures.py

Writes tests/ref/data/jpeg/:

  <case>.jpg, <case>.npy   the file, and float32 C x H x W of
                           Image.open(f).convert("RGB") (or "L" for gray)
                           as bytes 0..255 (integers stored as floats);
  exif_<n>.jpg             EXIF Orientation n = 1..8; exif_<n>.npy is
                           ImageOps.exif_transpose(Image.open(f)) bytes;
                           without the option the pixels are baseline_444's;
  bad_*.jpg                files Pillow refuses (checked here), and
                           cmyk_noadobe.jpg which Pillow reads by guessing
                           Adobe's polarity but dmbp refuses;
  huge_rgba16.png          a PNG declaring 16384 x 16384 RGBA16 (#11 F7):
                           only its first row of pixel data is present;
  predict.jpg              a 97 x 80 photo-like JPEG, with predict.logits.npy
                           (and .txt, for the shell test):
                           the logits torch computes for
                           tests/ref/data/resnet50_small_op13.onnx's weights
                           on it read with Pillow and preprocessed as
                           torchvision does on tensors (to_tensor,
                           resize(72, antialias=True), center_crop(64),
                           normalize ImageNet), the ONNX graph run by
                           make_forward_fixtures.run_onnx (torch functional
                           ops, checked there against the torch modules).

Deterministic: seeded numpy content, Pillow's encoder.
"""

import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = "tests/ref/data/jpeg"
W, H = 37, 29            # odd sizes: chroma upsampling at ragged edges


def content(h, w, seed):
    """Smooth colour gradients, a few hard edges and some noise: enough
    structure that the IDCT and the upsampler round in many ways."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 255 * x / max(w - 1, 1)
    b = 255 * ((x // 6 + y // 6) % 2)
    img = np.stack([r, g, b], -1) + rng.normal(0, 12, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def planar(im):
    a = np.asarray(im, dtype=np.float32)
    if a.ndim == 2:
        a = a[None]
    else:
        a = a.transpose(2, 0, 1)
    return np.ascontiguousarray(a)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def encode(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def segments(data):
    """(offset, marker, length incl. marker) of the header segments up to
    SOS."""
    out, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        m = data[i + 1]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((i, m, n + 2))
        if m == 0xDA:
            break
        i += n + 2
    return out


def drop_markers(data, marker):
    for off, m, n in reversed(segments(data)):
        if m == marker:
            data = data[:off] + data[off + n:]
    return data


def set_adobe_transform(data, transform):
    for off, m, n in segments(data):
        if m == 0xEE and data[off + 4:off + 9] == b"Adobe":
            # Adobe: "Adobe", version(2), flags0(2), flags1(2), transform(1)
            at = off + 4 + 11
            return data[:at] + bytes([transform]) + data[at + 1:]
    raise SystemExit("no Adobe marker")


def adobe_segment(transform):
    body = b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform)
    return b"\xff\xee" + struct.pack(">H", len(body) + 2) + body


def decoded(data, mode):
    im = Image.open(io.BytesIO(data))
    im.load()
    return planar(im.convert(mode))


def case(name, data, mode="RGB"):
    write(name + ".jpg", data)
    np.save(os.path.join(OUT, name + ".npy"), decoded(data, mode))


def must_fail(name, data):
    try:
        Image.open(io.BytesIO(data)).load()
    except Exception as e:          # noqa: BLE001 (any refusal will do)
        print("  %s: Pillow refuses it (%s)" % (name, str(e).splitlines()[0]))
    else:
        raise SystemExit("Pillow accepted " + name)
    write(name + ".jpg", data)


def huge_png():
    """16384 x 16384 RGBA16 header, one row of (zero) data: a decoder that
    trusts the header would allocate 2 GiB + 3 GiB before finding out."""
    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF))
    side = 16384
    ihdr = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    row = b"\x00" * (1 + side * 8)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(row, 9)) + chunk(b"IEND", b""))


def predict_case():
    import torch
    from torchvision.transforms import functional as TF
    sys.path.insert(0, os.path.dirname(__file__))
    import onnx
    from make_forward_fixtures import run_onnx   # torch-functional interpreter

    img = Image.fromarray(content(80, 97, 7))
    data = encode(img, quality=92)
    write("predict.jpg", data)
    pil = Image.open(io.BytesIO(data)).convert("RGB")
    x = TF.to_tensor(pil)
    x = TF.resize(x, 72, antialias=True)
    x = TF.center_crop(x, 64)
    x = TF.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    model = onnx.load("tests/ref/data/resnet50_small_op13.onnx")
    with torch.no_grad():
        logits = run_onnx(model, x[None].float()).numpy()
    np.save(os.path.join(OUT, "predict.logits.npy"), logits)
    with open(os.path.join(OUT, "predict.logits.txt"), "w") as f:
        f.write(" ".join("%.9g" % v for v in logits[0]) + "\n")
    print("  predict.jpg: logits", np.round(logits[0], 4),
          "max", float(np.abs(logits).max()))


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = Image.fromarray(content(H, W, 1))

    base444 = encode(rgb, quality=90, subsampling=0)
    case("baseline_444", base444)
    case("baseline_420", encode(rgb, quality=90, subsampling=2))
    case("baseline_422", encode(rgb, quality=75, subsampling=1))
    case("progressive_420", encode(rgb, quality=85, subsampling=2,
                                   progressive=True))
    case("progressive_444", encode(rgb, quality=95, subsampling=0,
                                   progressive=True))
    gray = encode(rgb.convert("L"), quality=90)
    case("gray", gray, "L")
    case("gray_progressive", encode(rgb.convert("L"), quality=80,
                                    progressive=True), "L")
    # RGB stored without the YCbCr transform: no JFIF marker, an Adobe
    # marker with transform 0 (libjpeg then reads the components as RGB).
    plain = drop_markers(base444, 0xE0)
    rgb_file = plain[:2] + adobe_segment(0) + plain[2:]
    case("rgb_adobe", rgb_file)
    assert Image.open(io.BytesIO(rgb_file)).mode == "RGB"

    cmyk_img = Image.fromarray(np.concatenate(
        [content(H, W, 2), content(H, W, 3)[:, :, :1]], -1), "CMYK")
    cmyk = encode(cmyk_img, quality=90)   # Pillow writes an Adobe marker
    case("cmyk", cmyk)
    case("cmyk_progressive", encode(cmyk_img, quality=90, progressive=True))
    # YCCK: the same scans read through Adobe transform 2 (libjpeg converts
    # YCC to CMY and passes K): the colours are arbitrary but the
    # conversion path is YCCK's.
    case("ycck", set_adobe_transform(cmyk, 2))

    for n in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = n
        data = encode(rgb, quality=90, subsampling=0, exif=exif.tobytes())
        write("exif_%d.jpg" % n, data)
        t = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        np.save(os.path.join(OUT, "exif_%d.npy" % n), planar(t.convert("RGB")))

    # Bad files.
    noadobe = drop_markers(cmyk, 0xEE)
    write("cmyk_noadobe.jpg", noadobe)
    Image.open(io.BytesIO(noadobe)).load()   # Pillow guesses; we refuse
    must_fail("bad_truncated_header", base444[:120])
    must_fail("bad_truncated_data", base444[:len(base444) * 2 // 3])
    sof = [s for s in segments(base444) if s[1] == 0xC0][0][0]
    # SOF: marker(2) length(2) precision(1) height(2) width(2)
    twelve = base444[:sof + 4] + b"\x0c" + base444[sof + 5:]
    must_fail("bad_12bit", twelve)
    zero_w = base444[:sof + 7] + b"\x00\x00" + base444[sof + 9:]
    must_fail("bad_zero_width", zero_w)
    dqt = [s for s in segments(base444) if s[1] == 0xDB][0][0]
    # A quantisation table of precision 3 (only 0 and 1 exist).
    bad_dqt = base444[:dqt + 4] + b"\x30" + base444[dqt + 5:]
    must_fail("bad_dqt", bad_dqt)
    must_fail("bad_soi_only", b"\xff\xd8\xff\xd9")

    write("huge_rgba16.png", huge_png())
    predict_case()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
