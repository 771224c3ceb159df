"""Model.evaluate: the program's dmbp eval over a set of images and
methods (dmbp_eval_run in dmbp_eval.h), with its reports."""
import ctypes
import os

import numpy as np

from . import _lib as L
from ._errors import arg_error, check
from ._model import Model, _b, _eval_options, _s, _truth_masks

# The reports of dmbp_eval_run_write, by name.
REPORTS = {"table": 0, "csv": 1, "json": 2, "markdown": 3, "svg": 4}
# Images explained per dmbp_eval_run_compute call: the program's eval
# --batch default (src/cli/eval.c EV_DEFAULT_BATCH), so that both give the
# same numbers (the targets' forward plan has min(n, max_lanes) lanes).
DEFAULT_BATCH = 64
# dmbp_eval_run_options.target's special values (dmbp_eval.h).
TARGET_TOP, TARGET_TRUE = -1, -2
_METRIC_OPTIONS = ("steps", "step_pixels", "substrate", "insertion_start",
                   "regions", "region_size", "max_lanes")

_libc = ctypes.CDLL(None)
_libc.open_memstream.restype = ctypes.c_void_p
_libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p),
                                 ctypes.POINTER(ctypes.c_size_t)]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.free.argtypes = [ctypes.c_void_p]


def metric_names():
    """dmbp_eval_metric's keys, in the reports' order (the CSV's
    columns)."""
    out, k = [], 0
    while True:
        name = L.dmbp_eval_metric_name(k)
        if name is None:
            return out
        out.append(_s(name))
        k += 1


class _Run:
    def __init__(self, p, model):
        self.p = p
        self.model = model  # the run reads the model: it must outlive it

    def __del__(self):
        if L.lib is not None and self.p.value:
            L.dmbp_eval_run_free(self.p)
            self.p = ctypes.c_void_p()


class Evaluation:
    """What Model.evaluate returns.

    e.values[method][metric]: one float64 per image (NaN where the metric
    does not apply), metric one of e.metrics (the CSV's column names:
    deletion_auc, insertion_auc, neg_rise_5, ..., pos_mass_accuracy, ...);
    e.targets[method]: the class each image was explained for;
    e.methods: the methods' names in order (a method given twice is
    'name#2'); e.report(fmt) the program's report as text ("table", "csv",
    "json", "markdown", "svg"); e.write(path, fmt) writes it."""

    def __init__(self, run, names, n):
        self._run = run
        self.methods = names
        self.n = n
        self.metrics = metric_names()
        p = run.p
        self.values = {m: {key: np.array([L.dmbp_eval_run_value(p, k, i, q)
                                          for i in range(n)])
                           for q, key in enumerate(self.metrics)}
                       for k, m in enumerate(names)}
        self.targets = {m: np.array([L.dmbp_eval_run_target(p, k, i)
                                     for i in range(n)], dtype=np.int64)
                        for k, m in enumerate(names)}

    def report(self, fmt="table"):
        if fmt not in REPORTS:
            raise arg_error("report format must be one of %s, not %r"
                            % ("|".join(REPORTS), fmt))
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        f = _libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
        if not f:
            raise MemoryError("open_memstream failed")
        try:
            st = L.dmbp_eval_run_write(self._run.p, REPORTS[fmt], f)
        finally:
            _libc.fclose(f)
            text = ctypes.string_at(buf, size.value) if buf.value else b""
            _libc.free(buf)
        check(st)
        return text.decode()

    def write(self, path, fmt="table"):
        """The report written to path (whole or not at all: a temporary
        name, then renamed)."""
        text = self.report(fmt)
        tmp = "%s.tmp%d" % (os.fspath(path), os.getpid())
        try:
            with open(tmp, "w", newline="") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException as ex:
            if os.path.exists(tmp):
                os.unlink(tmp)  # no partial file left behind
            if isinstance(ex, OSError):  # name the file asked for
                raise OSError(ex.errno, "%s: cannot write the report: %s"
                              % (os.fspath(path), ex.strerror)) from ex
            raise

    def __repr__(self):
        return "<dmbp.Evaluation %d images x %s>" % (self.n,
                                                     ", ".join(self.methods))


def _methods(methods):
    out = []
    if isinstance(methods, str):
        methods = [methods]
    for m in methods:
        name, kw = (m, {}) if isinstance(m, str) else (m[0], dict(m[1]))
        out.append((name, kw))
    if not out:
        raise arg_error("no methods to evaluate")
    return out


