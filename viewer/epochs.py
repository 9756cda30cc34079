"""UTC <-> ET at the edges. Inside the viewer time is SPICE ET (TDB seconds past J2000), named ``et``/``ets``.

Only this module turns ISO strings into ET and back. It needs only the leapseconds kernel, which it loads
itself (once) if no kernel pool has been furnished yet.

>>> utc_from_et(et_from_utc("2024-06-01T22:23:16Z"))
'2024-06-01T22:23:16Z'
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import spiceypy

from viewer import kernels
from viewer.errors import CoverageError, InputError, shown

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$")


def _ensure_lsk() -> None:
    # Checked on every call (a pool lookup costs about a microsecond): tests and tools may kclear() the pool.
    if not spiceypy.expool("DELTET/DELTA_AT"):
        spiceypy.furnsh(str(kernels.leapseconds_path()))


def et_from_utc(utc: str) -> float:
    """Return ET (TDB s past J2000) for a UTC ISO string such as ``2024-06-01T22:23:16Z``.

    Raises :class:`~viewer.errors.InputError` with the bad string if it does not parse.
    """
    if not isinstance(utc, str) or not _ISO.match(utc.strip()):
        raise InputError(f"time {shown(utc)} is not a UTC ISO time; write it like 2024-06-01T22:23:16Z")
    _ensure_lsk()
    text = utc.strip().rstrip("Z").replace(" ", "T")
    try:
        return float(spiceypy.str2et(text))
    except spiceypy.utils.exceptions.SpiceyError as exc:
        raise InputError(f"time {shown(utc)} is not a valid UTC time ({exc.short or 'SPICE error'})") from None


def utc_from_et(et: float, precision: int = 0) -> str:
    """Return the UTC ISO string with ``Z`` for an ET, rounded to ``precision`` decimals of a second."""
    _ensure_lsk()
    return spiceypy.et2utc(float(et), "ISOC", int(precision)) + "Z"


def utc_label(et: float) -> str:
    """A short UTC label for screens: ``2024-06-01 22:23:16 UTC``."""
    return utc_from_et(et).replace("T", " ").rstrip("Z") + " UTC"


def utc_labeller(et_ref: float):
    """Return a SPICE-free ``et -> 'YYYY-MM-DD HH:MM:SS UTC'`` for times near ``et_ref``.

    CSPICE is not thread-safe, so code that labels frames off the main thread (the video writer) must not call
    SPICE. The label counts seconds from a reference converted once here; it is exact to well under a
    millisecond while no leap second falls between (none from 2017 to at least 2026) and TDB−UTC's
    periodic terms (±1.7 ms) stay below the rounding.
    """
    ref = datetime.fromisoformat(utc_from_et(et_ref, 6).rstrip("Z"))

    def label(et: float) -> str:
        t = ref + timedelta(seconds=float(et) - float(et_ref) + 0.5)
        return t.strftime("%Y-%m-%d %H:%M:%S") + " UTC"

    return label


def mission_elapsed(et: float, epoch_et: float) -> str:
    """Return ``T+3d 04:05:06`` (or ``T-…``) from ``epoch_et``."""
    dt = float(et) - float(epoch_et)
    sign = "+" if dt >= 0 else "-"
    s = int(round(abs(dt)))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"T{sign}{d}d {h:02d}:{m:02d}:{s:02d}"


def coverage_error(body: str, requested_et: float, start_et: float, end_et: float) -> CoverageError:
    """The :class:`~viewer.errors.CoverageError` for ``requested_et`` outside ``[start_et, end_et]``, times in UTC."""
    return CoverageError(
        body,
        requested_et,
        start_et,
        end_et,
        requested_utc=utc_from_et(requested_et),
        start_utc=utc_from_et(start_et),
        end_utc=utc_from_et(end_et),
    )


def et_minus_unix(lo: float, hi: float) -> float:
    """ET minus Unix seconds (UTC) over the span [lo, hi]: one constant, for clocks that count Unix seconds (the
    browser). A leap second inside the span is logged (the clock may then be 1 s off near its end)."""

    def offset(et):
        utc = utc_from_et(et, 3)
        unix = datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()
        return et - unix

    a, b = offset(lo), offset(hi)
    if abs(a - b) > 0.01:
        logging.getLogger(__name__).warning(
            "a leap second inside the mission span: the browser clock may be 1 s off near its end"
        )
    return a
