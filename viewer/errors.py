"""The project's exceptions.

Every error a user can cause (a missing kernel, a corrupt DEM, a time outside coverage, an odd video size)
is a :class:`ViewerError`. Its ``str()`` is one line that names the file or value and the fix; the CLI and
the UI print that line and never a traceback.
"""

from __future__ import annotations


class ViewerError(Exception):
    """Base class of every error the viewer reports to a person."""

    def one_line(self) -> str:
        return " ".join(str(self).split())


class DataError(ViewerError):
    """A data file (mission YAML, DEM, texture, kernel) is missing, unreadable or malformed."""

    def __init__(self, message: str, *, path=None):
        super().__init__(message)
        self.path = path


class KernelError(DataError):
    """A SPICE kernel is missing or corrupt."""


class CoverageError(ViewerError, ValueError):
    """A request for a time outside what the kernels cover.

    Carries the covered interval and the requested time, as ET and as UTC strings. The caller gives the UTC strings
    (:func:`viewer.epochs.coverage_error` builds the whole error), so building one needs no kernel.
    """

    def __init__(
        self,
        body: str,
        requested_et: float,
        start_et: float,
        end_et: float,
        *,
        requested_utc: str,
        start_utc: str,
        end_utc: str,
    ):
        self.body = body
        self.requested_et = float(requested_et)
        self.start_et = float(start_et)
        self.end_et = float(end_et)
        self.requested_utc = requested_utc
        self.start_utc = start_utc
        self.end_utc = end_utc
        super().__init__(
            f"{body}: the kernels cover {start_utc} … {end_utc}; requested {requested_utc}. "
            "Choose a time inside that interval."
        )


class InputError(ViewerError, ValueError):
    """A value given on the command line or in the UI is out of range or malformed."""


SHOWN_MAX = 80  # characters of a user-given value quoted in a message


def shown(value, limit: int = SHOWN_MAX) -> str:
    """A value someone typed, for a one-line message: quoted like ``repr`` (control characters escaped) and cut to
    ``limit`` characters with an ellipsis, so a 20 kB URL value gives a short line."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


class LastGood:
    """``load()`` again on each call; when it raises a :class:`ViewerError` after a success, log the one line and
    return the value of the last success instead (a file broken while a server runs keeps the exhibit going)."""

    def __init__(self, load, log, what: str):
        self.load, self.log, self.what = load, log, what
        self._value: list = []

    def __call__(self):
        try:
            value = self.load()
        except ViewerError as exc:
            if not self._value:
                raise
            self.log.error("%s (keeping the %s read before)", exc, self.what)
            return self._value[0]
        self._value[:] = [value]
        return value
