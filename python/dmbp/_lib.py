"""The C library through ctypes: finding libdmbp.so.1, the structs of the
public headers (dmbp.h, dmbp_render.h, dmbp_eval.h) and the functions'
signatures.

ctypes.CDLL releases the GIL for the duration of every foreign call, so
other Python threads run while the library computes (each dmbp.Model
serialises its own calls: a session is used by one thread at a time).

Which libdmbp.so.1 is loaded, first match wins:
 1. $DMBP_LIBRARY, a path to the shared library (make check sets it);
 2. the build tree's src/.libs/libdmbp.so.1 when this package is the one in
    the source tree (python/dmbp/ beside src/), i.e. PYTHONPATH=python in
    a tree built in place with ./configure && make;
 3. the library installed beside this package: the libdir `make install`
    recorded in _paths.py;
 4. the soname, libdmbp.so.1, through the dynamic loader's search path.
"""
import ctypes
import os

SONAME = "libdmbp.so.1"
# The layout of the options structs below is libdmbp 0.2's (struct_size
# tells the library which fields this binding knows).

_here = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("DMBP_LIBRARY")
    if env:
        yield env
        return
    top = os.path.dirname(os.path.dirname(_here))
    if os.path.isfile(os.path.join(top, "src", "dmbp.h")):
        built = os.path.join(top, "src", ".libs", SONAME)
        if os.path.exists(built):
            yield built
    try:
        from . import _paths
        yield os.path.join(_paths.LIBDIR, SONAME)
    except ImportError:
        pass
    yield SONAME


def _load():
    errors = []
    for c in _candidates():
        if os.sep in c and not os.path.exists(c):
            errors.append("%s: no such file" % c)
            continue
        try:
            return ctypes.CDLL(c), c
        except OSError as e:
            errors.append(str(e))
    raise ImportError("dmbp: cannot load the C library libdmbp (%s); build "
                      "it (./configure && make), install it (make install), "
                      "or set DMBP_LIBRARY to libdmbp.so.1's path"
                      % "; ".join(errors))


lib, path = _load()

c_int, c_float, c_double = ctypes.c_int, ctypes.c_float, ctypes.c_double
c_size_t, c_char_p, c_void_p = ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
c_int64, c_uint64 = ctypes.c_int64, ctypes.c_uint64
c_uint8 = ctypes.c_uint8
P = ctypes.POINTER
MAX_DIMS = 8
# dmbp_eval.h's ground-truth constants (tests/python/test_eval.py checks
# them against the header): the truth mask's values, the pointing game's
# tolerance, the truth file beside an image.
TRUTH_FOR, TRUTH_AGAINST = 1, 2
POINTING_TOLERANCE = 4
TRUTH_SUFFIX = ".truth.png"


class Shape(ctypes.Structure):
    _fields_ = [("ndim", c_int), ("dims", c_int64 * MAX_DIMS)]

    def tuple(self):
        return tuple(int(self.dims[i]) for i in range(self.ndim))


class Image(ctypes.Structure):
    _fields_ = [("channels", c_int), ("height", c_int), ("width", c_int),
                ("data", P(c_float))]


class ImageLoadOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("exif_rotate", c_int),
                ("max_pixels", c_int64)]


class PreprocessOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("resize", c_int),
                ("crop", c_int), ("channels", c_int),
                ("mean", c_float * 3), ("std", c_float * 3)]


class SaliencyOptions(ctypes.Structure):
    _fields_ = [("abs", c_int)]


class IgOptions(ctypes.Structure):
    _fields_ = [("steps", c_int), ("baseline", c_int), ("rule", c_int)]


class SmoothgradOptions(ctypes.Structure):
    _fields_ = [("samples", c_int), ("sigma", c_float), ("seed", c_uint64),
                ("of_gradient", c_int)]


class GradcamOptions(ctypes.Structure):
    _fields_ = [("layer", c_char_p)]


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_int, c_int,
                               c_double)


class DmbpOptions(ctypes.Structure):
    _fields_ = [("iterations", c_int), ("lr", c_float),
                ("init_logit", c_float), ("w_completeness", c_float),
                ("w_sign", c_float), ("w_nuisance", c_float),
                ("w_evidence", c_float), ("w_sparsity", c_float),
                ("samples", c_int), ("sigma", c_float), ("seed", c_uint64),
                ("tol", c_float), ("tol_window", c_int),
                ("progress", PROGRESS_FN), ("progress_user", c_void_p),
                ("path_steps", c_int), ("mask_init", c_int)]


class OcclusionOptions(ctypes.Structure):
    _fields_ = [("window", c_int), ("stride", c_int), ("baseline", c_int)]


