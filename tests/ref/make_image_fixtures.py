#!/usr/bin/python3
"""Fixtures for tests/test_image.c: PNG files, what the loader must return
for them, and what the preprocessing must return (computed by torchvision).

Run with Debian's python (torch 1.13, torchvision 0.14, numpy):
    /usr/bin/python3 tests/ref/make_image_fixtures.py
It rewrites tests/ref/data/img/ and is deterministic (fixed seeds, no
timestamps), so a re-run leaves git clean.

The PNG files are encoded here, byte by byte with zlib, rather than with
PIL: that way every colour type, bit depth, palette, tRNS and gAMA chunk,
filter type and Adam7 interlacing is exactly what we ask for, and the
expected decoded values come straight from the samples we wrote, never
from a PNG decoder.

Files written (planar arrays are C x H x W float32, like dmbp_image):
  <name>.png          a test image
  <name>.npy          the loader's expected output, stored sample / max
  <name>_alpha.npy    the alpha plane (H x W, alpha / max) of 16-bit
                      images with alpha, whose colour libpng returns
                      premultiplied (the C test derives its per-pixel
                      tolerance from it)
  pre_<case>.npy      expected dmbp_image_preprocess output
  bad_*.png           inputs the loader must reject
"""

import os
import struct
import zlib

import numpy as np
import torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "img")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# IHDR colour types
GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA = 0, 2, 3, 4, 6
CHANNELS = {GRAY: 1, RGB: 3, PALETTE: 1, GRAY_ALPHA: 2, RGBA: 4}
# gAMA values (gamma * 100000): 1/2.2 is what most files carry; 1.0 would
# make libpng's simplified API re-encode 8-bit samples unless the loader
# ignores the chunk, as PIL and torchvision do.
GAMMA_SRGB = 45455
GAMMA_LINEAR = 100000
# Adam7 passes: x0, y0, dx, dy
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# The weights of dmbp_image_preprocess's RGB -> gray (PIL's convert("L")).
LUMA = (0.299, 0.587, 0.114)


# ---------------------------------------------------------------- encoder

def chunk(ctype, data):
    crc = zlib.crc32(ctype + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc)


def pack_row(samples, depth):
    """One scanline's samples (1-D ints) as bytes, big-endian, bits MSB
    first and the last byte padded with zeros."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // depth
    n = len(samples)
    padded = np.zeros(-(-n // per_byte) * per_byte, dtype=np.int64)
    padded[:n] = samples
    padded = padded.reshape(-1, per_byte)
    shifts = np.arange(per_byte - 1, -1, -1) * depth
    return (padded << shifts).sum(axis=1).astype(np.uint8).tobytes()


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if ftype == 0:
            pred = 0
        elif ftype == 1:
            pred = a
        elif ftype == 2:
            pred = b
        elif ftype == 3:
            pred = (a + b) // 2
        else:
            pred = paeth(a, b, c)
        out[i] = (x - pred) & 0xFF
    return bytes(out)


def filter_image(rows, bpp, filters):
    """Filter a list of packed scanlines. filters: "cycle" uses types
    0,1,2,3,4,0,... by row (every unfilter path of the decoder runs);
    "best" picks per row the smallest sum of |signed bytes| (compresses
    like real encoders)."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        if filters == "cycle":
            ft = y % 5
            data = filter_row(ft, row, prev, bpp)
        else:
            best = None
            for ft in range(5):
                cand = filter_row(ft, row, prev, bpp)
                cost = sum(v if v < 128 else 256 - v for v in cand)
                if best is None or cost < best[0]:
                    best = (cost, ft, cand)
            _, ft, data = best
        out.append(ft)
        out += data
        prev = row
    return bytes(out)


