"""An independent recomputation of link visibility, for the link tests (synthetic and mission kernels).

Written apart from ``viewer.links``: positions straight from ``spiceypy.spkpos`` in the Moon-fixed and Earth-fixed
frames; the site's east-north-up basis and the stations' geodetic positions computed here; ray–sphere tests by
the quadratic (``viewer.links`` uses the closest approach). Model choices it shares on purpose, because they are
the definition and not the computation: the 1737.4 km Moon sphere for orbiters, the sphere through the site
(1 m below it) for links with the lander or ascender, the terrain horizon within 100 m of the site, and each
station's mask. The Earth block uses the polar-radius sphere (a station above the mask clears the ellipsoid).
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM, MOON_RADIUS_KM

EDGE_S = 2.0


def enu_basis(site_xyz: np.ndarray) -> np.ndarray:
    """Columns east, north, up at a point, in the frame of ``site_xyz`` (spherical normal)."""
    x, y, z = site_xyz
    lon, lat = math.atan2(y, x), math.atan2(z, math.hypot(x, y))
    e = np.array([-math.sin(lon), math.cos(lon), 0.0])
    n = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
    u = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    return np.column_stack([e, n, u])


def ray_blocked(p, q, c, r):
    """Does the segment p→q pass inside the sphere (c, r)? Quadratic |p + t d − c|² = r², t in [0, 1]."""
    d = q - p
    f = p - c
    a = np.sum(d * d, axis=1)
    b = 2 * np.sum(f * d, axis=1)
    cc = np.sum(f * f, axis=1) - r * r
    disc = b * b - 4 * a * cc
    sq = np.sqrt(np.maximum(disc, 0))
    t1, t2 = (-b - sq) / (2 * a), (-b + sq) / (2 * a)
    return (disc > 0) & (t2 > 0) & (t1 < 1)


def geodetic_xyz(lat, lon, alt_km, a, c):
    e2 = 1 - (c / a) ** 2
    phi, lam = math.radians(lat), math.radians(lon)
    n = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return np.array(
        [
            (n + alt_km) * math.cos(phi) * math.cos(lam),
            (n + alt_km) * math.cos(phi) * math.sin(lam),
            (n * (1 - e2) + alt_km) * math.sin(phi),
        ]
    )


def oracle(model, link, ets, moon_frame):
    """Is ``link`` (an elementary link of ``model``) open at ``ets``? Plain numpy geometry."""
    b = model.bodies
    pos = lambda t, f, o: np.array(spiceypy.spkpos(t, ets, f, "NONE", o)[0]).reshape(len(ets), 3)
    r_moon = MOON_RADIUS_KM
    site = pos(b.site, moon_frame, "MOON")
    r_site_sphere = min(r_moon, np.linalg.norm(site[0])) - 0.001
    low = link.a in (b.lander, b.ascender)
    if link.kind == "station":
        a, c = EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM
        st = model.stations[link.station]
        s = geodetic_xyz(st.lat_deg, st.lon_east_deg, st.altitude_m / 1000, a, c)
        lat, lon = math.radians(st.lat_deg), math.radians(st.lon_east_deg)
        up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        v = pos(link.a, "ITRF93", "EARTH")
        moon = pos("MOON", "ITRF93", "EARTH")
        d = v - s
        el = np.degrees(np.arcsin(d @ up / np.linalg.norm(d, axis=1)))
        ss = np.tile(s, (len(ets), 1))
        return (
            (el > st.elevation_mask_deg)
            & ~ray_blocked(ss, v, np.zeros(3), c)
            & ~ray_blocked(ss, v, moon, r_site_sphere if low else r_moon)
        )
    v = pos(link.a, moon_frame, "MOON")
    zero = np.zeros(3)
    if link.kind == "surface":
        q = pos(link.b, moon_frame, "MOON")
        ok = ~ray_blocked(v, q, zero, r_site_sphere)
        at_site = np.linalg.norm(v - site, axis=1) < 0.1
        rel = (q - v) @ enu_basis(site[0])  # east, north, up components
        az = np.degrees(np.arctan2(rel[:, 0], rel[:, 1])) % 360
        el = np.degrees(np.arcsin(rel[:, 2] / np.linalg.norm(rel, axis=1)))
        return ok & (~at_site | (el > model.horizon.elevation_at(az)))
    if link.kind == "space":
        q = pos(link.b, moon_frame, "MOON")
        earth = pos("EARTH", moon_frame, "MOON")
        return ~ray_blocked(v, q, zero, r_moon) & ~ray_blocked(v, q, earth, EARTH_POLAR_RADIUS_KM)
    raise AssertionError(link.kind)


def near_edge(wins, ets, margin=EDGE_S):
    """True where an epoch lies within ``margin`` seconds of a window edge."""
    if not wins:
        return np.zeros(len(ets), bool)
    edges = np.array([t for w in wins for t in w])
    return np.min(np.abs(ets[:, None] - edges[None, :]), axis=1) < margin
