"""The library's failures as Python exceptions."""
from . import _lib


class DmbpError(Exception):
    """A libdmbp call failed. str(e) is the library's message
    (dmbp_last_error()); e.status is the dmbp_status number, e.status_name
    its name ("DMBP_ERR_FORMAT"), e.exit_status the dmbp program's exit
    status for the same failure (dmbp(1), EXIT STATUS)."""

    status = None
    exit_status = 1

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def status_name(self):
        if self.status is None:
            return None
        return _lib.dmbp_status_str(self.status).decode()


class ArgumentError(DmbpError, ValueError):
    status, exit_status = 1, 2


class IOFailure(DmbpError, OSError):
    status, exit_status = 2, 3


class FormatError(DmbpError, ValueError):
    status, exit_status = 3, 4


class UnsupportedError(DmbpError, NotImplementedError):
    status, exit_status = 4, 5


class ShapeError(DmbpError, ValueError):
    status, exit_status = 5, 6


class NonFiniteError(DmbpError, ValueError):
    status, exit_status = 6, 7


class OutOfMemory(DmbpError, MemoryError):
    status, exit_status = 7, 1


class BackendError(DmbpError):
    status, exit_status = 8, 1


class InternalError(DmbpError):
    status, exit_status = 9, 1


_BY_STATUS = {c.status: c for c in (
    ArgumentError, IOFailure, FormatError, UnsupportedError, ShapeError,
    NonFiniteError, OutOfMemory, BackendError, InternalError)}


def error(status, message=None):
    """The exception for a failed call's status, carrying the library's
    message (the calling thread's dmbp_last_error() unless given)."""
    if message is None:
        message = _lib.dmbp_last_error().decode("utf-8", "replace")
    cls = _BY_STATUS.get(status, DmbpError)
    return cls(message, status)


def check(status):
    if status != 0:
        raise error(status)


def arg_error(message):
    """A binding-side argument problem, worded and classed as the
    library's own (DMBP_ERR_ARG)."""
    return ArgumentError(message, 1)
