"""dmbp: attribution maps (DMBP and the gradient baselines) for ONNX image
classifiers, over the C library libdmbp.

    import dmbp
    m = dmbp.Model("models/evidence_cnn.onnx")
    r = m.explain("models/evidence/test_00005.png", method="dmbp")
    print(r.labels[0], r["F+"][0], r["F-"][0])     # scalars per image
    a_pos = r["A+"][0]                              # C x H x W float32

A binding through ctypes: the library computes with the GIL released;
arrays come back as numpy views of the library's memory. See
help(dmbp.Model.explain), dmbp.render, dmbp.captum and dmbp(3) / libdmbp(3).
"""
from . import _lib
from ._errors import (ArgumentError, BackendError, DmbpError, FormatError,
                      InternalError, IOFailure, NonFiniteError, OutOfMemory,
                      ShapeError, UnsupportedError)
from ._model import ALIASES, Model, Result
from ._evalrun import Evaluation
from ._render import caption, render

__all__ = ["Model", "Result", "Evaluation", "render", "caption", "DmbpError", "ArgumentError",
           "IOFailure", "FormatError", "UnsupportedError", "ShapeError",
           "NonFiniteError", "OutOfMemory", "BackendError", "InternalError",
           "version", "set_num_threads", "get_num_threads", "METHODS",
           "ALIASES", "library_path"]

def _method_names():
    out = []
    while True:  # dmbp_method_name says "unknown" past the last method
        name = _lib.dmbp_method_name(len(out)).decode()
        if name == "unknown":
            return tuple(out)
        out.append(name)


#: Every method the library computes, by dmbp_method_name's names.
METHODS = _method_names()

#: The shared library this package loaded (see dmbp._lib).
library_path = _lib.path


def version():
    """The C library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.dmbp_version().decode()


__version__ = version()


def set_num_threads(n):
    """Threads the library computes with from now on (0: the default,
    OMP_NUM_THREADS or every core)."""
    from ._errors import check
    check(_lib.dmbp_set_num_threads(int(n)))


def get_num_threads():
    return _lib.dmbp_get_num_threads()
