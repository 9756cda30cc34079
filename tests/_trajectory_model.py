"""Test-side gravity model, written independently of viewer.trajectory.forces (numpy, vectorised).

Point masses of Earth, Moon and Sun from DE440 (spkpos), GMs from the kernel pool, J2 of Earth (EGM2008) and
Moon (GRAIL), poles from the body-fixed frames at each epoch, and the Moon's C22 (GRAIL GL0660B, 2.2382e-5) in
MOON_ME for points near the Moon.
"""

from __future__ import annotations

import numpy as np
import spiceypy

J2_TEST = {
    "EARTH": (1.08263e-3, 6378.137, ("ITRF93", "IAU_EARTH")),
    "MOON": (2.033e-4, 1738.0, ("MOON_ME", "IAU_MOON")),
}
C22_MOON = 2.2382e-5


def _frame(names):
    for n in names:
        try:
            spiceypy.pxform(n, "J2000", 7.6e8)
            return n
        except spiceypy.utils.exceptions.SpiceyError:
            continue
    raise RuntimeError(f"no frame among {names}")


def gravity(center: str, ets: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Acceleration (km/s^2) of points ``pos`` (N,3; J2000, relative to ``center``) at ``ets``."""
    ets = np.asarray(ets, dtype=float)
    acc = np.zeros_like(pos)
    for body in ("EARTH", "MOON", "SUN"):
        mu = spiceypy.bodvrd(body, "GM", 1)[1][0]
        b = np.zeros_like(pos) if body == center else np.asarray(spiceypy.spkpos(body, ets, "J2000", "NONE", center)[0])
        d = pos - b
        dn = np.linalg.norm(d, axis=1)[:, None]
        acc += -mu * d / dn**3
        if body != center:
            bn = np.linalg.norm(b, axis=1)[:, None]
            acc += -mu * b / bn**3
        if body in J2_TEST:
            j2, rad, frames = J2_TEST[body]
            fr = _frame(frames)
            poles = np.array([spiceypy.pxform(fr, "J2000", float(t))[:, 2] for t in ets])
            z = np.einsum("ij,ij->i", d, poles)[:, None]
            r = dn
            acc += -1.5 * j2 * mu * rad**2 / r**5 * ((1 - 5 * z**2 / r**2) * d + 2 * z * poles)
        if body == "MOON":
            acc += _c22(ets, d, mu, rad, _frame(frames))
    return acc


def _c22(ets, d, mu, rad, frame):
    """Gradient of U = 3 mu R^2 C22 (x^2 - y^2) / r^5 in the Moon's body frame, rotated back to J2000."""
    rots = np.array([spiceypy.pxform("J2000", frame, float(t)) for t in ets])
    b = np.einsum("nij,nj->ni", rots, d)
    r2 = np.einsum("ni,ni->n", b, b)[:, None]
    k = 3 * mu * rad**2 * C22_MOON / r2**2.5
    q = 5 * (b[:, :1] ** 2 - b[:, 1:2] ** 2) / r2
    g = k * (np.stack([2 * b[:, 0], -2 * b[:, 1], np.zeros(len(b))], axis=1) - q * b)
    return np.einsum("nji,nj->ni", rots, g)
