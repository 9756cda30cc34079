"""The force model of the reconstructed trajectories: point masses of Earth, Moon and Sun, the J2 of Earth and Moon,
and the Moon's C22 for states relative to the Moon.

- Positions of the bodies come from DE440 through SPICE (tabulated every 30 min, cubic Hermite), the GMs from
  the kernel pool (``BODY10_GM``, ``BODY399_GM``, ``BODY301_GM`` in ``kernels/viewer_bodies.tpc``, DE440 values).
- J2 acts along each body's pole: Earth's from ITRF93 (EOP binary PCK), the Moon's from MOON_ME (lunar PA
  binary PCK), with IAU_EARTH / IAU_MOON as fallbacks. The poles move slowly (precession, physical libration),
  so they are tabulated every 6 h and interpolated linearly (error < 1e-7 rad, far below what J2 can feel).
- States are integrated in J2000 relative to a centre body (``"MOON"`` or ``"EARTH"``); the acceleration is
  the centre's attraction, the J2 terms, and the direct minus indirect attraction of the two other bodies.

- C22 (the Moon's equatorial ellipticity) acts in MOON_ME for Moon-centred states; its x and y axes are tabulated
  every hour and interpolated linearly (the Moon turns 0.55 deg an hour; error < 1e-6 rad). At the Earth the
  Moon's C22 is below 1e-12 of the Moon's pull and is left out.

Coefficients (unnormalised J2 = -C20, C22) and their reference radii:

- Earth: J2 = 1.0826267e-3 at 6378.1363 km (EGM2008, Pavlis et al., JGR 117, B04406, 2012).
- Moon: J2 = 2.0330530e-4, C22 = 2.2382e-5 (normalised 3.4674e-5) at 1738.0 km (GRAIL field GL0660B, Konopliv
  et al., JGR Planets 118, 1415, 2013).
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer import kernels
from viewer.errors import KernelError

NAIF = {"SUN": 10, "EARTH": 399, "MOON": 301}
J2 = {"EARTH": (1.0826267e-3, 6378.1363), "MOON": (2.0330530e-4, 1738.0)}
POLE_FRAMES = {"EARTH": ("ITRF93", "IAU_EARTH"), "MOON": ("MOON_ME", "IAU_MOON")}
C22_MOON = 2.2382e-5
G0 = 9.80665  # m/s^2, standard gravity (defines Isp; g loads)
POLE_STEP_S = 6 * 3600.0
AXES_STEP_S = 3600.0

_generic_loaded = False


def ensure_generic_kernels() -> None:
    """Load the generic kernels (DE440, leapseconds, PCKs) once; mission kernels are not needed to integrate."""
    global _generic_loaded
    if _generic_loaded:
        return
    if spiceypy.ktotal("SPK") == 0 or not spiceypy.expool("BODY301_GM"):
        for k in kernels.generic_kernels():
            kernels.check_kernel(k)
            spiceypy.furnsh(str(k.path))
    _generic_loaded = True


def gm(body: str) -> float:
    """GM of ``body`` (km^3/s^2) from the kernel pool."""
    ensure_generic_kernels()
    name = f"BODY{NAIF[body]}_GM"
    if not spiceypy.expool(name):
        raise KernelError(f"{name} is not in the kernel pool; restore kernels/viewer_bodies.tpc")
    return float(spiceypy.gdpool(name, 0, 1)[0])


def pole_frame(body: str) -> str:
    """The body-fixed frame whose z axis gives the pole (first available of the preferred frame and fallback)."""
    ensure_generic_kernels()
    for frame in POLE_FRAMES[body]:
        try:
            spiceypy.pxform(frame, "J2000", 0.0 if body == "MOON" else 7.8e8)
            return frame
        except spiceypy.utils.exceptions.SpiceyError:
            continue
    raise KernelError(f"no orientation kernel for {body}; reinstall the kernel packages")


class PoleTable:
    """Unit pole vector of a body in J2000, tabulated every 6 h and interpolated linearly."""

    def __init__(self, body: str):
        self.frame = pole_frame(body)
        self._t0 = None
        self._poles = None

    def _extend(self, et: float) -> None:
        lo = math.floor(et / POLE_STEP_S) * POLE_STEP_S - 20 * 86400.0
        hi = lo + 160 * 86400.0
        if self._t0 is not None:
            cur_hi = self._t0 + POLE_STEP_S * (len(self._poles) - 1)
            lo, hi = min(lo, self._t0), max(hi, cur_hi)
        n = int(round((hi - lo) / POLE_STEP_S)) + 1
        ets = lo + POLE_STEP_S * np.arange(n)
        self._poles = np.array([spiceypy.pxform(self.frame, "J2000", float(t))[:, 2] for t in ets])
        self._t0 = lo

    def __call__(self, et: float) -> tuple[float, float, float]:
        if self._t0 is None or et < self._t0 or et >= self._t0 + POLE_STEP_S * (len(self._poles) - 2):
            self._extend(et)
        x = (et - self._t0) / POLE_STEP_S
        i = int(x)
        f = x - i
        a, b = self._poles[i], self._poles[i + 1]
        px, py, pz = a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])
        n = math.sqrt(px * px + py * py + pz * pz)
        return px / n, py / n, pz / n

    def exact(self, et: float) -> np.ndarray:
        return np.asarray(spiceypy.pxform(self.frame, "J2000", float(et))[:, 2])


class AxesTable:
    """The x and y axes of the Moon's body-fixed frame in J2000, tabulated every hour, interpolated linearly."""

    def __init__(self):
        self.frame = pole_frame("MOON")
        self._t0 = None
        self._ax = None

    def _extend(self, et: float) -> None:
        lo = math.floor(et / AXES_STEP_S) * AXES_STEP_S - 20 * 86400.0
        hi = lo + 160 * 86400.0
        if self._t0 is not None:
            lo, hi = min(lo, self._t0), max(hi, self._t0 + AXES_STEP_S * (len(self._ax) - 1))
        n = int(round((hi - lo) / AXES_STEP_S)) + 1
        ets = lo + AXES_STEP_S * np.arange(n)
        self._ax = [np.asarray(spiceypy.pxform(self.frame, "J2000", float(t)))[:, :2].T.ravel().tolist() for t in ets]
        self._t0 = lo

    def __call__(self, et: float) -> list[float]:
        """(x0, x1, x2, y0, y1, y2): the body x and y axes in J2000 at ``et``."""
        if self._t0 is None or et < self._t0 or et >= self._t0 + AXES_STEP_S * (len(self._ax) - 2):
            self._extend(et)
        x = (et - self._t0) / AXES_STEP_S
        i = int(x)
        f = x - i
        a, b = self._ax[i], self._ax[i + 1]
        return [a[k] + f * (b[k] - a[k]) for k in range(6)]


