"""dmbp.Model and dmbp.Result: a model loaded by the C library, explained
in one dmbp_explain call per batch, the results as numpy views of the
library's own memory."""
import ctypes
import difflib
import os
import threading

import numpy as np

from . import _lib as L
from ._errors import arg_error, check

# What the results call their quantities (dmbp_result_find names), and the
# names the paper and the program's output lines use for them.
ALIASES = {"W+": "w_pos", "W-": "w_neg", "A+": "a_pos", "A-": "a_neg",
           "N": "nuisance", "F+": "F_pos", "F-": "F_neg", "Fn": "F_nuisance",
           "W\u2212": "w_neg", "A\u2212": "a_neg", "F\u2212": "F_neg"}

# Keyword options of explain(): the field of dmbp_explain_options each
# sets, and the methods it applies to (None: every method). The names are
# the program's option names with '_' for '-'.
_DMBP = ("dmbp",)
_CHOICES = {
    "baseline": {"zero": 0, "black": 1, "blur": 2},
    "ig_rule": {"midpoint": 0, "trapezoid": 1, "left": 2, "right": 3},
    "of": {"grad": 1, "gxi": 0},
    "mask_init": {"constant": 0, "contribution": 1},
    "fpmath": {"strict": 0, "f32": 0, "bf16": 1},
    "composite": {"epsilon": 0, "epsilon-plus": 1, "epsilon-plus-flat": 2,
                  "epsilon-gamma-box": 3, "epsilon-alpha2-beta1": 4,
                  "epsilon-alpha1-beta0": 5},
}
_OPTIONS = {
    "max_lanes": (("max_lanes",), None),
    "fpmath": (("fpmath",), None),
    "max_memory": (("max_memory",), None),
    "abs": (("saliency", "abs"), ("saliency",)),
    "steps": (("ig", "steps"), ("ig",)),
    "baseline": (None, ("ig", "occlusion")),
    "ig_rule": (("ig", "rule"), ("ig",)),
    "samples": (None, ("smoothgrad", "dmbp", "rise")),
    "sigma": (None, ("smoothgrad", "dmbp")),
    "seed": (None, ("smoothgrad", "dmbp", "rise")),
    "of": (("smoothgrad", "of_gradient"), ("smoothgrad",)),
    "layer": (("gradcam", "layer"), ("gradcam", "gradcam++", "scorecam")),
    "window": (("occlusion", "window"), ("occlusion",)),
    "stride": (("occlusion", "stride"), ("occlusion",)),
    "grid": (("rise", "grid"), ("rise",)),
    "keep": (("rise", "p"), ("rise",)),
    "iters": (("dmbp", "iterations"), _DMBP),
    "lr": (("dmbp", "lr"), _DMBP),
    "init_logit": (("dmbp", "init_logit"), _DMBP),
    "preset": (None, _DMBP),
    "path_steps": (("dmbp", "path_steps"), _DMBP),
    "path_refresh": (("dmbp_path_refresh",), _DMBP),
    "fix_negative": (("dmbp_fix_negative",), _DMBP),
    "mask_init": (("dmbp", "mask_init"), _DMBP),
    "w_completeness": (("dmbp", "w_completeness"), _DMBP),
    "w_sign": (("dmbp", "w_sign"), _DMBP),
    "w_nuisance": (("dmbp", "w_nuisance"), _DMBP),
    "w_evidence": (("dmbp", "w_evidence"), _DMBP),
    "w_sparsity": (("dmbp", "w_sparsity"), _DMBP),
    "tol": (("dmbp", "tol"), _DMBP),
    "tol_window": (("dmbp", "tol_window"), _DMBP),
    "progress": (None, _DMBP),
    "composite": (("lrp", "composite"), ("lrp",)),
    "epsilon": (("lrp", "epsilon"), ("lrp",)),
    "gamma": (("lrp", "gamma"), ("lrp",)),
}
_SYNONYMS = {"iterations": "iters"}
# Preprocessing of images given as files (the program's flags).
_PRE_OPTIONS = ("resize", "crop", "mean", "std", "no_resize", "exif_rotate",
                "max_pixels")


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