class RiseOptions(ctypes.Structure):
    _fields_ = [("masks", c_int), ("grid", c_int), ("p", c_float),
                ("seed", c_uint64), ("progress", PROGRESS_FN),
                ("progress_user", c_void_p)]


class LrpOptions(ctypes.Structure):
    _fields_ = [("composite", c_int), ("epsilon", c_float),
                ("gamma", c_float)]


class ExplainOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("method", c_int),
                ("preprocess", P(PreprocessOptions)), ("fpmath", c_int),
                ("max_memory", c_size_t), ("max_lanes", c_int),
                ("saliency", SaliencyOptions), ("ig", IgOptions),
                ("smoothgrad", SmoothgradOptions),
                ("gradcam", GradcamOptions), ("dmbp", DmbpOptions),
                # libdmbp 0.3
                ("occlusion", OcclusionOptions), ("rise", RiseOptions),
                ("progress", PROGRESS_FN), ("progress_user", c_void_p),
                ("lrp", LrpOptions), ("dmbp_path_refresh", c_int),
                ("dmbp_fix_negative", c_int)]


class RenderOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("min_side", c_int),
                ("alpha", c_float), ("percentile", c_double),
                ("colormap", c_int), ("scale", c_double),
                ("colorbar", c_int), ("heatmap_only", c_int),
                # libdmbp 0.3
                ("keep_colour", c_int), ("part", c_int),
                ("caption", c_char_p)]


class EvalOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("steps", c_int),
                ("step_pixels", c_int), ("deletion_substrate", c_int),
                ("insertion_start", c_int), ("seed", c_uint64),
                ("region_size", c_int), ("regions", c_int),
                ("max_lanes", c_int)]


class EvalRunOptions(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("metrics", P(EvalOptions)),
                ("randomization_images", c_int), ("ground_truth", c_int),
                ("seed", c_uint64), ("target", c_int),
                ("model_name", c_char_p), ("images_name", c_char_p),
                ("offset", c_int)]


class TensorView(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("data", P(c_float)), ("shape", Shape),
                ("value", c_double)]


class TruthScores(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("mass_accuracy", c_double),
                ("rank_accuracy", c_double), ("pointing", c_double)]


_status = c_int
FP = P(c_float)