def encode_png(samples, depth, ctype, extra=(), trns=None, palette=None,
               interlace=False, filters="cycle"):
    """samples: H x W x channels ints (palette: indices, H x W x 1)."""
    h, w, ch = samples.shape
    assert ch == CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0,
                       1 if interlace else 0)
    if interlace:
        raw = bytearray()
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            rows = [pack_row(r.reshape(-1), depth) for r in sub]
            raw += filter_image(rows, bpp, filters)
        raw = bytes(raw)
    else:
        rows = [pack_row(r.reshape(-1), depth) for r in samples]
        raw = filter_image(rows, bpp, filters)
    out = PNG_SIGNATURE + chunk(b"IHDR", ihdr)
    for ctype_name, data in extra:            # gAMA etc. precede PLTE
        out += chunk(ctype_name, data)
    if palette is not None:
        out += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        out += chunk(b"tRNS", trns)
    # Two IDAT chunks: the decoder must join them.
    z = zlib.compress(raw, 9)
    half = len(z) // 2
    out += chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:])
    out += chunk(b"IEND", b"")
    return out


def gama(value):
    return (b"gAMA", struct.pack(">I", value))


# ---------------------------------------------------------------- content

def noise(rng, h, w, ch, depth):
    """Random samples with the extremes forced in (0 and max)."""
    top = (1 << depth) - 1
    s = rng.randint(0, top + 1, size=(h, w, ch)).astype(np.int64)
    s[0, 0, :] = 0
    s[-1, -1, :] = top
    return s


def alpha_plane(rng, h, w, depth):
    """Alpha with every interesting value: 0 (colour invisible), max
    (opaque), 1, and random values in between."""
    top = (1 << depth) - 1
    a = rng.randint(0, top + 1, size=(h, w)).astype(np.int64)
    a[0, :] = 0
    a[1, :] = top
    a[2, 0] = 1
    a[2, 1] = top - 1
    return a