def _unknown(kind, name, known):
    near = difflib.get_close_matches(name, known, n=1)
    return arg_error("unknown %s '%s'%s" % (
        kind, name, " (did you mean '%s'?)" % near[0] if near else ""))


class _View:
    """A numpy view of floats the library owns; keeps their owner alive."""

    def __init__(self, owner, addr, shape):
        self._owner = owner
        self.__array_interface__ = {"shape": tuple(shape), "typestr": "<f4",
                                    "data": (addr, True), "version": 3}


def _view(owner, addr, shape):
    return np.asarray(_View(owner, addr, shape))


class _CImage:
    """A dmbp_image the library allocated, freed with its last view."""

    def __init__(self):
        self.img = L.Image()

    def array(self):
        i = self.img
        addr = ctypes.cast(i.data, ctypes.c_void_p).value
        return _view(self, addr, (i.channels, i.height, i.width))

    def __del__(self):
        if L.lib is not None and self.img.data:
            L.dmbp_image_free(ctypes.byref(self.img))


def _floats(a):
    """a as a C-contiguous float32 numpy array (copied only if it is not
    one already): numpy arrays, torch tensors and sequences."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        a = a.detach().cpu().numpy()
    # NaN or infinity: the library refuses it (DMBP_ERR_NONFINITE).
    return np.ascontiguousarray(a, dtype=np.float32)


class Model:
    """An ONNX image classifier loaded by libdmbp.

    Model(path) loads a file; Model.from_bytes(data) and
    Model.from_torch(module, example_input) load from memory. The model
    keeps a session (its compiled plans) between calls; calls on one Model
    are serialised, several Models may run in parallel threads."""

    def __init__(self, path, *, _data=None, _name=None):
        self._m = ctypes.c_void_p()
        self._s = ctypes.c_void_p()
        self._lock = threading.Lock()
        if _data is not None:
            buf = bytes(_data)
            check(L.dmbp_model_load_memory(buf, len(buf),
                                           _b(_name or "<memory>"), None,
                                           ctypes.byref(self._m)))
            self.path = None
        else:
            path = os.fspath(path)
            check(L.dmbp_model_load(_b(path), ctypes.byref(self._m)))
            self.path = path
        check(L.dmbp_session_create(self._m, ctypes.byref(self._s)))

    @classmethod
    def from_bytes(cls, data, name="<memory>"):
        """A model from the bytes of an ONNX file (no external data)."""
        return cls(None, _data=data, _name=name)

    @classmethod
    def from_torch(cls, module, example_input, **export_options):
        """Export a torch.nn.Module to ONNX in memory (no file) and load it;
        see dmbp._torch.export for the options (labels, preprocessing,
        opset)."""
        from . import _torch
        data = _torch.export(module, example_input, **export_options)
        return cls.from_bytes(data, name="<%s>" % type(module).__name__)

    def close(self):
        """Free the session and the model now (else when collected)."""
        if getattr(self, "_s", None) and self._s.value:
            L.dmbp_session_free(self._s)
            self._s = ctypes.c_void_p()
        if getattr(self, "_m", None) and self._m.value:
            L.dmbp_model_free(self._m)
            self._m = ctypes.c_void_p()

    def __del__(self):
        if L.lib is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._m.value:
            raise arg_error("the model was closed")
        return self._m

    # ---- what the model is ----------------------------------------------

    @property
    def input_shape(self):
        """The declared input shape, 0 for dynamic dimensions."""
        return L.dmbp_model_input_shape(self._handle()).tuple()

    @property
    def num_classes(self):
        return L.dmbp_model_num_classes(self._handle())

    @property
    def labels(self):
        """The class labels from the model's metadata, or None."""
        m = self._handle()
        out = [_s(L.dmbp_model_label(m, c)) for c in range(self.num_classes)]
        return None if all(x is None for x in out) else out

    def preprocess_options(self, **overrides):
        """The model's preprocessing as a dict (resize, crop, channels,
        mean, std), with the program's overrides (resize, no_resize, crop,
        mean, std)."""
        p = self._pre(overrides)
        return {"resize": p.resize, "crop": p.crop, "channels": p.channels,
                "mean": list(p.mean), "std": list(p.std)}

    def _pre(self, o):
        p = L.PreprocessOptions()
        check(L.dmbp_model_preprocess_defaults_sized(
            self._handle(), ctypes.byref(p), ctypes.sizeof(p)))
        if o.get("resize") is not None:
            p.resize = int(o["resize"])
        if o.get("no_resize"):
            p.resize = 0
        if o.get("crop") is not None:
            p.crop = int(o["crop"])
        for key in ("mean", "std"):
            v = o.get(key)
            if v is not None:
                v = [float(x) for x in np.atleast_1d(v)]
                if len(v) not in (1, 3):
                    raise arg_error("%s takes 1 or 3 values, not %d"
                                    % (key, len(v)))
                getattr(p, key)[:] = v * 3 if len(v) == 1 else v
        return p

    def load_image(self, path, **pre):
        """(input, picture): the model's input (C x H x W float32, a numpy
        view of the library's buffer) made from the PNG or JPEG file at
        path as the program makes it, and the picture as loaded."""
        p = self._pre(pre)
        return self._load(path, p, pre)

    def _load(self, path, p, pre):
        lo = L.ImageLoadOptions()
        L.dmbp_image_load_options_init_sized(ctypes.byref(lo),
                                             ctypes.sizeof(lo))
        if pre.get("exif_rotate"):
            lo.exif_rotate = 1
        if pre.get("max_pixels") is not None:
            lo.max_pixels = int(pre["max_pixels"])
        orig, x = _CImage(), _CImage()
        check(L.dmbp_image_load(_b(os.fspath(path)), ctypes.byref(lo),
                                ctypes.byref(orig.img)))
        check(L.dmbp_image_preprocess(ctypes.byref(orig.img), ctypes.byref(p),
                                      ctypes.byref(x.img)))
        return x.array(), orig.array()

    def _inputs(self, images, pre, pre_kw):
        """(x, pictures, names): image files loaded and preprocessed as the
        program does, or model inputs given as an array (pictures and names
        None); x is N x C x H x W, contiguous float32."""
        if isinstance(images, (str, bytes, os.PathLike)):
            images = [images]
        if isinstance(images, (list, tuple)) and images and \
                isinstance(images[0], (str, bytes, os.PathLike)):
            loaded = [self._load(p, pre, pre_kw) for p in images]
            x = np.ascontiguousarray(np.stack([a for a, _ in loaded]))
            return x, [b for _, b in loaded], [os.fspath(p) for p in images]
        if pre_kw:
            raise arg_error("%s: preprocessing options apply to image "
                            "files, not to arrays" % ", ".join(pre_kw))
        x = _floats(images)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4:
            raise arg_error("images: an array of C x H x W or N x C x H "
                            "x W floats, not %d dimensions" % x.ndim)
        return np.ascontiguousarray(x), None, None

    # ---- explaining -----------------------------------------------------

    def _targets(self, target, n):
        if target is None:
            return np.full(n, -1, dtype=np.intc)
        if isinstance(target, (str, bytes, int, np.integer)):
            target = [target] * n
        target = list(target) if not isinstance(target, np.ndarray) \
            else target.tolist()
        if len(target) != n:
            raise arg_error("%d targets for %d images" % (len(target), n))
        labels = None
        out = np.empty(n, dtype=np.intc)
        for i, t in enumerate(target):
            if isinstance(t, bytes):
                t = t.decode()
            if isinstance(t, str):
                if t == "auto":
                    out[i] = -1
                    continue
                if labels is None:
                    labels = self.labels or []
                hits = [c for c, l in enumerate(labels) if l == t] or \
                    [c for c, l in enumerate(labels)
                     if l is not None and l.lower() == t.lower()]
                if len(hits) != 1:
                    if hits:
                        raise arg_error("label '%s' names classes %s: give "
                                        "the index" % (t, hits))
                    raise _unknown("label", t, [l for l in labels if l])
                out[i] = hits[0]
            else:
                if int(t) != t:
                    raise arg_error("target %r is not a class index" % (t,))
                t = int(t)
                if t < -1 or t >= self.num_classes:
                    raise arg_error("target %d out of range: the model has "
                                    "%d classes (0 to %d)"
                                    % (t, self.num_classes,
                                       self.num_classes - 1))
                out[i] = t
        return out

    def _options(self, method, kw, pre):
        o = L.ExplainOptions()
        L.dmbp_explain_options_init_sized(ctypes.byref(o), ctypes.sizeof(o))
        m = ctypes.c_int()
        check(L.dmbp_method_from_name(_b(method), ctypes.byref(m)))
        o.method = m.value
        keep = []
        for name in list(kw):
            key = _SYNONYMS.get(name, name)
            if key not in _OPTIONS:
                raise _unknown("option", name,
                               list(_OPTIONS) + list(_PRE_OPTIONS))
            if _OPTIONS[key][1] and method not in _OPTIONS[key][1]:
                raise arg_error("option '%s' is for %s, not for method '%s'"
                                % (name, " and ".join(_OPTIONS[key][1]),
                                   method))
        if "preset" in kw:
            check(L.dmbp_explain_preset(ctypes.byref(o), _b(kw["preset"])))
        # As the program: samples before the others, which may undo what
        # it implies for DMBP (below).
        for name, v in sorted(kw.items(), key=lambda kv: _SYNONYMS.get(
                kv[0], kv[0]) != "samples"):
            key = _SYNONYMS.get(name, name)
            if v is None or key == "preset":
                continue
            if key in _CHOICES:
                if v not in _CHOICES[key]:
                    raise arg_error("%s must be one of %s, not %r" % (
                        name, "|".join(_CHOICES[key]), v))
                v = _CHOICES[key][v]
            if key == "baseline":         # as the program: IG's and occlusion's
                o.ig.baseline = o.occlusion.baseline = v
                continue
            if key in ("samples", "sigma", "seed"):
                for part in ("smoothgrad", "dmbp"):
                    setattr(getattr(o, part), key, v)
                if key != "sigma":            # RISE's masks and their seed
                    setattr(o.rise, "masks" if key == "samples" else key, v)
                # As the program: DMBP's smoothed variant is the classic
                # formulation with noisy copies in place of the path's;
                # from a path formulation, the classic preset whole.
                if key == "samples" and method == "dmbp" and v > 1:
                    if o.dmbp.path_steps > 0:
                        check(L.dmbp_explain_preset(ctypes.byref(o),
                                                    b"classic"))
                    o.dmbp.path_steps = 0
                    o.dmbp.mask_init = 0
                    o.dmbp_path_refresh = 0
                    o.dmbp_fix_negative = 0
                continue
            if key == "progress":
                fn = L.PROGRESS_FN(
                    lambda u, f, n, it, its, loss, cb=v:
                    1 if cb(f, n, it, its, loss) else 0)
                keep.append(fn)
                o.dmbp.progress = fn
                continue
            if key == "layer":
                v = _b(v)
                keep.append(v)
            path = _OPTIONS[key][0]
            target = o
            for part in path[:-1]:
                target = getattr(target, part)
            setattr(target, path[-1], v)
        # path_steps and mask_init given with samples: theirs win.
        for key, field in (("path_steps", "path_steps"),
                           ("mask_init", "mask_init")):
            if kw.get(key) is not None:
                v = kw[key]
                setattr(o.dmbp, field, _CHOICES[key][v]
                        if key in _CHOICES else v)
        o.preprocess = ctypes.pointer(pre)
        keep.append(pre)
        return o, keep

    def explain(self, images, method="dmbp", target=None, **options):
        """Explain a batch of images in one library call.

        images: a path (str or os.PathLike) or a list of paths of PNG or
        JPEG files, preprocessed as the program does (the model's
        preprocessing; the options resize, no_resize, crop, mean, std,
        exif_rotate, max_pixels override it); or model inputs as an array
        (C x H x W or N x C x H x W, float32; numpy or torch).
        method: "dmbp", "saliency", "gxi", "ig", "smoothgrad", "guided",
        "gradcam", "gradcam++", "scorecam", "occlusion", "rise", "lrp"
        (dmbp_method_name's names).
        target: None (each image's top class), a class index or label for
        all, or one per image.
        options: the program's method options with '_' for '-' (steps,
        baseline, ig_rule, samples, sigma, seed, of, layer, abs, iters,
        lr, init_logit, preset, path_steps, path_refresh, fix_negative,
        mask_init, w_*, tol,
        tol_window, window, stride, grid, keep, composite, epsilon, gamma,
        max_lanes, fpmath,
        max_memory) and progress, a
        callable(first_image, n_images, iteration, iterations, loss)
        whose true return stops that group of images early.
        Returns a Result."""
        pre_kw = {k: options.pop(k) for k in list(options)
                  if k in _PRE_OPTIONS}
        pre = self._pre(pre_kw)
        x, pictures, names = self._inputs(images, pre, pre_kw)
        n = x.shape[0]
        if n < 1:
            raise arg_error("no images to explain")
        t = self._targets(target, n)
        o, keep = self._options(method, options, pre)
        r = ctypes.c_void_p()
        with self._lock:
            s = self._s
            if not s.value:
                raise arg_error("the model was closed")
            check(L.dmbp_explain(s, x.ctypes.data_as(L.FP), n,
                                 x.shape[1], x.shape[2], x.shape[3],
                                 t.ctypes.data_as(ctypes.POINTER(ctypes.c_int)),
                                 ctypes.byref(o), ctypes.byref(r)))
        del keep
        return Result(_ResultHandle(r), self, x, pictures, names,
                      self.preprocess_options(**pre_kw), pre)