def _sig(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    globals()[name] = f


_sig("dmbp_status_str", c_char_p, c_int)
_sig("dmbp_last_error", c_char_p)
_sig("dmbp_version", c_char_p)
_sig("dmbp_set_num_threads", _status, c_int)
_sig("dmbp_get_num_threads", c_int)
_sig("dmbp_model_load", _status, c_char_p, P(c_void_p))
_sig("dmbp_model_load_memory", _status, c_void_p, c_size_t, c_char_p,
     c_char_p, P(c_void_p))
_sig("dmbp_model_free", None, c_void_p)
_sig("dmbp_model_input_shape", Shape, c_void_p)
_sig("dmbp_model_input_name", c_char_p, c_void_p)
_sig("dmbp_model_output_name", c_char_p, c_void_p)
_sig("dmbp_model_num_classes", c_int, c_void_p)
_sig("dmbp_model_label", c_char_p, c_void_p, c_int)
_sig("dmbp_model_opset", c_int, c_void_p)
_sig("dmbp_model_producer", c_char_p, c_void_p)
_sig("dmbp_image_load_options_init_sized", None, P(ImageLoadOptions),
     c_size_t)
_sig("dmbp_image_load", _status, c_char_p, P(ImageLoadOptions), P(Image))
_sig("dmbp_image_free", None, P(Image))
_sig("dmbp_model_preprocess_defaults_sized", _status, c_void_p,
     P(PreprocessOptions), c_size_t)
_sig("dmbp_image_preprocess", _status, P(Image), P(PreprocessOptions),
     P(Image))
_sig("dmbp_method_name", c_char_p, c_int)
_sig("dmbp_method_from_name", _status, c_char_p, P(c_int))
_sig("dmbp_explain_options_init_sized", None, P(ExplainOptions), c_size_t)
_sig("dmbp_explain_preset", _status, P(ExplainOptions), c_char_p)
_sig("dmbp_session_create", _status, c_void_p, P(c_void_p))
_sig("dmbp_session_free", None, c_void_p)
_sig("dmbp_explain", _status, c_void_p, FP, c_int, c_int, c_int, c_int,
     P(c_int), P(ExplainOptions), P(c_void_p))
_sig("dmbp_result_free", None, c_void_p)
_sig("dmbp_result_num_images", c_int, c_void_p)
_sig("dmbp_result_method", c_int, c_void_p)
_sig("dmbp_result_target", c_int, c_void_p, c_int)
_sig("dmbp_result_logit", c_float, c_void_p, c_int)
_sig("dmbp_result_prob", c_float, c_void_p, c_int)
_sig("dmbp_result_num_arrays", c_int, c_void_p)
_sig("dmbp_result_array_name", c_char_p, c_void_p, c_int)
_sig("dmbp_result_array_shape", Shape, c_void_p)
_sig("dmbp_result_array", c_void_p, c_void_p, c_int, c_int)
_sig("dmbp_result_signed", c_int, c_void_p)
_sig("dmbp_result_num_scalars", c_int, c_void_p)
_sig("dmbp_result_scalar_name", c_char_p, c_void_p, c_int)
_sig("dmbp_result_scalar", c_double, c_void_p, c_int, c_int)
_sig("dmbp_result_num_iterations", c_int, c_void_p)
_sig("dmbp_result_loss_curve", c_void_p, c_void_p, c_int)
_sig("dmbp_render_options_init_sized", None, P(RenderOptions), c_size_t)
_sig("dmbp_render_signed_original", _status, FP, FP, c_int, c_int, c_int,
     P(Image), P(PreprocessOptions), P(RenderOptions), c_char_p)
_sig("dmbp_render_sequential_original", _status, FP, c_int, c_int,
     P(Image), P(PreprocessOptions), P(RenderOptions), c_char_p)
_sig("dmbp_render_signed", _status, FP, FP, c_int, c_int, c_int, P(Image),
     P(RenderOptions), c_char_p)
_sig("dmbp_render_sequential", _status, FP, c_int, c_int, P(Image),
     P(RenderOptions), c_char_p)
_sig("dmbp_render_mappings", _status, FP, FP, c_int, c_int, c_int,
     P(RenderOptions), c_char_p)
_sig("dmbp_render_scale", _status, FP, FP, c_int, c_int, c_int,
     P(RenderOptions), P(c_double))
_sig("dmbp_eval_options_init_sized", None, P(EvalOptions), c_size_t)
_sig("dmbp_eval_pixel_scores", _status, FP, c_int, c_int, c_int, c_int, FP)
_sig("dmbp_eval_curve_points", c_int, P(EvalOptions), c_int, c_int)
_sig("dmbp_eval_deletion", _status, c_void_p, FP, c_int, c_int, c_int, c_int,
     FP, P(EvalOptions), FP, P(c_double))
_sig("dmbp_eval_insertion", _status, c_void_p, FP, c_int, c_int, c_int,
     c_int, FP, P(EvalOptions), FP, P(c_double))
_sig("dmbp_eval_negative", _status, c_void_p, FP, c_int, c_int, c_int,
     c_int, FP, P(c_double), c_int, P(EvalOptions), P(c_double))
_sig("dmbp_eval_aopc", _status, c_void_p, FP, c_int, c_int, c_int, c_int,
     FP, P(EvalOptions), FP, P(c_double))
_sig("dmbp_eval_truth_maps", _status, FP, c_int, c_int, c_int, FP, FP)
_sig("dmbp_eval_truth_maps_split", _status, FP, FP, c_int, c_int, c_int, FP,
     FP)
_sig("dmbp_truth_scores_init_sized", None, P(TruthScores), c_size_t)
_sig("dmbp_eval_truth", _status, FP, P(c_uint8), c_int, c_int, c_int, c_int,
     P(TruthScores))
_sig("dmbp_eval_truth_load", _status, c_char_p, c_int, c_int,
     P(PreprocessOptions), c_int, c_int, P(c_uint8))
_sig("dmbp_eval_metric_name", c_char_p, c_int)
_sig("dmbp_eval_run_options_init_sized", None, P(EvalRunOptions), c_size_t)
_sig("dmbp_eval_run_create", _status, c_void_p, c_int, c_int, c_int, c_int,
     P(c_void_p), c_int, P(EvalRunOptions), P(c_void_p))
_sig("dmbp_eval_run_free", None, c_void_p)
_sig("dmbp_eval_run_set_image", _status, c_void_p, c_int, c_char_p, c_int,
     c_int)
_sig("dmbp_eval_run_set_against", _status, c_void_p, c_int)
_sig("dmbp_eval_run_compute", _status, c_void_p, c_int, c_int, FP,
     P(c_uint8))
_sig("dmbp_eval_run_finish", _status, c_void_p, c_double)
_sig("dmbp_eval_run_value", c_double, c_void_p, c_int, c_int, c_int)
_sig("dmbp_eval_run_target", c_int, c_void_p, c_int, c_int)
_sig("dmbp_eval_run_write", _status, c_void_p, c_int, c_void_p)
