"""Cast shadows on the landing-site patch, computed from the terrain for a Sun direction (horizon sweep).

The site patch (:func:`viewer.terrain.meshes.build_site_patch`) is an ``n × n`` grid (row 0 north, column 0 west)
of true 3-D ENU points about the site: its ``z`` already holds the Moon's curvature. The Sun is at infinity, so a
ray towards it is one straight line in ENU, ``p + t·s``. A vertex ``p`` is in shadow when the terrain rises above
that ray somewhere towards the Sun. With ``u`` the horizontal distance along the Sun's azimuth and
``w = z − u·tan(el)``, that is: ``max w`` over the terrain farther along the same azimuth line exceeds ``w(p)``.
So one reverse running maximum per line, on a grid turned to the Sun's azimuth, answers every vertex at once.

The grid's horizontal coordinates are the patch's nominal ones (gnomonic, as built); the true ENU ``x, y`` differ
from them by < 0.4 % at the patch edge, which changes shadow lengths by far less than a grid cell.

The Sun is a disc of 0.53°: the lit fraction is averaged over three elevations across it (a penumbra), and terrain
beyond the patch casts nothing. :class:`PatchShadows` caches the result per Sun direction quantised to 0.1°.
"""

from __future__ import annotations

import hashlib

import numpy as np

from viewer import cache

SUN_RADIUS_DEG = 0.2665  # the Sun's angular radius seen from the Moon (≈ 1 au)
QUANTUM_DEG = 0.1


def lit_fraction(
    z: np.ndarray, spacing: float, sun: np.ndarray, *, tolerance: float | None = None, samples: int = 3
) -> np.ndarray:
    """Lit fraction (0 … 1) of every node of the height grid ``z`` (n×n, row 0 north, column 0 west; metres) for
    the unit Sun direction ``sun`` (ENU). ``spacing`` is the node spacing (m)."""
    from scipy.ndimage import map_coordinates

    z = np.asarray(z, dtype=np.float64)
    n_rows, n_cols = z.shape
    s = np.asarray(sun, dtype=np.float64)
    s = s / np.linalg.norm(s)
    horiz = float(np.hypot(s[0], s[1]))
    if horiz < 1e-6:  # the Sun at the zenith casts no shadow
        return np.ones_like(z)
    el = np.degrees(np.arctan2(s[2], horiz))
    h = np.array([s[0], s[1]]) / horiz  # towards the Sun (east, north)
    perp = np.array([-h[1], h[0]])
    tol = 0.02 * spacing if tolerance is None else tolerance
    # node coordinates (m): x east from the west edge's centre line, y north
    half_x, half_y = (n_cols - 1) * spacing / 2.0, (n_rows - 1) * spacing / 2.0
    # the turned grid: k along the Sun's azimuth, m across it, both in node spacings, covering the square
    reach = int(np.ceil(np.hypot(half_x, half_y) / spacing)) + 1
    k = np.arange(-reach, reach + 1, dtype=np.float64)
    uu, vv = np.meshgrid(k * spacing, k * spacing, indexing="ij")  # [across, along]: rows are lines towards the Sun
    uu, vv = vv, uu  # uu: along (u), vv: across (v)
    x = uu * h[0] + vv * perp[0]
    y = uu * h[1] + vv * perp[1]
    col = (x + half_x) / spacing
    row = (half_y - y) / spacing
    zt = map_coordinates(z, [row, col], order=1, mode="constant", cval=np.nan)
    # the nodes' own coordinates on the turned grid
    yy, xx = np.mgrid[0:n_rows, 0:n_cols].astype(np.float64)
    px, py = xx * spacing - half_x, half_y - yy * spacing
    pu = (px * h[0] + py * h[1]) / spacing + reach  # fractional index along
    pv = (px * perp[0] + py * perp[1]) / spacing + reach  # fractional index across
    offsets = np.linspace(-SUN_RADIUS_DEG, SUN_RADIUS_DEG, samples) if samples > 1 else np.zeros(1)
    lit = np.zeros_like(z)
    for d in offsets:
        t = np.tan(np.radians(el + d))
        w = zt - uu * t
        w = np.where(np.isnan(w), -1e12, w)  # beyond the patch: nothing casts
        upstream = np.maximum.accumulate(w[:, ::-1], axis=1)[:, ::-1]  # max of w from here towards the Sun
        # the highest terrain farther along the line than one node past the vertex
        m = map_coordinates(upstream, [pv, np.minimum(pu + 1.0, 2 * reach)], order=1, mode="nearest")
        wp = z - (pu - reach) * spacing * t
        lit += (~(m > wp + tol)).astype(np.float64)
    return lit / len(offsets)