class _ResultHandle:
    def __init__(self, r):
        self.r = r

    def __del__(self):
        if L.lib is not None and self.r.value:
            L.dmbp_result_free(self.r)
            self.r = ctypes.c_void_p()


class Result:
    """What Model.explain returns for a batch of n images.

    r[name] is an array (n x C x H x W float32, a read-only view of the
    library's memory: "map" for the baselines; DMBP's "w_pos", "w_neg",
    "a_pos", "a_neg", "nuisance") or a scalar per image (n float64:
    "completeness_gap" of IG; DMBP's "F", "F_pos", "F_neg", "F_nuisance",
    "loss", ...). The paper's names work too: W+, W-, A+, A-, N, F+, F-,
    Fn. Arrays are looked up first (DMBP's "nuisance" is both; the scalar
    is r.scalars["nuisance"]). r.targets, r.logits, r.probs, r.labels per
    image; r.method; r.inputs, the model inputs explained."""

    def __init__(self, handle, model, x, pictures, names, pre, pre_struct):
        self._h = handle
        r = handle.r
        self.model = model
        self.inputs = x
        self.pictures = pictures
        self.images = names
        self.preprocess = pre
        self._pre_struct = pre_struct
        self.n = L.dmbp_result_num_images(r)
        self.method = _s(L.dmbp_method_name(L.dmbp_result_method(r)))
        self.signed = bool(L.dmbp_result_signed(r))
        self.targets = np.array([L.dmbp_result_target(r, i)
                                 for i in range(self.n)], dtype=np.int64)
        self.logits = np.array([L.dmbp_result_logit(r, i)
                                for i in range(self.n)], dtype=np.float32)
        self.probs = np.array([L.dmbp_result_prob(r, i)
                               for i in range(self.n)], dtype=np.float32)
        lab = model.labels
        self.labels = [lab[t] if lab else None for t in self.targets]
        shape = L.dmbp_result_array_shape(r).tuple()
        per = int(np.prod(shape))
        self.arrays = {}
        for k in range(L.dmbp_result_num_arrays(r)):
            name = _s(L.dmbp_result_array_name(r, k))
            addrs = [L.dmbp_result_array(r, i, k) for i in range(self.n)]
            if all(a == addrs[0] + 4 * per * i for i, a in enumerate(addrs)):
                self.arrays[name] = _view(handle, addrs[0],
                                          (self.n,) + shape)
            else:  # not one block: one view per image, stacked (a copy)
                self.arrays[name] = np.stack([_view(handle, a, shape)
                                              for a in addrs])
        self.scalars = {}
        for k in range(L.dmbp_result_num_scalars(r)):
            name = _s(L.dmbp_result_scalar_name(r, k))
            self.scalars[name] = np.array(
                [L.dmbp_result_scalar(r, i, k) for i in range(self.n)])

    def __getitem__(self, name):
        key = ALIASES.get(name, name)
        if key in self.arrays:
            return self.arrays[key]
        if key in self.scalars:
            return self.scalars[key]
        raise KeyError("a %s result has no '%s' (arrays: %s; scalars: %s)" % (
            self.method, name, ", ".join(self.arrays),
            ", ".join(self.scalars)))

    def __contains__(self, name):
        key = ALIASES.get(name, name)
        return key in self.arrays or key in self.scalars

    def keys(self):
        return list(self.arrays) + [k for k in self.scalars
                                    if k not in self.arrays]

    def __len__(self):
        return self.n

    def __repr__(self):
        return "<dmbp.Result %s, %d image%s: %s>" % (
            self.method, self.n, "" if self.n == 1 else "s",
            ", ".join(self.keys()))

    def npy(self, i=0):
        """Image i's array as the program writes it to .npy: the map (C x
        H x W), or for DMBP W+, W-, A+, A-, N stacked (5 x C x H x W)."""
        if self.method == "dmbp":
            return np.stack([self.arrays[k][i] for k in
                             ("w_pos", "w_neg", "a_pos", "a_neg",
                              "nuisance")])
        return np.array(self.arrays["map"][i])

    def loss_curve(self, i=0):
        """DMBP: the loss per iteration of image i."""
        r = self._h.r
        addr = L.dmbp_result_loss_curve(r, i)
        if not addr:
            return None
        return _view(self._h, addr, (L.dmbp_result_num_iterations(r),))


