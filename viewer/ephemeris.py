"""States from SPICE: the only source of positions in the viewer (design rule 2). Vectorised over ``ets``.

All lengths are km and velocities km/s, as SPICE gives them. A time outside the kernels' coverage raises
:class:`~viewer.errors.CoverageError` with the covered interval and the requested time.
"""

from __future__ import annotations

import numpy as np
import spiceypy

from viewer import kernels
from viewer.errors import CoverageError


def _check(target: str, ets: np.ndarray) -> None:
    try:
        start, end = kernels.coverage(target)
    except Exception:
        return  # let SPICE report bodies it knows by other means (e.g. DE440 planets)
    bad = (ets < start) | (ets > end)
    if bad.any():
        raise CoverageError(target, float(ets[bad][0]), start, end)


def states(target: str, ets, observer: str = "MOON", frame: str = "J2000", abcorr: str = "NONE") -> np.ndarray:
    """Return (N, 6) states of ``target`` relative to ``observer`` in ``frame``, km and km/s."""
    kernels.furnish()
    arr = np.atleast_1d(np.asarray(ets, dtype=float))
    _check(target, arr)
    _check(observer, arr)
    out, _ = spiceypy.spkezr(target, arr, frame, abcorr, observer)
    return np.asarray(out, dtype=float).reshape(len(arr), 6)


def positions(target: str, ets, observer: str = "MOON", frame: str = "J2000", abcorr: str = "NONE") -> np.ndarray:
    """Return (N, 3) positions of ``target`` relative to ``observer`` in ``frame``, km."""
    kernels.furnish()
    arr = np.atleast_1d(np.asarray(ets, dtype=float))
    _check(target, arr)
    _check(observer, arr)
    out, _ = spiceypy.spkpos(target, arr, frame, abcorr, observer)
    return np.asarray(out, dtype=float).reshape(len(arr), 3)


def rotation(from_frame: str, to_frame: str, ets) -> np.ndarray:
    """Return (N, 3, 3) rotation matrices from ``from_frame`` to ``to_frame``."""
    kernels.furnish()
    arr = np.atleast_1d(np.asarray(ets, dtype=float))
    return np.array([spiceypy.pxform(from_frame, to_frame, float(et)) for et in arr])
