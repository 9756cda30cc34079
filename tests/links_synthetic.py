"""Synthetic kernels for the link tests: independent of the mission kernels (``kernels/change6_*``).

A landing site at the LROC coordinates with its own ENU frame, a relay in a 200 × 16,000 km, 62.4° orbit, an
orbiter in a 200 km retrograde orbit, a lander that lands on day 1 and an ascender that leaves on day 2, and two
"low satellites" that rise slowly due east (behind a ridge) and due west (open sky). States are analytic (two-body
conics and fixed points) written with ``spkw13``; only the generic NAIF kernels are loaded beside them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import spiceypy
from links_oracle import enu_basis

from viewer.constants import MOON_RADIUS_KM

SITE_LAT, SITE_LON, SITE_ELEV_KM = -41.6385, 206.0148, -5.256
T0_UTC, T1_UTC = "2024-06-01T00:00:00", "2024-06-04T00:00:00"
LANDING_H, LIFTOFF_H = 22.0, 47.5  # hours after T0
LOWSAT_START_H, LOWSAT_HOURS = 60.0, 1.0  # the low satellites rise over one hour from here
LOWSAT_EL0, LOWSAT_EL1, LOWSAT_RANGE_KM = -2.0, 10.0, 3000.0
RIDGE = {"az_min": 45.0, "az_max": 135.0, "d_min_km": 19.0, "d_max_km": 21.0, "height_m": 1000.0}

IDS = {
    "SYN_SITE": -3069100,
    "SYN_LANDER": -3069003,
    "SYN_ASCENDER": -3069004,
    "SYN_ORBITER": -3069001,
    "SYN_RELAY": -3069010,
    "SYN_LOWSAT_E": -3069020,
    "SYN_LOWSAT_W": -3069021,
}
TOPO_ID = -3069100


def ridge_height_m(lat, lon):
    """Flat ground at 0 m except a 1 km ridge 19–21 km from the site, between azimuths 45° and 135°."""
    lat, lon = np.broadcast_arrays(np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float)))
    p1, l1 = math.radians(SITE_LAT), math.radians(SITE_LON)
    dl = lon - l1
    cosd = np.clip(np.sin(p1) * np.sin(lat) + np.cos(p1) * np.cos(lat) * np.cos(dl), -1, 1)
    dist_km = np.arccos(cosd) * MOON_RADIUS_KM
    az = (
        np.degrees(
            np.arctan2(np.sin(dl) * np.cos(lat), np.cos(p1) * np.sin(lat) - np.sin(p1) * np.cos(lat) * np.cos(dl))
        )
        % 360
    )
    on = (
        (az >= RIDGE["az_min"])
        & (az <= RIDGE["az_max"])
        & (dist_km >= RIDGE["d_min_km"] - 1e-9)
        & (dist_km <= RIDGE["d_max_km"])
    )
    return np.where(on, RIDGE["height_m"], 0.0)


def _write(path: Path, segments) -> None:
    if path.exists():
        path.unlink()
    handle = spiceypy.spkopn(str(path), "SYNTHETIC", 0)
    try:
        for body, center, frame, ets, states, name in segments:
            spiceypy.spkw13(
                handle,
                body,
                center,
                frame,
                float(ets[0]),
                float(ets[-1]),
                name[:40],
                7,
                len(ets),
                np.ascontiguousarray(states, dtype=float),
                np.ascontiguousarray(ets, dtype=float),
            )
    finally:
        spiceypy.spkcls(handle)


def _conic(rp, ra, inc, node, argp, m0, t_epoch, ets, gm):
    e = (ra - rp) / (ra + rp)
    elts = [rp, e, math.radians(inc), math.radians(node), math.radians(argp), math.radians(m0), t_epoch, gm]
    return np.array([spiceypy.conics(elts, float(t)) for t in ets])


def build(tmp: Path, moon_frame: str) -> dict:
    """Write the FK and SPKs into ``tmp`` and load them (the generic kernels must already be loaded)."""
    tmp = Path(tmp)
    gm = float(spiceypy.bodvrd("MOON", "GM", 1)[1][0])
    t0, t1 = spiceypy.str2et(T0_UTC), spiceypy.str2et(T1_UTC)
    site = np.array(spiceypy.latrec(MOON_RADIUS_KM + SITE_ELEV_KM, math.radians(SITE_LON), math.radians(SITE_LAT)))
    m = enu_basis(site)
    names = " ".join(f"'{n}'" for n in IDS)
    codes = " ".join(str(c) for c in IDS.values())
    mat = "\n      ".join(" ".join(f"{m[i, j]:.17f}" for i in range(3)) for j in range(3))  # column by column
    fk = tmp / "synthetic.tf"
    fk.write_text(f"""KPL/FK