# ---- faithfulness metrics (dmbp_eval.h) ---------------------------------

_SUBSTRATES = {"zero": 0, "blur": 1, "mean": 2}
# Fractions of the pixels removed for the negative-evidence rise (the
# program's neg_rise_5, _10, _20).
NEG_FRACTIONS = (0.05, 0.10, 0.20)


def _eval_options(kw):
    o = L.EvalOptions()
    L.dmbp_eval_options_init_sized(ctypes.byref(o), ctypes.sizeof(o))
    for name, v in kw.items():
        if v is None:
            continue
        if name in ("substrate", "insertion_start"):
            if v not in _SUBSTRATES:
                raise arg_error("%s must be one of %s, not %r" % (
                    name, "|".join(_SUBSTRATES), v))
            v = _SUBSTRATES[v]
            name = "deletion_substrate" if name == "substrate" else name
        setattr(o, name, v)
    return o


# The ground-truth metrics, by the program's CSV names (dmbp_eval_metric's
# order: mass, rank, pointing; positive then negative evidence).
TRUTH_KEYS = ("pos_mass_accuracy", "neg_mass_accuracy", "pos_rank_accuracy",
              "neg_rank_accuracy", "pos_pointing", "neg_pointing")


def _truth_masks(inputs, pictures, images, pre, truth):
    """truth (see Model.eval) as n x h x w uint8 masks on the input grid of
    inputs (n x c x h x w), the images loaded as pictures from the files
    images with the preprocessing pre (both None for arrays)."""
    n, _, h, w = inputs.shape
    if isinstance(truth, np.ndarray) or (
            isinstance(truth, (list, tuple)) and truth and
            isinstance(truth[0], np.ndarray)):
        t = np.asarray(truth)
        if t.ndim == 2:
            t = t[None]
        if t.shape != (n, h, w) or t.dtype != np.uint8:
            raise arg_error("truth: %d masks of %d x %d uint8 (the input "
                            "grid), not %s %s" % (n, h, w, t.dtype,
                                                  "x".join(map(str, t.shape))))
        return np.ascontiguousarray(t)
    if truth is True:
        if images is None:
            raise arg_error("truth=True finds NAME%s beside each image file; "
                            "this result was made from arrays: give the "
                            "masks" % L.TRUTH_SUFFIX)
        paths = [os.path.splitext(p)[0] + L.TRUTH_SUFFIX
                 for p in images]
    else:
        paths = [truth] if isinstance(truth, (str, bytes, os.PathLike)) \
            else list(truth)
    if len(paths) != n:
        raise arg_error("%d truth file%s for %d images" % (
            len(paths), "" if len(paths) == 1 else "s", n))
    if pictures is None:
        raise arg_error("truth files need the images' files (their size and "
                        "preprocessing); this result was made from arrays: "
                        "give the masks")
    out = np.empty((n, h, w), np.uint8)
    for i, p in enumerate(paths):
        pic = pictures[i]
        check(L.dmbp_eval_truth_load(
            _b(os.fspath(p)), pic.shape[1], pic.shape[2],
            ctypes.byref(pre), h, w,
            out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))))
    return out