def c22_accel(x: float, y: float, z: float, mu: float, c22: float, radius: float, axes) -> tuple[float, float, float]:
    """C22 acceleration at (x, y, z) km (J2000) relative to the body; ``axes`` its body x and y axes in J2000."""
    bx = x * axes[0] + y * axes[1] + z * axes[2]
    by = x * axes[3] + y * axes[4] + z * axes[5]
    r2 = x * x + y * y + z * z
    r5 = r2 * r2 * math.sqrt(r2)
    k = 3.0 * mu * radius * radius * c22 / r5
    q = 5.0 * (bx * bx - by * by) / r2
    # gradient of U = k r^5 (bx^2 - by^2) / r^5: body-frame terms 2 bx, -2 by, minus q times the position
    gx, gy = 2.0 * bx, -2.0 * by
    return (k * (gx * axes[0] + gy * axes[3] - q * x), k * (gx * axes[1] + gy * axes[4] - q * y),
            k * (gx * axes[2] + gy * axes[5] - q * z))


EPHEM_STEP_S = 1800.0


class BodyTable:
    """Position of ``body`` relative to ``center`` (J2000) from DE440, tabulated every 30 min (positions and
    velocities) and interpolated by cubic Hermite in pure Python. Measured error < 1 mm for the Moon about the
    Earth, far below anything the integration can feel; a SPICE call per evaluation costs ~5x more."""

    def __init__(self, body: str, center: str):
        self.body, self.center = body, center
        self._t0 = None
        self._p = self._v = None
        self._n = 0

    def _extend(self, et: float) -> None:
        lo = math.floor(et / 86400.0) * 86400.0 - 30 * 86400.0
        hi = lo + 120 * 86400.0
        if self._t0 is not None:
            lo, hi = min(lo, self._t0), max(hi, self._t0 + EPHEM_STEP_S * (self._n - 1))
        n = int(round((hi - lo) / EPHEM_STEP_S)) + 1
        ets = lo + EPHEM_STEP_S * np.arange(n)
        st = np.asarray(spiceypy.spkezr(self.body, ets, "J2000", "NONE", self.center)[0]).reshape(n, 6)
        self._p = st[:, :3].tolist()
        self._v = (st[:, 3:] * EPHEM_STEP_S).tolist()
        self._t0, self._n = lo, n

    def __call__(self, et: float) -> tuple[float, float, float]:
        if self._t0 is None or et < self._t0 or et >= self._t0 + EPHEM_STEP_S * (self._n - 2):
            self._extend(et)
        x = (et - self._t0) / EPHEM_STEP_S
        i = int(x)
        u = x - i
        u2 = u * u
        u3 = u2 * u
        h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2
        p0, p1, v0, v1 = self._p[i], self._p[i + 1], self._v[i], self._v[i + 1]
        return (h00 * p0[0] + h10 * v0[0] + h01 * p1[0] + h11 * v1[0],
                h00 * p0[1] + h10 * v0[1] + h01 * p1[1] + h11 * v1[1],
                h00 * p0[2] + h10 * v0[2] + h01 * p1[2] + h11 * v1[2])