\\begindata
   NAIF_BODY_NAME += ( {names} )
   NAIF_BODY_CODE += ( {codes} )
   FRAME_SYN_TOPO = {TOPO_ID}
   FRAME_{TOPO_ID}_NAME = 'SYN_TOPO'
   FRAME_{TOPO_ID}_CLASS = 4
   FRAME_{TOPO_ID}_CLASS_ID = {TOPO_ID}
   FRAME_{TOPO_ID}_CENTER = {IDS["SYN_SITE"]}
   TKFRAME_{TOPO_ID}_RELATIVE = '{moon_frame}'
   TKFRAME_{TOPO_ID}_SPEC = 'MATRIX'
   TKFRAME_{TOPO_ID}_MATRIX = (
      {mat} )
\\begintext
""")
    spiceypy.furnsh(str(fk))
    segs = []
    fixed = lambda xyz, a, b: (np.linspace(a, b, 8), np.tile(np.concatenate([xyz, np.zeros(3)]), (8, 1)))
    e, s = fixed(site, t0 - 2 * 86400, t1 + 2 * 86400)
    segs.append((IDS["SYN_SITE"], 301, moon_frame, e, s, "site"))
    ets = np.arange(t0, t1 + 30, 30.0)
    relay = _conic(1937.4, 17737.4, 62.4, 200.0, 90.0, 20.0, t0, ets, gm)
    segs.append((IDS["SYN_RELAY"], 301, "J2000", ets, relay, "relay"))
    orbiter = _conic(1937.4, 1937.4, 137.0, 40.0, 0.0, 0.0, t0, ets, gm)
    segs.append((IDS["SYN_ORBITER"], 301, "J2000", ets, orbiter, "orbiter"))
    t_land, t_lift = t0 + LANDING_H * 3600, t0 + LIFTOFF_H * 3600
    pre = ets <= t_land
    landed = site * (1 + 0.002 / np.linalg.norm(site))  # lander antenna 2 m above the site point
    e2, s2 = fixed(landed, t_land, t1)
    for name in ("SYN_LANDER", "SYN_ASCENDER"):
        segs.append((IDS[name], 301, "J2000", ets[pre], orbiter[pre], f"{name} stack"))
    segs.append((IDS["SYN_LANDER"], 301, moon_frame, e2, s2, "lander down"))
    e3, s3 = fixed(landed, t_land, t_lift)
    segs.append((IDS["SYN_ASCENDER"], 301, moon_frame, e3, s3, "ascender down"))
    post = ets >= t_lift
    segs.append(
        (
            IDS["SYN_ASCENDER"],
            301,
            "J2000",
            ets[post],
            _conic(1837.4, 1837.4, 137.0, 60.0, 0.0, 90.0, t_lift, ets[post], gm),
            "ascender up",
        )
    )
    # low satellites: fixed azimuth, elevation rising linearly, at LOWSAT_RANGE_KM from the site (Moon-fixed)
    ta = t0 + LOWSAT_START_H * 3600
    lets = np.arange(ta, ta + LOWSAT_HOURS * 3600 + 1, 10.0)
    for name, az in (("SYN_LOWSAT_E", 90.0), ("SYN_LOWSAT_W", 270.0)):
        states = []
        for t in lets:
            el = math.radians(lowsat_elevation_deg(t, ta))
            rate = math.radians((LOWSAT_EL1 - LOWSAT_EL0) / (LOWSAT_HOURS * 3600))
            a = math.radians(az)
            enu = LOWSAT_RANGE_KM * np.array([math.cos(el) * math.sin(a), math.cos(el) * math.cos(a), math.sin(el)])
            denu = (
                LOWSAT_RANGE_KM
                * rate
                * np.array([-math.sin(el) * math.sin(a), -math.sin(el) * math.cos(a), math.cos(el)])
            )
            states.append(np.concatenate([site + m @ enu, m @ denu]))
        segs.append((IDS[name], 301, moon_frame, lets, np.array(states), name))
    spk = tmp / "synthetic.bsp"
    _write(spk, segs)
    spiceypy.furnsh(str(spk))
    return {
        "t0": t0,
        "t1": t1,
        "t_land": t_land,
        "t_lift": t_lift,
        "lowsat_t0": ta,
        "site": site,
        "enu": m,
        "files": [fk, spk],
    }


def lowsat_elevation_deg(et: float, ta: float) -> float:
    return LOWSAT_EL0 + (LOWSAT_EL1 - LOWSAT_EL0) * (et - ta) / (LOWSAT_HOURS * 3600)