def _truth_scores(result, masks, out):
    """The ground-truth metrics of every image, as the program's eval."""
    n, _, h, w = result.inputs.shape
    dmbp = result.method == "dmbp"
    maps = result.arrays["a_pos" if dmbp else "map"]
    mc = maps.shape[1]
    pos = np.empty((h, w), np.float32)
    neg = np.empty((h, w), np.float32)
    pp, pn = pos.ctypes.data_as(L.FP), neg.ctypes.data_as(L.FP)
    for k in TRUTH_KEYS:
        out[k] = np.full(n, np.nan)
    t = L.TruthScores()
    for i in range(n):
        mp = np.ascontiguousarray(maps[i]).ctypes.data_as(L.FP)
        if dmbp:
            an = np.ascontiguousarray(result.arrays["a_neg"][i])
            check(L.dmbp_eval_truth_maps_split(mp, an.ctypes.data_as(L.FP),
                                               mc, h, w, pp, pn))
        else:
            check(L.dmbp_eval_truth_maps(mp, mc, h, w, pp, pn))
        mask = masks[i].ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        for s, (ev, value) in enumerate(((pp, L.TRUTH_FOR),
                                         (pn, L.TRUTH_AGAINST))):
            if s and not result.signed:
                break
            L.dmbp_truth_scores_init_sized(ctypes.byref(t), ctypes.sizeof(t))
            check(L.dmbp_eval_truth(ev, mask, h, w, value,
                                    L.POINTING_TOLERANCE, ctypes.byref(t)))
            out[TRUTH_KEYS[s]][i] = t.mass_accuracy
            out[TRUTH_KEYS[2 + s]][i] = t.rank_accuracy
            out[TRUTH_KEYS[4 + s]][i] = t.pointing


