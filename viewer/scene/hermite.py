"""Smooth trails for a camera: cubic Hermite between sampled positions and velocities, refined until the polyline's
consecutive on-screen segments turn by at most ``max_turn_deg`` (no VTK; the same rule serves the browser).

>>> t = np.array([0.0, 1.0]); p = np.array([[1.0, 0, 0], [0, 1.0, 0]]); v = np.array([[0, 1.57, 0], [-1.57, 0, 0]])
>>> tq, pq = densify(t, p, v, lambda x: x[:, :2] * 100.0)  # a quarter circle 100 px across, from two samples
>>> len(tq), float(np.nanmax(turn_angles(pq[:, :2] * 100.0))) <= 2.0
(59, True)

The rule, for a polyline of on-screen points ``q``: at every vertex whose two segments are both at least
``min_px`` long, the direction changes by at most ``max_turn_deg``. Shorter segments are below the pixel scale and
are not judged (a curve a few pixels across is smooth once its segments are sub-pixel). :func:`turn_angles`
measures it. :func:`densify` first splits each segment evenly by how far the on-screen tangent turns across it, then
splits, at the Hermite midpoint in time, both segments of every vertex that still breaks the rule and every segment
whose midpoint would break it, until none does (or ``max_rounds`` / ``max_points`` is reached).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MIN_PX = 1.0
MAX_ROUNDS = 10
MAX_POINTS = 40_000


def hermite(t: np.ndarray, p: np.ndarray, v: np.ndarray, tq: np.ndarray, derivative: bool = False) -> np.ndarray:
    """Cubic Hermite through positions ``p`` (N,3) with velocities ``v`` (per unit of ``t``) at ``tq`` (M,); with
    ``derivative``, its velocity there."""
    i = np.clip(np.searchsorted(t, tq, side="right") - 1, 0, len(t) - 2)
    h = (t[i + 1] - t[i])[:, None]
    s = (tq - t[i])[:, None] / h
    s2, s3 = s * s, s * s * s
    if derivative:
        return ((6 * s2 - 6 * s) * (p[i] - p[i + 1])) / h + (3 * s2 - 4 * s + 1) * v[i] + (3 * s2 - 2 * s) * v[i + 1]
    return (
        (2 * s3 - 3 * s2 + 1) * p[i]
        + (s3 - 2 * s2 + s) * h * v[i]
        + (-2 * s3 + 3 * s2) * p[i + 1]
        + (s3 - s2) * h * v[i + 1]
    )


def turn_angles(q: np.ndarray, min_px: float = MIN_PX) -> np.ndarray:
    """Turning angle (deg) at each interior vertex of the on-screen polyline ``q`` (N,2); NaN where a segment is
    shorter than ``min_px`` or a point is not on the image plane (NaN)."""
    if len(q) < 3:
        return np.zeros(0)
    return _turn3(np.stack([q[:-2], q[1:-1], q[2:]], axis=1), min_px)


def densify(
    t: np.ndarray,
    p: np.ndarray,
    v: np.ndarray,
    project: Callable[[np.ndarray], np.ndarray],
    *,
    max_turn_deg: float = 2.0,
    min_px: float = MIN_PX,
    max_rounds: int = MAX_ROUNDS,
    max_points: int = MAX_POINTS,
    screen: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and points (render units) of the trail through samples ``t``, ``p``, ``v``, refined for the camera
    ``project`` (world points (N,3) -> on-screen pixels (N,2), NaN behind the camera): see the module docstring.

    A first pass splits each segment evenly by how far the on-screen tangent turns across it; then the rounds split
    what still breaks the rule. ``screen`` = (width, height): refine only there (a margin of ``SCREEN_MARGIN_PX``)."""
    t = np.asarray(t, float)
    p = np.asarray(p, float)
    if len(t) < 2:
        return t, p
    tq = _seed(t, p, v, project, max_turn_deg, min_px, max_points)
    pq = hermite(t, p, v, tq)
    pq[np.searchsorted(tq, t)] = p  # the samples themselves, exactly
    for _ in range(max_rounds):
        if len(tq) >= max_points:
            break
        mid = 0.5 * (tq[:-1] + tq[1:])
        pm = hermite(t, p, v, mid)
        q, qm = project(pq), project(pm)
        split = np.zeros(len(tq) - 1, bool)
        bad = np.flatnonzero(turn_angles(q, min_px) > max_turn_deg)  # vertex bad + 1 lies between segments bad, bad+1
        split[bad] = split[bad + 1] = True
        # the curve inside a segment: the turn its midpoint would make
        split |= _turn3(np.stack([q[:-1], qm, q[1:]], axis=1), min_px) > max_turn_deg
        if screen is not None:
            split &= _near_screen(qm, screen)
        k = np.flatnonzero(split)
        if len(k) == 0:
            break
        tq = np.insert(tq, k + 1, mid[k])
        pq = np.insert(pq, k + 1, pm[k], axis=0)
    return tq, pq


def _seed(t, p, v, project, max_turn_deg: float, min_px: float, max_points: int) -> np.ndarray:
    """Epochs splitting each segment into as many equal steps as its on-screen tangent turns by 0.9 ×
    ``max_turn_deg`` (at most one step per ``min_px`` of chord)."""
    h = np.diff(t)
    eps = 1e-3 * np.minimum(np.r_[h, h[-1]], np.r_[h[0], h])[:, None]  # a thousandth of the local step
    q, qd = project(p), project(p + v * eps)
    d = qd - q
    cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    turn = np.degrees(np.abs(np.arctan2(cross, np.einsum("ij,ij->i", d[:-1], d[1:]))))
    chord = np.linalg.norm(q[1:] - q[:-1], axis=1)
    n = np.ceil(turn / (0.9 * max_turn_deg))
    n = np.clip(np.minimum(n, np.floor(chord / min_px)), 1, 512)
    n = np.where(np.isfinite(n), n, 1).astype(int)
    if n.sum() > max_points:
        n = np.maximum(1, (n * (max_points / n.sum())).astype(int))
    i = np.repeat(np.arange(len(h)), n)
    k = np.arange(len(i)) - np.repeat(np.cumsum(n) - n, n)
    return np.append(t[i] + h[i] * k / n[i], t[-1])


SCREEN_MARGIN_PX = 64.0


def _near_screen(q: np.ndarray, screen: tuple[float, float]) -> np.ndarray:
    m = SCREEN_MARGIN_PX
    return (q[:, 0] > -m) & (q[:, 0] < screen[0] + m) & (q[:, 1] > -m) & (q[:, 1] < screen[1] + m)


def _turn3(trio: np.ndarray, min_px: float) -> np.ndarray:
    """Turning angle (deg) at the middle point of each (3,2) triple; NaN where a half is shorter than ``min_px``."""
    a, b = trio[:, 1] - trio[:, 0], trio[:, 2] - trio[:, 1]
    la, lb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (la >= min_px) & (lb >= min_px)
    d = np.where(ok, la * lb, 1.0)
    ang = np.degrees(np.abs(np.arctan2((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / d, np.einsum("ij,ij->i", a, b) / d)))
    return np.where(ok, ang, np.nan)
