"""dmbp.render: a result drawn as the program draws it (the library's
dmbp_render_* functions), with the program's picture options."""
import ctypes
import os
import tempfile

import numpy as np

from . import _lib as L
from ._errors import arg_error, check

_COLORMAPS = {"default": 0, "seismic": 1, "bwr": 2, "reds": 3, "inferno": 4}
_PARTS = ("overlay", "pos", "neg", "mappings")
CAPTION_MAX = 256


def _total(a):
    """The sum of a's floats in double precision, one after the other (as
    the program's caption adds them)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    return float(np.cumsum(a)[-1]) if a.size else 0.0


def caption(result, index=0):
    """The program's --caption line for image index of result: the class,
    the method and the attribution's totals."""
    t = int(result.targets[index])
    label = result.labels[index]
    head = ("%s (%d) %s" % (label, t, result.method) if label is not None
            else "class %d %s" % (t, result.method))
    if result.method == "dmbp":
        return head + " F+ %.4g F- %.4g Fn %.4g" % tuple(
            _total(result.arrays[k][index])
            for k in ("a_pos", "a_neg", "nuisance"))
    if result.signed:
        return head + " sum %.4g" % _total(result.arrays["map"][index])
    return head


def render(result, path=None, index=0, part="overlay", picture=None,
           alpha=None, colormap=None, percentile=None, colorbar=False,
           heatmap_only=False, keep_colour=False, caption_text=None,
           scale=None, min_side=None):
    """Draw image index of result as the program does, returning the
    picture as an H x W x 3 uint8 array and, given path, writing it there
    as a PNG (atomically; the same bytes as dmbp explain's with the same
    options).

    part: "overlay" (the program's PREFIX.png), for DMBP also "pos", "neg"
    (one sign each, on the scale of both) and "mappings". picture: for a
    result computed from arrays, the picture to draw on (a PNG/JPEG path,
    or a C x H x W / H x W x C float array in [0, 1] at the model's input
    size); without one the map is drawn alone. caption_text: True for the
    program's --caption line (dmbp.caption(result, index)), or a string.
    The other options are the program's (alpha, colormap, percentile,
    colorbar, heatmap_only, keep_colour) and the library's scale and
    min_side."""
    if part not in _PARTS:
        raise arg_error("part must be one of %s, not %r"
                        % (", ".join(_PARTS), part))
    if part != "overlay" and result.method != "dmbp":
        raise arg_error("part %r is DMBP's; a %s result has the overlay "
                        "only" % (part, result.method))
    if not 0 <= index < result.n:
        raise arg_error("index %d out of range: the result has %d images"
                        % (index, result.n))
    o = L.RenderOptions()
    L.dmbp_render_options_init_sized(ctypes.byref(o), ctypes.sizeof(o))
    for name, v in (("alpha", alpha), ("percentile", percentile),
                    ("scale", scale), ("min_side", min_side)):
        if v is not None:
            setattr(o, name, v)
    if colormap is not None:
        if colormap not in _COLORMAPS:
            raise arg_error("colormap must be one of %s, not %r"
                            % ("|".join(_COLORMAPS), colormap))
        o.colormap = _COLORMAPS[colormap]
    o.colorbar = 1 if colorbar else 0
    o.heatmap_only = 1 if heatmap_only else 0
    o.keep_colour = 1 if keep_colour else 0
    text = caption(result, index) if caption_text is True else caption_text
    if text:
        text = text.encode()
        if len(text) > CAPTION_MAX:
            raise arg_error("caption longer than %d bytes" % CAPTION_MAX)
        o.caption = text
    o.part = {"pos": 1, "neg": 2}.get(part, 0)
    opt = ctypes.byref(o)

    shape = result.arrays[next(iter(result.arrays))].shape[1:]
    c, h, w = shape
    keep = []

    def fp(a):
        a = np.ascontiguousarray(a, dtype=np.float32)
        keep.append(a)
        return a.ctypes.data_as(L.FP)

    tmpdir = None
    if path is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="dmbp-render-")
        out = os.path.join(tmpdir.name, "picture.png")
    else:
        out = os.fspath(path)
    try:
        _draw(result, index, part, picture, c, h, w, fp, opt, out.encode())
        from ._model import _CImage
        img = _CImage()
        check(L.dmbp_image_load(out.encode(), None, ctypes.byref(img.img)))
        rgb = img.array()
        if rgb.shape[0] == 1:
            rgb = np.repeat(rgb, 3, axis=0)
        return np.rint(rgb.transpose(1, 2, 0) * 255.0).astype(np.uint8)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def _draw(result, index, part, picture, c, h, w, fp, opt, out):
    arrays = result.arrays
    if part == "mappings":
        check(L.dmbp_render_mappings(fp(arrays["w_pos"][index]),
                                     fp(arrays["w_neg"][index]), c, h, w,
                                     opt, out))
        return
    if result.method == "dmbp":
        pos, neg = arrays["a_pos"][index], arrays["a_neg"][index]
    elif result.signed:
        pos = neg = arrays["map"][index]
    else:
        pos, neg, c = np.asarray(arrays["map"][index]), None, 1
        if pos.shape[0] > 1:  # the channels' mean, as the program
            pos = (pos.astype(np.float64).sum(axis=0) /
                   pos.shape[0]).astype(np.float32)[None]
    orig = None
    if picture is None and result.pictures is not None:
        orig = result.pictures[index]
    elif isinstance(picture, (str, bytes, os.PathLike)):
        orig = result.model.load_image(picture)[1]
    if orig is not None:  # the picture as loaded, the map mapped back
        bg = L.Image(orig.shape[0], orig.shape[1], orig.shape[2], fp(orig))
        pre = ctypes.byref(result._pre_struct)
        if neg is not None:
            check(L.dmbp_render_signed_original(
                fp(pos), fp(neg), c, h, w, ctypes.byref(bg), pre, opt, out))
        else:
            check(L.dmbp_render_sequential_original(
                fp(pos), h, w, ctypes.byref(bg), pre, opt, out))
        return
    if picture is None:  # no picture: the map alone
        opt._obj.heatmap_only = 1
        p = np.zeros((1, h, w), np.float32)
    else:  # a picture at the model's input size
        p = np.asarray(picture, dtype=np.float32)
        if p.ndim == 3 and p.shape[-1] in (1, 3) and p.shape[0] not in (1, 3):
            p = p.transpose(2, 0, 1)
        if p.ndim == 2:
            p = p[None]
    bg = L.Image(p.shape[0], p.shape[1], p.shape[2], fp(p))
    if neg is not None:
        check(L.dmbp_render_signed(fp(pos), fp(neg), c, h, w,
                                   ctypes.byref(bg), opt, out))
    else:
        check(L.dmbp_render_sequential(fp(pos), h, w, ctypes.byref(bg), opt,
                                       out))
