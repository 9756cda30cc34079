"""Line-of-sight geometry: positions and rotations from SPICE (through :mod:`viewer.ephemeris`), ray–sphere tests,
limb margins, where a segment first meets a sphere, and azimuth/elevation of east-north-up vectors."""

from __future__ import annotations

import numpy as np

from viewer import ephemeris


def spkpos(target: str, ets: np.ndarray, frame: str, observer: str) -> np.ndarray:
    """(N, 3) geometric positions, km, through :mod:`viewer.ephemeris` (the one way to SPICE states)."""
    return ephemeris.positions(target, ets, observer=observer, frame=frame, check=False)


def rotations(from_frame: str, to_frame: str, ets: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotation matrices ``from_frame`` → ``to_frame``."""
    return ephemeris.rotation(from_frame, to_frame, ets)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def limb_margin_deg(p: np.ndarray, q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Angle (deg) between the ray p→q and the limb of the sphere seen from p: > 0 clear of the disc, < 0 on it."""
    pc = centre - p
    dist = np.linalg.norm(pc, axis=-1)
    pq = q - p
    cos_t = _dot(pq, pc) / (np.linalg.norm(pq, axis=-1) * dist)
    alpha = np.arcsin(np.clip(radius / dist, -1.0, 1.0))
    return np.degrees(np.arccos(np.clip(cos_t, -1.0, 1.0)) - alpha)


def segment_clear_of_sphere(p: np.ndarray, q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """True where the segment p→q stays at least ``radius`` from ``centre`` (all (N, 3) or broadcastable)."""
    p = np.asarray(p, dtype=float) - centre
    d = np.asarray(q, dtype=float) - centre - p
    dd = _dot(d, d)
    t = np.clip(-_dot(p, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    closest = p + t[..., None] * d
    return _dot(closest, closest) >= radius * radius


def sphere_entry_fraction(p: np.ndarray, q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Fraction along p→q (0 at p, 1 at q) where the segment first meets the sphere; NaN where it never does.

    0 where p is already inside the sphere.
    """
    f = np.asarray(p, dtype=float) - centre
    d = np.asarray(q, dtype=float) - np.asarray(p, dtype=float)
    a = _dot(d, d)
    b = 2.0 * _dot(f, d)
    c = _dot(f, f) - radius * radius
    disc = b * b - 4.0 * a * c
    t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * np.where(a > 0, a, 1.0))
    t = np.where(c <= 0, 0.0, t)
    return np.where((disc >= 0) & (t >= 0) & (t <= 1), t, np.nan)


def azimuth_elevation_deg(enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth (clockwise from north) and elevation of (N, 3) east-north-up vectors, degrees."""
    enu = np.asarray(enu, dtype=float)
    az = np.degrees(np.arctan2(enu[..., 0], enu[..., 1])) % 360.0
    el = np.degrees(np.arcsin(np.clip(enu[..., 2] / np.linalg.norm(enu, axis=-1), -1.0, 1.0)))
    return az, el