def evaluate(model, result, steps=None, step_pixels=None, substrate=None,
             insertion_start=None, seed=None, regions=None,
             region_size=None, max_lanes=None, truth=None):
    """The program's faithfulness metrics of every image of result (see
    Model.eval)."""
    masks = None if truth is None or truth is False \
        else _truth_masks(result.inputs, result.pictures, result.images,
                          result._pre_struct, truth)
    known = dict(
steps=steps, step_pixels=step_pixels, substrate=substrate,
                 insertion_start=insertion_start, seed=seed, regions=regions,
                 region_size=region_size, max_lanes=max_lanes)
    o = _eval_options(known)
    x = result.inputs
    n, c, h, w = x.shape
    dmbp = result.method == "dmbp"
    maps = result.arrays["a_pos" if dmbp else "map"]
    negs = result.arrays["a_neg" if dmbp else "map"]
    mc = maps.shape[1]
    points = L.dmbp_eval_curve_points(ctypes.byref(o), h, w)
    out = {"deletion": np.empty(n), "insertion": np.empty(n),
           "aopc": np.empty(n),
           "deletion_curve": np.empty((n, points), np.float32),
           "insertion_curve": np.empty((n, points), np.float32),
           "aopc_curve": np.full((n, o.regions + 1), np.nan, np.float32)}
    if result.signed:
        for f in NEG_FRACTIONS:
            out["neg_rise_%d" % round(100 * f)] = np.empty(n)
    scores = np.empty((h, w), np.float32)
    fractions = (ctypes.c_double * len(NEG_FRACTIONS))(*NEG_FRACTIONS)
    rise = (ctypes.c_double * len(NEG_FRACTIONS))()
    v = ctypes.c_double()
    po = ctypes.byref(o)
    with model._lock:
        s = model._s
        for i in range(n):
            xi = np.ascontiguousarray(x[i]).ctypes.data_as(L.FP)
            t = int(result.targets[i])
            check(L.dmbp_eval_pixel_scores(
                np.ascontiguousarray(maps[i]).ctypes.data_as(L.FP), mc, h, w,
                1 if result.signed else 0, scores.ctypes.data_as(L.FP)))
            sp = scores.ctypes.data_as(L.FP)
            for name, fn in (("deletion", L.dmbp_eval_deletion),
                             ("insertion", L.dmbp_eval_insertion),
                             ("aopc", L.dmbp_eval_aopc)):
                curve = out[name + "_curve"][i]
                check(fn(s, xi, c, h, w, t, sp, po,
                         curve.ctypes.data_as(L.FP), ctypes.byref(v)))
                out[name][i] = v.value
            if result.signed:
                check(L.dmbp_eval_pixel_scores(
                    np.ascontiguousarray(negs[i]).ctypes.data_as(L.FP), mc,
                    h, w, -1, scores.ctypes.data_as(L.FP)))
                check(L.dmbp_eval_negative(s, xi, c, h, w, t, sp, fractions,
                                           len(NEG_FRACTIONS), po, rise))
                for k, f in enumerate(NEG_FRACTIONS):
                    out["neg_rise_%d" % round(100 * f)][i] = rise[k]
    if masks is not None:
        _truth_scores(result, masks, out)
    return out


def _model_eval(self, result, **options):
    """Faithfulness of result's maps (a Result of this model), per image,
    as the program's dmbp eval computes them: deletion and insertion AUC
    and their curves (the target's softmax probability), AOPC and its
    curve, and for signed maps the negative evidence's logit rise after
    removing 5, 10 and 20 % of the pixels (neg_rise_5, _10, _20). Options:
    eval's (steps, step_pixels, substrate and insertion_start "zero",
    "blur" or "mean", seed, regions, region_size, max_lanes). A dict of
    numpy arrays, one entry per image.
    truth adds the program's ground-truth metrics (dmbp eval
    --ground-truth: pos_mass_accuracy, neg_mass_accuracy,
    pos_rank_accuracy, neg_rank_accuracy, pos_pointing, neg_pointing; the
    negative ones NaN for unsigned maps, all NaN for an image whose mask
    has no such evidence): True (each image file's NAME.truth.png beside
    it), a path or one path per image (resampled by the images'
    preprocessing), or n x H x W uint8 masks on the input grid (values
    0 none, 1 evidence for the class, 2 against it)."""
    if result.model is not self:
        raise arg_error("the result is another model's")
    return evaluate(self, result, **options)


Model.eval = _model_eval