def smooth_rgb(h, w, rng):
    """A photo-like 8-bit image: gradients, a sharp-edged disc, stripes and
    a noisy patch, so that resampling errors would show and the PNG stays
    small."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 0.5 + 0.5 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = x / (w - 1)
    b = ((x // 6 + y // 6) % 2) * 0.8 + 0.1
    disc = (x - 0.6 * w) ** 2 + (y - 0.4 * h) ** 2 < (0.2 * min(h, w)) ** 2
    r[disc], g[disc] = 1.0, 0.0
    img = np.stack([r, g, b], axis=-1)
    img = np.round(img * 255).astype(np.int64)
    ph, pw = min(40, h // 2), min(40, w // 2)
    img[:ph, :pw] = rng.randint(0, 256, size=(ph, pw, 3))
    return np.clip(img, 0, 255)


# ---------------------------------------------------------------- writing

def save_npy(name, arr):
    np.save(os.path.join(OUT, name + ".npy"),
            np.ascontiguousarray(arr, dtype="<f4"))


def save_png(name, data):
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        f.write(data)


def planar(x):
    """H x W x C -> C x H x W."""
    return np.ascontiguousarray(np.transpose(x, (2, 0, 1)))


def scaled(samples, depth):
    """Stored sample / max in float32, as the loader computes it."""
    return samples.astype(np.float32) / np.float32((1 << depth) - 1)


LOADED = {}   # name -> expected loader output (C x H x W float32)


def loader_case(name, samples, depth, ctype, **kw):
    """Write a PNG and the loader's expected planar output. Alpha (the
    last channel of GA/RGBA samples) is dropped."""
    save_png(name, encode_png(samples, depth, ctype, **kw))
    colour = samples[..., :3] if ctype in (RGB, RGBA) else samples[..., :1]
    exp = planar(scaled(colour, depth))
    if depth == 16 and ctype in (GRAY_ALPHA, RGBA):
        # libpng returns 16-bit colour premultiplied; where alpha is 0 the
        # colour is lost and dmbp gives 0.
        alpha = samples[..., -1]
        exp[:, alpha == 0] = 0.0
        save_npy(name + "_alpha", scaled(alpha, depth))
    save_npy(name, exp)
    LOADED[name] = exp


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".png", ".npy")):
            os.remove(os.path.join(OUT, f))
    rng = np.random.RandomState(20240611)

    # Gray 8-bit with a tRNS colour key (alpha from tRNS is dropped too).
    s = noise(rng, 23, 37, 1, 8)
    loader_case("gray8_37x23", s, 8, GRAY, trns=struct.pack(">H", 17))

    # Gray 16-bit tagged gAMA 1/2.2: libpng's simplified API would convert
    # such a 16-bit file to linear light; the loader must not.
    s = noise(rng, 64, 50, 1, 16)
    loader_case("gray16_50x64", s, 16, GRAY, extra=[gama(GAMMA_SRGB)])

    # Gray 4-bit and 1-bit: libpng expands to 8 bits by replication, which
    # is exactly sample * 255 / (2^depth - 1).
    s = noise(rng, 11, 19, 1, 4)
    loader_case("gray4_19x11", s, 4, GRAY)
    s = noise(rng, 5, 13, 1, 1)
    loader_case("gray1_13x5", s, 1, GRAY)

    # Gray + alpha.
    s = noise(rng, 37, 23, 2, 8)
    s[..., 1] = alpha_plane(rng, 37, 23, 8)
    loader_case("ga8_23x37", s, 8, GRAY_ALPHA)
    s = noise(rng, 9, 17, 2, 16)
    s[..., 1] = alpha_plane(rng, 9, 17, 16)
    loader_case("ga16_17x9", s, 16, GRAY_ALPHA)

    # RGB 8-bit tagged gAMA 1.0 (would be re-encoded to sRGB by libpng).
    s = noise(rng, 17, 300, 3, 8)
    loader_case("rgb8_300x17", s, 8, RGB, extra=[gama(GAMMA_LINEAR)])

    # RGB 8-bit, Adam7 interlaced, odd size (passes of uneven width).
    s = noise(rng, 23, 37, 3, 8)
    loader_case("rgb8i_37x23", s, 8, RGB, interlace=True)

    # RGB 16-bit with a tRNS colour key that occurs in the image, and gAMA.
    s = noise(rng, 23, 37, 3, 16)
    key = (1234, 40000, 65535)
    s[5, 7] = key
    s[6, 8] = key
    loader_case("rgb16_37x23", s, 16, RGB, extra=[gama(GAMMA_SRGB)],
                trns=struct.pack(">HHH", *key))

    # RGBA.
    s = noise(rng, 64, 50, 4, 8)
    s[..., 3] = alpha_plane(rng, 64, 50, 8)
    loader_case("rgba8_50x64", s, 8, RGBA)
    s = noise(rng, 37, 23, 4, 16)
    s[..., 3] = alpha_plane(rng, 37, 23, 16)
    loader_case("rgba16_23x37", s, 16, RGBA, interlace=True)

    # Palette 8-bit, 200 entries, no tRNS.
    pal = rng.randint(0, 256, size=(200, 3))
    idx = rng.randint(0, 200, size=(23, 37, 1))
    save_png("pal8_37x23", encode_png(idx, 8, PALETTE, palette=pal))
    exp = planar(scaled(pal[idx[..., 0]], 8))
    save_npy("pal8_37x23", exp)
    LOADED["pal8_37x23"] = exp

    # Palette 4-bit with tRNS (some entries fully transparent): colours
    # come out as stored in PLTE.
    pal = rng.randint(0, 256, size=(16, 3))
    idx = rng.randint(0, 16, size=(64, 50, 1))
    trns = bytes([0, 255, 128, 0, 7])
    save_png("pal4t_50x64", encode_png(idx, 4, PALETTE, palette=pal,
                                       trns=trns))
    exp = planar(scaled(pal[idx[..., 0]], 8))
    save_npy("pal4t_50x64", exp)
    LOADED["pal4t_50x64"] = exp

    # Inputs for the preprocessing cases (not compared by the loader test:
    # the 300x200 expected array alone would be 720 kB).
    s = smooth_rgb(200, 300, rng)
    save_png("pre_rgb_300x200", encode_png(s, 8, RGB, filters="best"))
    LOADED["pre_rgb_300x200"] = planar(scaled(s, 8))
    s = noise(rng, 30, 20, 3, 8)
    save_png("pre_rgb_20x30", encode_png(s, 8, RGB))
    LOADED["pre_rgb_20x30"] = planar(scaled(s, 8))

    # --- bad inputs
    with open(os.path.join(OUT, "bad_text.png"), "wb") as f:
        f.write(b"this is a text file, not a PNG image\n")
    with open(os.path.join(OUT, "rgb8_300x17.png"), "rb") as f:
        good = f.read()
    with open(os.path.join(OUT, "bad_truncated.png"), "wb") as f:
        f.write(good[:100])
    open(os.path.join(OUT, "bad_empty.png"), "wb").close()
    # A valid header declaring 20000 x 20000 RGBA16 (3.2 GB decoded): must
    # be refused before anything is allocated.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 16, RGBA, 0, 0, 0)
    with open(os.path.join(OUT, "bad_huge.png"), "wb") as f:
        f.write(PNG_SIGNATURE + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(b"\0" * 64)) +
                chunk(b"IEND", b""))
    # A flipped bit inside the first IDAT: CRC error in a critical chunk.
    with open(os.path.join(OUT, "pal8_37x23.png"), "rb") as f:
        data = bytearray(f.read())
    pos = data.find(b"IDAT") + 4 + 10
    data[pos] ^= 0x10
    with open(os.path.join(OUT, "bad_crc.png"), "wb") as f:
        f.write(bytes(data))

    # --- preprocessing: (case, input, channels, resize, crop, mean, std).
    # Keep in sync with pre_cases[] in tests/test_image.c.
    cases = [
        # downscale 300x200 -> 96x64 (antialiased), crop 56
        ("down", "pre_rgb_300x200", 3, 64, 56, IMAGENET_MEAN, IMAGENET_STD),
        # strong downscale (window ~ 40 pixels), no crop
        ("down_far", "pre_rgb_300x200", 3, 10, 0, [0, 0, 0], [1, 1, 1]),
        # upscale 20x30 -> 48x72 (plain bilinear), crop 40
        ("up", "pre_rgb_20x30", 3, 48, 40, [0.5, 0.25, 0.125],
         [0.25, 0.5, 2.0]),
        # gray -> RGB, downscale 50x64 -> 32x40, crop 28
        ("gray2rgb", "gray16_50x64", 3, 32, 28, IMAGENET_MEAN, IMAGENET_STD),
        # RGB -> gray, 300x17 -> 141x8 (different factors per axis)
        ("rgb2gray", "rgb8_300x17", 1, 8, 0, [0.5], [0.5]),
        # gray upscale by a non-integer factor, 19x11 -> 51x30
        ("gray_up", "gray4_19x11", 1, 30, 0, [0.1], [0.9]),
        # only normalise
        ("norm_only", "rgba8_50x64", 3, 0, 0, IMAGENET_MEAN, IMAGENET_STD),
        # centre crops whose offsets need Python's round-half-even:
        # 37x23 crop 20: left round(8.5) = 8, top round(1.5) = 2
        ("crop_a", "rgb8i_37x23", 3, 0, 20, IMAGENET_MEAN, IMAGENET_STD),
        # 37x23 crop 22: left round(7.5) = 8, top round(0.5) = 0
        ("crop_b", "pal8_37x23", 3, 0, 22, IMAGENET_MEAN, IMAGENET_STD),
        # 50x64 crop 45: left round(2.5) = 2, top round(9.5) = 10
        ("crop_c", "pal4t_50x64", 3, 0, 45, IMAGENET_MEAN, IMAGENET_STD),
        # resize to the size it has (no resampling), then crop 21
        ("same_size", "gray8_37x23", 1, 23, 21, [0.2], [0.3]),
    ]
    for case, src, channels, resize, crop, mean, std in cases:
        t = torch.from_numpy(LOADED[src].copy())
        if channels == 3 and t.shape[0] == 1:
            t = t.repeat(3, 1, 1)
        elif channels == 1 and t.shape[0] == 3:
            t = (LUMA[0] * t[0] + LUMA[1] * t[1] + LUMA[2] * t[2])[None]
        if resize > 0:
            t = F.resize(t, resize, interpolation=InterpolationMode.BILINEAR,
                         antialias=True)
        if crop > 0:
            t = F.center_crop(t, [crop, crop])
        t = F.normalize(t, mean, std)
        assert t.dtype == torch.float32
        save_npy("pre_" + case, t.numpy())

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