def _model_evaluate(self, images, methods=("dmbp",), truth=None,
                    target=None, true_classes=None, against=None,
                    randomization_images=8, seed=0, batch=DEFAULT_BATCH,
                    model_name=None, images_name=None, **options):
    """dmbp eval from Python: every method over every image, the program's
    numbers and reports (same images, options and batch: the same CSV,
    byte for byte).

    images: paths of PNG or JPEG files (names in the reports as given), or
    model inputs (N x C x H x W float32). methods: names, or (name,
    {method options}) pairs with Model.explain's options. truth: the
    ground-truth metrics, as Model.eval takes it (True: each file's
    NAME.truth.png). target: None (each image's top class), "true"
    (true_classes, one class per image) or a class for all. against: the
    method the paired differences are against (its name or index).
    randomization_images: the first images given the randomisation check.
    seed: the methods' seeds (image i gets seed + i) and the check's.
    batch: images per explain call. Options: the metrics' (steps,
    step_pixels, substrate, insertion_start, regions, region_size,
    max_lanes) and the preprocessing's (resize, crop, ...). Returns an
    Evaluation."""
    metric_kw = {k: options.pop(k) for k in list(options)
                 if k in _METRIC_OPTIONS}
    eo = _eval_options(metric_kw)
    ms = _methods(methods)
    # One probe explain per method checks its options and loads the
    # images as Model.explain does (preprocessing, pictures for truth).
    from ._model import _PRE_OPTIONS
    pre_kw = {k: options.pop(k) for k in list(options) if k in _PRE_OPTIONS}
    if options:
        raise arg_error("unknown option%s %s (method options go with the "
                        "method: methods=[(\"ig\", {\"steps\": 16})])"
                        % ("s" if len(options) > 1 else "",
                           ", ".join(sorted(options))))
    pre = self._pre(pre_kw)
    x, pictures, names = self._inputs(images, pre, pre_kw)
    if names is None:  # arrays: the reports name image i "i"
        names = ["%d" % i for i in range(x.shape[0])]
    n, c, h, w = x.shape
    if n < 1:
        raise arg_error("no images to evaluate")
    masks = None
    if truth is not None and truth is not False:
        masks = _truth_masks(x, pictures, names if pictures else None, pre,
                             truth)
    if target is None:
        tgt = TARGET_TOP
    elif isinstance(target, str) and target == "true":
        tgt = TARGET_TRUE
        if true_classes is None:
            raise arg_error("target=\"true\" needs true_classes")
    else:
        tgt = int(self._targets(target, 1)[0])
    if true_classes is not None:
        tc = self._targets(true_classes, n)
    else:
        tc = np.full(n, -1, dtype=np.intc)
    opts, keep = [], []
    for name, kw in ms:
        o, k = self._options(name, dict(kw), pre)
        opts.append(o)
        keep.append(k)
    arr = (ctypes.c_void_p * len(opts))(
        *[ctypes.addressof(o) for o in opts])
    ro = L.EvalRunOptions()
    L.dmbp_eval_run_options_init_sized(ctypes.byref(ro), ctypes.sizeof(ro))
    ro.metrics = ctypes.pointer(eo)
    ro.randomization_images = int(randomization_images)
    ro.ground_truth = 1 if masks is not None else 0
    ro.seed = int(seed)
    ro.target = tgt
    mname = _b(model_name if model_name is not None else self.path)
    if images_name is None:  # the reports' "N images (NAME)"
        images_name = names[0] if n == 1 else "%s .. %s" % (names[0],
                                                             names[-1])
    iname = _b(images_name)
    ro.model_name, ro.images_name = mname, iname
    labels = [m[0] for m in ms]
    seen = {}
    for i, m in enumerate(labels):
        seen[m] = seen.get(m, 0) + 1
        if seen[m] > 1:
            labels[i] = "%s#%d" % (m, seen[m])
    p = ctypes.c_void_p()
    with self._lock:
        check(L.dmbp_eval_run_create(self._handle(), n, c, h, w, arr,
                                     len(opts), ctypes.byref(ro),
                                     ctypes.byref(p)))
        run = _Run(p, self)
        bnames = [_b(s) for s in names]
        for i in range(n):
            check(L.dmbp_eval_run_set_image(p, i, bnames[i], i, int(tc[i])))
        if against is not None:
            k = against if isinstance(against, int) else \
                [m[0] for m in ms].index(against) \
                if against in [m[0] for m in ms] else -2
            if k == -2 or not 0 <= k < len(ms):
                raise arg_error("against: %r is not one of the methods"
                                % (against,))
            check(L.dmbp_eval_run_set_against(p, k))
        step = max(1, int(batch))
        for first in range(0, n, step):
            cnt = min(step, n - first)
            xp = x[first:first + cnt].ctypes.data_as(L.FP)
            tp = None if masks is None else \
                masks[first:first + cnt].ctypes.data_as(
                    ctypes.POINTER(ctypes.c_uint8))
            check(L.dmbp_eval_run_compute(p, first, cnt, xp, tp))
        check(L.dmbp_eval_run_finish(p, 0.0))
    del keep, arr
    return Evaluation(run, labels, n)


Model.evaluate = _model_evaluate