def j2_accel(x: float, y: float, z: float, mu: float, j2: float, radius: float, pole) -> tuple[float, float, float]:
    """J2 acceleration at (x, y, z) km relative to the body, pole a unit vector (same frame)."""
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    s = (x * pole[0] + y * pole[1] + z * pole[2]) / r  # sine of the latitude
    k = -1.5 * j2 * mu * radius * radius / (r2 * r2)
    c1 = (1.0 - 5.0 * s * s) / r
    c2 = 2.0 * s
    return k * (c1 * x + c2 * pole[0]), k * (c1 * y + c2 * pole[1]), k * (c1 * z + c2 * pole[2])


class ForceModel:
    """Gravity of Earth, Moon and Sun (DE440), the J2 of Earth and Moon and the Moon's C22 (Moon-centred), for states
    relative to ``center``."""

    def __init__(self, center: str = "MOON"):
        if center not in ("MOON", "EARTH"):
            raise ValueError(f"centre must be MOON or EARTH, not {center!r}")
        ensure_generic_kernels()
        self.center = center
        self.others = [b for b in ("EARTH", "MOON", "SUN") if b != center]
        self.mu = {b: gm(b) for b in ("EARTH", "MOON", "SUN")}
        self.poles = {b: _pole_table(b) for b in ("EARTH", "MOON")}
        self._ids = {b: NAIF[b] for b in NAIF}
        self.tables = {b: BodyTable(b, center) for b in self.others}
        self.moon_axes = _axes_table() if center == "MOON" else None

    def body_positions(self, et: float) -> dict[str, tuple[float, float, float]]:
        c = self._ids[self.center]
        return {b: tuple(spiceypy.spkezp(self._ids[b], et, "J2000", "NONE", c)[0]) for b in self.others}

    def accel(self, et: float, x: float, y: float, z: float) -> tuple[float, float, float]:
        """Acceleration (km/s^2, J2000) of a point at (x, y, z) km relative to the centre, at ``et``."""
        mu_c = self.mu[self.center]
        r2 = x * x + y * y + z * z
        r3 = r2 * math.sqrt(r2)
        ax, ay, az = -mu_c * x / r3, -mu_c * y / r3, -mu_c * z / r3
        j, rad = J2[self.center]
        jx, jy, jz = j2_accel(x, y, z, mu_c, j, rad, self.poles[self.center](et))
        ax, ay, az = ax + jx, ay + jy, az + jz
        if self.moon_axes is not None:
            cx, cy, cz = c22_accel(x, y, z, mu_c, C22_MOON, rad, self.moon_axes(et))
            ax, ay, az = ax + cx, ay + cy, az + cz
        for b in self.others:
            sx, sy, sz = self.tables[b](et)
            mu = self.mu[b]
            dx, dy, dz = x - sx, y - sy, z - sz
            d2 = dx * dx + dy * dy + dz * dz
            d3 = d2 * math.sqrt(d2)
            s2 = sx * sx + sy * sy + sz * sz
            s3 = s2 * math.sqrt(s2)
            ax += -mu * dx / d3 - mu * sx / s3
            ay += -mu * dy / d3 - mu * sy / s3
            az += -mu * dz / d3 - mu * sz / s3
            if b in J2:
                jb, radb = J2[b]
                jx, jy, jz = j2_accel(dx, dy, dz, mu, jb, radb, self.poles[b](et))
                ax, ay, az = ax + jx, ay + jy, az + jz
        return ax, ay, az


_POLES: dict[str, PoleTable] = {}
_MODELS: dict[str, ForceModel] = {}
_AXES: list[AxesTable] = []


def _axes_table() -> AxesTable:
    if not _AXES:
        _AXES.append(AxesTable())
    return _AXES[0]


def _pole_table(body: str) -> PoleTable:
    if body not in _POLES:
        _POLES[body] = PoleTable(body)
    return _POLES[body]


def model(center: str) -> ForceModel:
    """The shared force model for ``center`` (built once per process)."""
    if center not in _MODELS:
        _MODELS[center] = ForceModel(center)
    return _MODELS[center]
