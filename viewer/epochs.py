"""UTC <-> ET at the edges. Inside the viewer time is SPICE ET (TDB seconds past J2000), named ``et``/``ets``.

Only this module turns ISO strings into ET and back. It needs only the leapseconds kernel, which it loads
itself (once) if no kernel pool has been furnished yet.

>>> utc_from_et(et_from_utc("2024-06-01T22:23:16Z"))
'2024-06-01T22:23:16Z'
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import spiceypy

from viewer.errors import InputError

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$")


def _ensure_lsk() -> None:
    # Checked on every call (a pool lookup costs about a microsecond): tests and tools may kclear() the pool.
    if not spiceypy.expool("DELTET/DELTA_AT"):
        from viewer import kernels

        spiceypy.furnsh(str(kernels.leapseconds_path()))


def et_from_utc(utc: str) -> float:
    """Return ET (TDB s past J2000) for a UTC ISO string such as ``2024-06-01T22:23:16Z``.

    Raises :class:`~viewer.errors.InputError` with the bad string if it does not parse.
    """
    if not isinstance(utc, str) or not _ISO.match(utc.strip()):
        raise InputError(f"time {utc!r} is not a UTC ISO time; write it like 2024-06-01T22:23:16Z")
    _ensure_lsk()
    text = utc.strip().rstrip("Z").replace(" ", "T")
    try:
        return float(spiceypy.str2et(text))
    except spiceypy.utils.exceptions.SpiceyError as exc:
        raise InputError(f"time {utc!r} is not a valid UTC time ({exc.short or 'SPICE error'})") from None


def ets_from_utc(utcs: Iterable[str]) -> np.ndarray:
    """Vectorised :func:`et_from_utc`."""
    return np.array([et_from_utc(u) for u in utcs], dtype=float)


def utc_from_et(et: float, precision: int = 0) -> str:
    """Return the UTC ISO string with ``Z`` for an ET, rounded to ``precision`` decimals of a second."""
    _ensure_lsk()
    return spiceypy.et2utc(float(et), "ISOC", int(precision)) + "Z"


def utc_label(et: float) -> str:
    """A short UTC label for screens: ``2024-06-01 22:23:16 UTC``."""
    return utc_from_et(et).replace("T", " ").rstrip("Z") + " UTC"


def mission_elapsed(et: float, epoch_et: float) -> str:
    """Return ``T+3d 04:05:06`` (or ``T-…``) from ``epoch_et``."""
    dt = float(et) - float(epoch_et)
    sign = "+" if dt >= 0 else "-"
    s = int(round(abs(dt)))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"T{sign}{d}d {h:02d}:{m:02d}:{s:02d}"
