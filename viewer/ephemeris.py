"""States from SPICE: the only source of positions in the viewer. Vectorised over ``ets``.

All lengths are km and velocities km/s, as SPICE gives them. A time outside the kernels' coverage raises
:class:`~viewer.errors.CoverageError` with the covered interval and the requested time.
"""

from __future__ import annotations

import numpy as np
import spiceypy

from viewer import kernels
from viewer.epochs import coverage_error
from viewer.errors import KernelError

try:  # spiceypy's Cython layer loops over the epochs in C (older spiceypy lacks it); figures in docs/architecture.md
    from spiceypy import cyice as _cyice
except ImportError:  # pragma: no cover - older spiceypy
    _cyice = None


def _check(target: str, ets: np.ndarray) -> None:
    try:
        start, end = kernels.coverage(target)
    except (KernelError, spiceypy.utils.exceptions.SpiceyError):
        return  # no SPK segment of its own or an unknown name: the SPICE query itself reports it
    if len(ets) == 1:  # the scene's per-frame queries: a scalar test costs a tenth of the array one
        if not (ets[0] < start or ets[0] > end):
            return
        raise coverage_error(target, float(ets[0]), start, end)
    bad = (ets < start) | (ets > end)
    if bad.any():
        raise coverage_error(target, float(ets[bad][0]), start, end)


def _epochs(ets, target: str, observer: str, check: bool) -> np.ndarray:
    kernels.furnish()
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(ets, dtype=float)))
    if check:
        _check(target, arr)
        _check(observer, arr)
    return arr


def _query(width: int, target: str, ets, observer: str, frame: str, abcorr: str, check: bool) -> np.ndarray:
    arr = _epochs(ets, target, observer, check)
    if len(arr) == 0:
        return np.zeros((0, width))
    name = "spkezr" if width == 6 else "spkpos"
    if _cyice is not None:
        out, _ = getattr(_cyice, name + "_v")(target, arr, frame, abcorr, observer)
    else:
        out, _ = getattr(spiceypy, name)(target, arr, frame, abcorr, observer)
    return np.asarray(out, dtype=float).reshape(len(arr), width)


def states(
    target: str, ets, observer: str = "MOON", frame: str = "J2000", abcorr: str = "NONE", *, check: bool = True
) -> np.ndarray:
    """Return (N, 6) states of ``target`` relative to ``observer`` in ``frame``, km and km/s."""
    return _query(6, target, ets, observer, frame, abcorr, check)


def positions(
    target: str, ets, observer: str = "MOON", frame: str = "J2000", abcorr: str = "NONE", *, check: bool = True
) -> np.ndarray:
    """Return (N, 3) positions of ``target`` relative to ``observer`` in ``frame``, km.

    ``check=False`` skips the coverage check (for callers that already clipped ``ets`` to the coverage).
    """
    return _query(3, target, ets, observer, frame, abcorr, check)


def rotation(from_frame: str, to_frame: str, ets) -> np.ndarray:
    """Return (N, 3, 3) rotation matrices from ``from_frame`` to ``to_frame``."""
    kernels.furnish()
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(ets, dtype=float)))
    if len(arr) == 0:
        return np.zeros((0, 3, 3))
    if _cyice is not None:
        return np.asarray(_cyice.pxform_v(from_frame, to_frame, arr), dtype=float).reshape(len(arr), 3, 3)
    return np.array([spiceypy.pxform(from_frame, to_frame, float(et)) for et in arr]).reshape(len(arr), 3, 3)