class PatchShadows:
    """Per-vertex lit fraction of a site patch, cached per Sun direction (quantised to ``QUANTUM_DEG``).

    ``points`` are the patch's ENU vertices (N = n², row-major as built), ``size_m`` its side.
    """

    def __init__(self, points: np.ndarray, size_m: float):
        pts = np.asarray(points, dtype=np.float64)
        n = int(round(np.sqrt(len(pts))))
        if n * n != len(pts) or n < 3:
            raise ValueError(f"the site patch has {len(pts)} points, not an n×n grid")
        self.n = n
        self.z = pts[:, 2].reshape(n, n)
        self.spacing = float(size_m) / (n - 1)
        self._cache: dict[tuple, np.ndarray] = {}

    @staticmethod
    def key(sun: np.ndarray) -> tuple[int, int]:
        s = np.asarray(sun, float)
        az = np.degrees(np.arctan2(s[0], s[1])) % 360.0
        el = np.degrees(np.arcsin(np.clip(s[2] / np.linalg.norm(s), -1.0, 1.0)))
        return int(round(az / QUANTUM_DEG)) % int(round(360 / QUANTUM_DEG)), int(round(el / QUANTUM_DEG))

    def lit(self, sun: np.ndarray) -> np.ndarray:
        """(N,) lit fraction for the Sun direction ``sun`` (ENU unit vector)."""
        key = self.key(sun)
        if key not in self._cache:
            az, el = np.radians(key[0] * QUANTUM_DEG), np.radians(key[1] * QUANTUM_DEG)
            s = np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = lit_fraction(self.z, self.spacing, s).ravel()
        return self._cache[key]

    def horizon(self) -> np.ndarray:
        """(N, ``HORIZON_AZIMUTHS``) horizon bytes of the patch for the browser (:func:`horizon_bytes`); kept in
        the disk cache (kind ``meshes``) under a hash of the heights."""
        digest = hashlib.sha256(np.ascontiguousarray(self.z).tobytes()).hexdigest()[:16]
        key = cache.make_key({"z": digest, "spacing": self.spacing, "azimuths": HORIZON_AZIMUTHS}, [__file__])
        hit = cache.read_arrays("meshes", "site-horizon", key, required=("horizon",))
        if hit is not None and hit["horizon"].shape == (self.n * self.n, HORIZON_AZIMUTHS):
            return hit["horizon"]
        out = horizon_bytes(horizon_angles(self.z, self.spacing))
        cache.write_arrays("meshes", "site-horizon", key, {"horizon": out})
        return out


# ------------------------------------------------------------------------------ horizons, for the browser
# The browser shades the patch itself as its Sun moves: per vertex, the terrain's horizon elevation towards
# HORIZON_AZIMUTHS azimuths (from north towards east, evenly spaced), sent once as bytes (HORIZON_MIN_DEG +
# HORIZON_STEP_DEG × byte). A vertex is lit where the Sun stands above the horizon at the Sun's azimuth
# (interpolated between the two nearest azimuths), with the same penumbra across the Sun's disc.
HORIZON_AZIMUTHS = 16  # 22.5° apart: the lit/shadow split agrees with lit_fraction at ≥ 97.5 % of the vertices
HORIZON_MIN_DEG = -5.0
HORIZON_STEP_DEG = 0.25


def horizon_angles(z: np.ndarray, spacing: float, azimuths: int = HORIZON_AZIMUTHS) -> np.ndarray:
    """(N, azimuths) horizon elevation (deg) of every node of the height grid ``z`` (n×n, row 0 north, column 0
    west; metres, curvature included) towards each azimuth: the steepest rise to any node farther along that
    line than one node (as :func:`lit_fraction` judges), -90 where the patch ends first."""
    from scipy.ndimage import map_coordinates

    z = np.asarray(z, dtype=np.float64)
    n_rows, n_cols = z.shape
    rows, cols = (a.ravel() for a in np.mgrid[0:n_rows, 0:n_cols].astype(np.float64))
    zp = z.ravel()
    tol = 0.02 * spacing
    out = np.empty((len(zp), azimuths))
    for k in range(azimuths):
        az = 2.0 * np.pi * k / azimuths
        step_c, step_r = np.sin(az), -np.cos(az)  # one node towards the azimuth: east is +column, north is -row
        best = np.full(len(zp), -np.inf)
        for d in range(1, int(np.ceil(np.hypot(n_rows, n_cols))) + 1):
            r, c = rows + d * step_r, cols + d * step_c
            inside = (r >= 0) & (r <= n_rows - 1) & (c >= 0) & (c <= n_cols - 1)
            if not inside.any():
                break
            zq = map_coordinates(z, [r[inside], c[inside]], order=1)
            best[inside] = np.maximum(best[inside], (zq - zp[inside] - tol) / (d * spacing))
        out[:, k] = np.where(np.isfinite(best), np.degrees(np.arctan(best)), -90.0)
    return out


def horizon_bytes(angles: np.ndarray) -> np.ndarray:
    """Horizon angles (deg) as the bytes the browser reads (``HORIZON_MIN_DEG`` + ``HORIZON_STEP_DEG`` × byte)."""
    q = np.round((np.asarray(angles, float) - HORIZON_MIN_DEG) / HORIZON_STEP_DEG)
    return np.clip(q, 0, 255).astype(np.uint8)


def lit_from_horizon(horizon: np.ndarray, sun: np.ndarray) -> np.ndarray:
    """(N,) lit fraction for the Sun direction ``sun`` (ENU) from horizon bytes (N, azimuths): what the browser
    computes (``viewer/ui/static/site_shadows.js``), here to test it against :func:`lit_fraction`."""
    s = np.asarray(sun, float) / np.linalg.norm(sun)
    n_az = horizon.shape[1]
    el = np.degrees(np.arcsin(np.clip(s[2], -1.0, 1.0)))
    x = (np.degrees(np.arctan2(s[0], s[1])) % 360.0) / (360.0 / n_az)
    k0 = int(np.floor(x)) % n_az
    f = x - np.floor(x)
    h = HORIZON_MIN_DEG + HORIZON_STEP_DEG * ((1 - f) * horizon[:, k0] + f * horizon[:, (k0 + 1) % n_az])
    return np.clip((el - h) / (2 * SUN_RADIUS_DEG) + 0.5, 0.0, 1.0)
