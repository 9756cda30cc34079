"""Relay line of sight: which radio links are open, when, from the SPICE states.

From the far side Earth never rises, so every command and every image of Chang'e-6 went through Queqiao-2. This
module answers, as functions of time (the shape of Skyfield's almanac functions, ``style.md`` §1.9 and §7.6):

* **surface links** ``lander-queqiao2`` and ``ascender-queqiao2``: open when Queqiao-2 is above the terrain horizon
  at the site (a :class:`~viewer.horizon.HorizonProfile` from the DEM in use, looked up at Queqiao-2's azimuth in
  CHANGE6_TOPO) and the Moon does not block the ray. The horizon applies while the vehicle is within
  ``at_site_km`` of CHANGE6_SITE; in flight only the Moon sphere counts. For these links the Moon is the sphere
  through the landing site (radius |CHANGE6_SITE| − 1 m, about 1732.1 km: the site lies 5.3 km below the 1737.4 km
  reference sphere, which would otherwise swallow it);
* **station links** ``<vehicle>-<station>`` for Queqiao-2, the orbiter and the ascender: open when the vehicle is
  above the station's elevation mask (default 5°, along the geodetic normal of the station on the Earth ellipsoid in
  ITRF93) and neither the Earth ellipsoid nor the Moon sphere (1737.4 km) blocks the ray;
* **space link** ``orbiter-queqiao2``: neither the Moon nor the Earth blocks the ray;
* ``site-earth``: the Earth's centre above the terrain horizon at the site (never, on the far side; see
  :func:`earth_elevation_at_site`);
* **composite links**: ``<vehicle>-ground`` (any station) and ``relay-<vehicle>`` (vehicle → Queqiao-2 → any
  station, the end-to-end relay).

Positions are geometric (``abcorr='NONE'``); light time (≈1.3 s Earth–Moon) would move window edges by about that.

Windows are found by sampling each link on a grid (``step_s``, default 60 s), sampling every 2 s around grid points
where a continuous margin (elevation above the mask or horizon, angle of the ray from a blocking limb) has a local
extremum close to zero, so that windows and gaps shorter than a step are not missed, and bisecting each change of
state down to ``tolerance_s`` (0.01 s). All positions are read Moon-centred in J2000, one SPICE query per body over
the grid, with the Earth-fixed and topocentric rotations read once per epoch. The windows are cached on disk in
``viewer.paths.cache_dir()/links``, keyed by the loaded kernel files (path, size, mtime), the horizon profile, the
stations and the parameters; the file is written atomically.

The data API for the scene and the UI: :func:`link_states`, :func:`windows`, :func:`earth_elevation_at_site`,
:func:`timeline_strip`, :func:`links` (endpoint names), :func:`endpoint_positions`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import spiceypy

from viewer import ephemeris, paths
from viewer.constants import CHANGE6_TOPO, EARTH_FIXED
from viewer.epochs import coverage_error
from viewer.errors import DataError, InputError, KernelError
from viewer.horizon import HorizonProfile

MODEL_VERSION = "links-2"  # bump when the visibility model changes: it is part of the cache key
DEFAULT_MASK_DEG = 5.0
DEFAULT_STEP_S = 60.0
DEFAULT_TOLERANCE_S = 0.01
DENSE_S = 2.0  # sample spacing around near-zero extrema of a link's margin (brief windows and gaps)
DEFAULT_AT_SITE_KM = 0.1
SITE_SPHERE_MARGIN_KM = 0.001

Window = tuple[float, float]


# ------------------------------------------------------------------------------------------------ geometry
def spkpos(target: str, ets: np.ndarray, frame: str, observer: str) -> np.ndarray:
    """(N, 3) geometric positions, km, through :mod:`viewer.ephemeris` (the one way to SPICE states)."""
    return ephemeris.positions(target, ets, observer=observer, frame=frame, check=False)


def rotations(from_frame: str, to_frame: str, ets: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotation matrices ``from_frame`` → ``to_frame``."""
    return ephemeris.rotation(from_frame, to_frame, ets)


def limb_margin_deg(p: np.ndarray, q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Angle (deg) between the ray p→q and the limb of the sphere seen from p: > 0 clear of the disc, < 0 on it."""
    pc = centre - p
    dist = np.linalg.norm(pc, axis=-1)
    pq = q - p
    cos_t = np.einsum("...i,...i->...", pq, pc) / (np.linalg.norm(pq, axis=-1) * dist)
    alpha = np.arcsin(np.clip(radius / dist, -1.0, 1.0))
    return np.degrees(np.arccos(np.clip(cos_t, -1.0, 1.0)) - alpha)


def segment_clear_of_sphere(p: np.ndarray, q: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """True where the segment p→q stays at least ``radius`` from ``centre`` (all (N, 3) or broadcastable)."""
    p = np.asarray(p, dtype=float) - centre
    d = np.asarray(q, dtype=float) - centre - p
    dd = np.einsum("...i,...i->...", d, d)
    t = np.clip(-np.einsum("...i,...i->...", p, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    closest = p + t[..., None] * d
    return np.einsum("...i,...i->...", closest, closest) >= radius * radius


def azimuth_elevation_deg(enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth (clockwise from north) and elevation of (N, 3) east-north-up vectors, degrees."""
    enu = np.asarray(enu, dtype=float)
    az = np.degrees(np.arctan2(enu[..., 0], enu[..., 1])) % 360.0
    el = np.degrees(np.arcsin(np.clip(enu[..., 2] / np.linalg.norm(enu, axis=-1), -1.0, 1.0)))
    return az, el


# ------------------------------------------------------------------------------------------------ windows
def windows_from_states(ets: np.ndarray, states: np.ndarray) -> list[Window]:
    """Windows (first, last epoch of each run of True) of a sampled boolean series (no refinement)."""
    ets = np.asarray(ets, dtype=float)
    s = np.asarray(states, dtype=bool)
    if len(s) == 0:
        return []
    edges = np.flatnonzero(np.diff(s.astype(np.int8)))
    starts = [0] + list(edges + 1)
    out = []
    for i, k in enumerate(starts):
        if s[k]:
            end = edges[i] if i < len(edges) else len(s) - 1
            out.append((float(ets[k]), float(ets[end])))
    return out


def intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    """Intersection of two sorted, disjoint window lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def union(lists: Iterable[Sequence[Window]]) -> list[Window]:
    """Union of window lists (touching windows merge)."""
    items = sorted(w for lst in lists for w in lst)
    out: list[list[float]] = []
    for lo, hi in items:
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def complement(wins: Sequence[Window], t0: float, t1: float) -> list[Window]:
    """The parts of [t0, t1] outside the (sorted, disjoint) windows."""
    out, cur = [], t0
    for lo, hi in wins:
        if hi <= cur:
            continue
        if lo >= t1:
            break
        if lo > cur:
            out.append((cur, lo))
        cur = max(cur, hi)
    if cur < t1:
        out.append((cur, t1))
    return out


def states_from_windows(wins: Sequence[Window], ets) -> np.ndarray:
    """Boolean array: is each epoch inside one of the (sorted, disjoint) windows? Vectorised (searchsorted)."""
    ets = np.asarray(ets, dtype=float)
    if len(wins) == 0:
        return np.zeros(ets.shape, dtype=bool)
    w = np.asarray(wins, dtype=float)
    k = np.searchsorted(w[:, 0], ets, side="right") - 1
    kk = np.clip(k, 0, len(w) - 1)
    return (k >= 0) & (ets <= w[kk, 1])


def covered_fraction(wins: Sequence[Window], t0: float, t1: float) -> float:
    """Fraction of [t0, t1] inside the windows (1.0 for an instant inside a window)."""
    if t1 <= t0:
        return 1.0 if bool(states_from_windows(wins, [t0])[0]) else 0.0
    total = sum(max(0.0, min(hi, t1) - max(lo, t0)) for lo, hi in wins)
    return total / (t1 - t0)


# ------------------------------------------------------------------------------------------------ model data
@dataclass(frozen=True)
class Station:
    """A ground station on the Earth ellipsoid (ITRF93); grade as in ``assets/mission.yaml``."""

    id: str
    name: str
    lat_deg: float
    lon_east_deg: float
    altitude_m: float
    elevation_mask_deg: float = DEFAULT_MASK_DEG
    grade: str = "assumed"
    name_zh: str = ""

    def position_km(self, equatorial_radius_km: float, polar_radius_km: float) -> np.ndarray:
        flattening = (equatorial_radius_km - polar_radius_km) / equatorial_radius_km
        return np.asarray(
            spiceypy.georec(
                math.radians(self.lon_east_deg),
                math.radians(self.lat_deg),
                self.altitude_m / 1000.0,
                equatorial_radius_km,
                flattening,
            )
        )

    def up(self) -> np.ndarray:
        """Unit geodetic normal (the local vertical) in the Earth-fixed frame."""
        lat, lon = math.radians(self.lat_deg), math.radians(self.lon_east_deg)
        return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])


@dataclass(frozen=True)
class Link:
    """One link: its endpoints (NAIF names, or ``STATION:<id>`` / ``EARTH``), kind and, if composite, parts."""

    id: str
    a: str
    b: str
    kind: str  # surface | station | space | site_earth | any | all
    label: dict = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    moon_radius_km: float = 0.0
    station: str | None = None

    @property
    def composite(self) -> bool:
        return self.kind in ("any", "all")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "a": self.a,
            "b": self.b,
            "kind": self.kind,
            "label": dict(self.label),
            "parts": list(self.parts),
            "moon_radius_km": self.moon_radius_km,
            "station": self.station,
        }


@dataclass(frozen=True)
class Bodies:
    """The NAIF names and frames the model reads (the project's by default; tests substitute their own)."""

    site: str = "CHANGE6_SITE"
    topo_frame: str = CHANGE6_TOPO
    lander: str = "CHANGE6_LANDER"
    ascender: str = "CHANGE6_ASCENDER"
    orbiter: str = "CHANGE6_ORBITER"
    relay: str = "QUEQIAO_2"
    earth_frame: str = EARTH_FIXED
    moon: str = "MOON"
    earth: str = "EARTH"


_SHORT = {"lander": "Lander", "ascender": "Ascender", "orbiter": "Orbiter", "relay": "Queqiao-2"}
_SHORT_ZH = {"lander": "着陆器", "ascender": "上升器", "orbiter": "轨道器", "relay": "鹊桥二号"}
_ROLE_ID = {"lander": "lander", "ascender": "ascender", "orbiter": "orbiter", "relay": "queqiao2"}


def body_coverage(name: str) -> list[Window]:
    """Union of the loaded SPK coverage of a body (its intervals, sorted). [] when no loaded SPK covers it."""
    try:
        code = spiceypy.bods2c(name)
    except spiceypy.utils.exceptions.SpiceyError:  # the name is unknown: no names kernel defines it
        return []
    wins: list[Window] = []
    for i in range(spiceypy.ktotal("SPK")):
        file = spiceypy.kdata(i, "SPK")[0]
        if code not in set(spiceypy.spkobj(file)):
            continue
        cov = spiceypy.spkcov(file, code)
        wins += [tuple(spiceypy.wnfetd(cov, j)) for j in range(spiceypy.wncard(cov))]
    return union([wins])


def loaded_kernel_signature() -> list[list]:
    """(path, size, mtime_ns) of every loaded kernel: what the window cache depends on."""
    out = []
    for i in range(spiceypy.ktotal("ALL")):
        path = Path(spiceypy.kdata(i, "ALL")[0])
        try:
            st = path.stat()
            out.append([str(path), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(path), -1, -1])
    return out


# ------------------------------------------------------------------------------------------------ the model
class RelayModel:
    """Visibility and windows of every link, computed from the loaded kernels.

    ``stations``: the ground stations; ``horizon``: the terrain horizon at the site; ``bodies``: names and frames;
    ``mask_deg`` overrides every station's own mask when given. The kernels must be loaded before use
    (``ensure_kernels`` is called first; the default model passes :func:`viewer.kernels.furnish`).
    """

    def __init__(
        self,
        stations: Sequence[Station],
        horizon: HorizonProfile,
        *,
        bodies: Bodies = Bodies(),
        mask_deg: float | None = None,
        step_s: float = DEFAULT_STEP_S,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        at_site_km: float = DEFAULT_AT_SITE_KM,
        ensure_kernels: Callable[[], object] | None = None,
        cache: bool = True,
        names: dict | None = None,
    ):
        if step_s <= 0 or tolerance_s <= 0:
            raise InputError("step_s and tolerance_s must be positive")
        if mask_deg is not None and not -10.0 <= float(mask_deg) <= 90.0:
            raise InputError(f"elevation mask {mask_deg}° is out of range; give a value from 0 to 90 degrees")
        if ensure_kernels is not None:
            ensure_kernels()
        self.bodies = bodies
        self.stations = {
            s.id: s if mask_deg is None else Station(**{**s.__dict__, "elevation_mask_deg": float(mask_deg)})
            for s in stations
        }
        self.horizon = horizon
        self.mask_deg = mask_deg
        self.step_s = float(step_s)
        self.tolerance_s = float(tolerance_s)
        self.at_site_km = float(at_site_km)
        self.cache_enabled = cache
        self.names = names or {}
        b = bodies
        self.moon_radius_km = float(spiceypy.bodvrd(b.moon, "RADII", 3)[1][0])
        radii = spiceypy.bodvrd(b.earth, "RADII", 3)[1]
        self.earth_radii_km = np.asarray(radii, dtype=float)
        self.site_topo = spkpos(b.site, self._site_epoch(), b.topo_frame, b.moon)[0]
        self.site_radius_km = float(np.linalg.norm(self.site_topo))
        self.site_sphere_km = min(self.moon_radius_km, self.site_radius_km) - SITE_SPHERE_MARGIN_KM
        self._station_xyz = {sid: s.position_km(radii[0], radii[2]) for sid, s in self.stations.items()}
        self._station_up = {sid: s.up() for sid, s in self.stations.items()}
        self.links = self._define_links()
        self._coverage: dict[str, list[Window]] = {}
        for lid, link in self.links.items():  # parts are defined before the composites that use them
            self._coverage[lid] = self._link_coverage(link)
        self._windows: dict[str, list[Window]] | None = None
        self._window_arrays: dict[str, np.ndarray] | None = None
        self.search_seconds: float | None = None
        self.densified = 0
        self.cache_path: Path | None = None

    # ----------------------------------------------------------------------------------- definitions
    def _site_epoch(self) -> np.ndarray:
        cov = body_coverage(self.bodies.site)
        if not cov:
            raise KernelError(f"no loaded SPK covers {self.bodies.site}; rebuild with `python -m viewer kernels build`")
        return np.array([cov[0][0]])

    def _name(self, role: str, lang: str = "en") -> str:
        return (self.names.get(role, {}) or {}).get(lang) or (_SHORT if lang == "en" else _SHORT_ZH)[role]

    def _station_name(self, sid: str, lang: str = "en") -> str:
        st = self.stations[sid]
        return st.name_zh if lang == "zh" and st.name_zh else st.name.split(" (")[0].split(" deep")[0]

    def _define_links(self) -> dict[str, Link]:
        b = self.bodies
        v = {"lander": b.lander, "ascender": b.ascender, "orbiter": b.orbiter, "relay": b.relay}
        links: dict[str, Link] = {}

        def add(link: Link) -> None:
            links[link.id] = link

        def pair(r1: str, r2: str) -> dict:
            return {
                "en": f"{self._name(r1)} ↔ {self._name(r2)}",
                "zh": f"{self._name(r1, 'zh')} ↔ {self._name(r2, 'zh')}",
            }

        for role in ("lander", "ascender"):
            add(
                Link(
                    f"{_ROLE_ID[role]}-queqiao2",
                    v[role],
                    b.relay,
                    "surface",
                    pair(role, "relay"),
                    moon_radius_km=self.site_sphere_km,
                )
            )
        for role in ("relay", "orbiter", "ascender"):
            radius = self.site_sphere_km if role == "ascender" else self.moon_radius_km
            ids = []
            for sid in self.stations:
                lid = f"{_ROLE_ID[role]}-{sid}"
                ids.append(lid)
                add(
                    Link(
                        lid,
                        v[role],
                        f"STATION:{sid}",
                        "station",
                        {
                            "en": f"{self._name(role)} ↔ {self._station_name(sid)}",
                            "zh": f"{self._name(role, 'zh')} ↔ {self._station_name(sid, 'zh')}",
                        },
                        moon_radius_km=radius,
                        station=sid,
                    )
                )
            add(
                Link(
                    f"{_ROLE_ID[role]}-ground",
                    v[role],
                    "EARTH",
                    "any",
                    {"en": f"{self._name(role)} ↔ any ground station", "zh": f"{self._name(role, 'zh')} ↔ 任一地面站"},
                    parts=tuple(ids),
                )
            )
        add(
            Link(
                "orbiter-queqiao2",
                b.orbiter,
                b.relay,
                "space",
                pair("orbiter", "relay"),
                moon_radius_km=self.moon_radius_km,
            )
        )
        add(
            Link(
                "site-earth",
                b.site,
                b.earth,
                "site_earth",
                {"en": "Landing site ↔ Earth (direct)", "zh": "着陆点 ↔ 地球（直接）"},
                moon_radius_km=self.site_sphere_km,
            )
        )
        for role in ("lander", "ascender", "orbiter"):
            add(
                Link(
                    f"relay-{_ROLE_ID[role]}",
                    v[role],
                    "EARTH",
                    "all",
                    {
                        "en": f"{self._name(role)} → Queqiao-2 → ground (end to end)",
                        "zh": f"{self._name(role, 'zh')} → 鹊桥二号 → 地面站（端到端）",
                    },
                    parts=(f"{_ROLE_ID[role]}-queqiao2", "queqiao2-ground"),
                )
            )
        return links

    def _link_coverage(self, link: Link) -> list[Window]:
        if link.composite:
            parts = [self._coverage[p] for p in link.parts]
            if link.kind == "any":
                return union(parts)
            out = parts[0]
            for p in parts[1:]:
                out = intersect(out, p)
            return out
        if link.kind == "site_earth":
            return intersect(body_coverage(self.bodies.site), body_coverage(self.bodies.lander))
        cov = body_coverage(link.a)
        if not link.b.startswith("STATION:"):
            cov = intersect(cov, body_coverage(link.b))
        return cov

    def coverage(self, link_id: str) -> list[Window]:
        """The intervals over which a link is defined (its endpoints' SPK coverage)."""
        return list(self._coverage[self._check_id(link_id)])

    def _check_id(self, link_id: str) -> str:
        if link_id not in self.links:
            raise InputError(f"unknown link {link_id!r}; choose one of: {', '.join(self.links)}")
        return link_id

    # ----------------------------------------------------------------------------------- visibility
    def _keys(self, link: Link) -> list[tuple[str, str]]:
        """What a link reads: ("POS", body) = J2000 position from the Moon; ("ROT", frame) = frame → J2000."""
        b = self.bodies
        if link.kind == "station":
            return [("POS", link.a), ("POS", b.earth), ("ROT", b.earth_frame)]
        if link.kind == "surface":
            return [("POS", link.a), ("POS", link.b), ("ROT", b.topo_frame)]
        if link.kind == "space":
            return [("POS", link.a), ("POS", link.b), ("POS", b.earth)]
        if link.kind == "site_earth":
            return [("POS", b.earth), ("ROT", b.topo_frame)]
        raise ValueError(link.kind)

    def _fetch(self, key: tuple[str, str], ets: np.ndarray) -> np.ndarray:
        kind, name = key
        if kind == "POS":
            return spkpos(name, ets, "J2000", self.bodies.moon)
        return rotations(name, "J2000", ets)

    def _evaluate(self, link: Link, pos: dict, margin: bool = False):
        """Elementary link state from ``pos[key]`` (all at the same epochs), Moon-centred J2000.

        With ``margin=True`` also returns a continuous margin (deg, positive where each constraint holds): the
        smallest of elevation − mask, elevation − terrain horizon and the angle between the ray and each blocking
        sphere's limb. It only guides the search towards brief windows or gaps between grid points.
        """
        b = self.bodies
        zero = np.zeros(3)
        v = pos[("POS", link.a)] if link.kind != "site_earth" else None
        if link.kind == "station":
            e, rot = pos[("POS", b.earth)], pos[("ROT", b.earth_frame)]
            s_fixed = self._station_xyz[link.station]
            s = e + rot @ s_fixed
            up = rot @ self._station_up[link.station]
            d = v - s
            el = np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", d, up) / np.linalg.norm(d, axis=1), -1.0, 1.0)))
            el_margin = el - self.stations[link.station].elevation_mask_deg
            ok = el_margin > 0
            v_fixed = np.einsum("nji,nj->ni", rot, v - e)  # Earth-fixed, for the ellipsoid
            scale = 1.0 / self.earth_radii_km
            ok &= segment_clear_of_sphere(s_fixed * scale, v_fixed * scale, zero, 1.0 - 1e-9)
            ok &= segment_clear_of_sphere(s, v, zero, link.moon_radius_km)
            if margin:
                return ok, np.minimum(el_margin, limb_margin_deg(s, v, zero, link.moon_radius_km))
            return ok
        if link.kind == "surface":
            q, rot = pos[("POS", link.b)], pos[("ROT", b.topo_frame)]
            ok = segment_clear_of_sphere(v, q, zero, link.moon_radius_km)
            m = limb_margin_deg(v, q, zero, link.moon_radius_km) if margin else None
            site = rot @ self.site_topo
            at_site = np.linalg.norm(v - site, axis=1) < self.at_site_km
            if at_site.any():
                enu = np.einsum("nji,nj->ni", rot[at_site], q[at_site] - v[at_site])
                az, el = azimuth_elevation_deg(enu)
                above = el - self.horizon.elevation_at(az)
                ok[at_site] &= above > 0
                if margin:
                    m[at_site] = np.minimum(m[at_site], above)
            return (ok, m) if margin else ok
        if link.kind == "space":
            q, e = pos[("POS", link.b)], pos[("POS", b.earth)]
            r_earth = float(self.earth_radii_km[2])
            ok = segment_clear_of_sphere(v, q, zero, link.moon_radius_km)
            ok &= segment_clear_of_sphere(v, q, e, r_earth)
            if margin:
                return ok, np.minimum(
                    limb_margin_deg(v, q, zero, link.moon_radius_km), limb_margin_deg(v, q, e, r_earth)
                )
            return ok
        if link.kind == "site_earth":
            e, rot = pos[("POS", b.earth)], pos[("ROT", b.topo_frame)]
            az, el = azimuth_elevation_deg(np.einsum("nji,nj->ni", rot, e) - self.site_topo)
            above = np.minimum(el - self.horizon.elevation_at(az), el)
            return (above > 0, above) if margin else above > 0
        raise ValueError(link.kind)

    def _evaluate_at(self, link: Link, ets: np.ndarray) -> np.ndarray:
        pos = {key: self._fetch(key, ets) for key in self._keys(link)}
        return self._evaluate(link, pos)

    def visibility(self, link_id: str, ets) -> np.ndarray:
        """Link state computed from the geometry at ``ets`` (False outside the link's coverage)."""
        link = self.links[self._check_id(link_id)]
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        if link.composite:
            parts = [self.visibility(p, ets) for p in link.parts]
            return np.logical_or.reduce(parts) if link.kind == "any" else np.logical_and.reduce(parts)
        inside = states_from_windows(self._coverage[link.id], ets)
        out = np.zeros(ets.shape, dtype=bool)
        if inside.any():
            out[inside] = self._evaluate_at(link, ets[inside])
        return out

    def earth_elevation_at_site(self, ets) -> np.ndarray:
        """Elevation (deg) of the Earth's centre above the local horizontal plane at the landing site."""
        b = self.bodies
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        cov = body_coverage(b.site)
        bad = ~states_from_windows(cov, ets)
        if bad.any():
            raise coverage_error(b.site, float(ets[bad][0]), cov[0][0], cov[-1][1])
        rel = spkpos(b.earth, ets, b.topo_frame, b.site)
        return azimuth_elevation_deg(rel)[1]

    # ----------------------------------------------------------------------------------- window search
    def _grid_range(self, wins: Sequence[Window]) -> tuple[int, int] | None:
        if not wins:
            return None
        return math.ceil(wins[0][0] / self.step_s), math.floor(wins[-1][1] / self.step_s)

    def search(self) -> dict[str, list[Window]]:
        """Find every link's windows from the geometry (no cache)."""
        import time

        t0 = time.perf_counter()
        self.densified = 0
        elementary = [l for l in self.links.values() if not l.composite]
        # one grid query per (target, frame, observer) over the union of the links that need it
        need: dict[tuple, list[int]] = {}
        for link in elementary:
            rng = self._grid_range(self._coverage[link.id])
            if rng is None:
                continue
            for key in self._keys(link):
                lo, hi = need.get(key, [rng[0], rng[1]])
                need[key] = [min(lo, rng[0]), max(hi, rng[1])]
        grid = {key: (k0, self._fetch(key, np.arange(k0, k1 + 1) * self.step_s)) for key, (k0, k1) in need.items()}
        found: dict[str, list[Window]] = {}
        for link in elementary:
            wins: list[Window] = []
            for c0, c1 in self._coverage[link.id]:
                wins += self._search_interval(link, c0, c1, grid)
            found[link.id] = wins
        for link in self.links.values():
            if link.composite:
                found[link.id] = self._combine(link, found)
        self.search_seconds = time.perf_counter() - t0
        return found

    def _combine(self, link: Link, found: dict) -> list[Window]:
        parts = [found[p] if p in found else self._combine(self.links[p], found) for p in link.parts]
        if link.kind == "any":
            return union(parts)
        out = parts[0]
        for p in parts[1:]:
            out = intersect(out, p)
        return [w for w in out if w[1] > w[0]]

    def _search_interval(self, link: Link, c0: float, c1: float, grid: dict) -> list[Window]:
        k0, k1 = math.ceil(c0 / self.step_s), math.floor(c1 / self.step_s)
        inner = np.arange(k0, k1 + 1) * self.step_s
        pos = {}
        ends = np.array([c0, c1])
        for key in self._keys(link):
            g0, arr = grid[key]
            body = arr[k0 - g0 : k1 - g0 + 1] if k1 >= k0 else np.zeros((0,) + arr.shape[1:])
            edge = self._fetch(key, ends)
            pos[key] = np.concatenate([edge[:1], body, edge[1:]])
        ets = np.concatenate([[c0], inner, [c1]])
        keep = np.concatenate([[True], np.diff(ets) > 0])  # grid points that coincide with the coverage edges
        ets = ets[keep]
        pos = {key: p[keep] for key, p in pos.items()}
        states, margin = self._evaluate(link, pos, margin=True)
        ets, states = self._densify(link, ets, states, margin)
        change = np.flatnonzero(states[1:] != states[:-1])
        lo, hi = ets[change].copy(), ets[change + 1].copy()
        s_lo = states[change]
        while len(lo) and np.max(hi - lo) > self.tolerance_s:
            mid = 0.5 * (lo + hi)
            s_mid = self._evaluate_at(link, mid)
            same = s_mid == s_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        edges = 0.5 * (lo + hi)
        out: list[Window] = []
        start = c0 if states[0] else None
        for t, was_open in zip(edges, s_lo):
            if was_open:
                out.append((start, float(t)))
                start = None
            else:
                start = float(t)
        if start is not None:
            out.append((start, c1))
        return out

    def _densify(self, link: Link, ets: np.ndarray, states: np.ndarray, margin: np.ndarray):
        """Sample every ``DENSE_S`` around grid points where the margin has a local extremum close enough to zero
        (within twice its change over one step) that a brief window or gap may hide between the grid points."""
        if len(ets) < 3:
            return ets, states
        left, mid, right = margin[:-2], margin[1:-1], margin[2:]
        reach = 2.0 * np.maximum(np.abs(mid - left), np.abs(right - mid))
        dip = (mid < left) & (mid < right) & (mid > 0) & (mid < reach)
        bump = (mid > left) & (mid > right) & (mid <= 0) & (-mid < reach)
        steady = (states[:-2] == states[1:-1]) & (states[1:-1] == states[2:])
        k = np.flatnonzero((dip | bump) & steady) + 1
        self.densified += len(k)
        if not len(k):
            return ets, states
        n = max(2, int(np.ceil(2.0 * self.step_s / DENSE_S)))
        frac = np.arange(1, n) / n
        extra = (ets[k - 1][:, None] + (ets[k + 1] - ets[k - 1])[:, None] * frac[None, :]).ravel()
        extra = extra[~np.isin(extra, ets)]
        every = np.concatenate([ets, extra])
        order = np.argsort(every, kind="stable")
        return every[order], np.concatenate([states, self._evaluate_at(link, extra)])[order]

    # ----------------------------------------------------------------------------------- cache
    def cache_key(self) -> str:
        inputs = {
            "model": MODEL_VERSION,
            "kernels": loaded_kernel_signature(),
            "stations": {
                sid: [s.lat_deg, s.lon_east_deg, s.altitude_m, s.elevation_mask_deg] for sid, s in self.stations.items()
            },
            "horizon": self.horizon.digest(),
            "bodies": self.bodies.__dict__,
            "step_s": self.step_s,
            "tolerance_s": self.tolerance_s,
            "at_site_km": self.at_site_km,
            "links": [l.to_dict() for l in self.links.values()],
        }
        return hashlib.sha1(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:20]

    def all_windows(self) -> dict[str, list[Window]]:
        """Every link's windows: from the disk cache when its key matches, else searched and cached."""
        if self._windows is not None:
            return self._windows
        path = paths.cache_dir() / "links" / f"windows-{self.cache_key()}.json" if self.cache_enabled else None
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
                self._windows = {lid: [tuple(w) for w in wins] for lid, wins in data["windows"].items()}
                self.cache_path = path
                if set(self._windows) == set(self.links):
                    return self._windows
            except (OSError, ValueError, KeyError, TypeError):
                pass  # a damaged cache file is recomputed and replaced
        self._windows = self.search()
        if path is not None:
            payload = {
                "model": MODEL_VERSION,
                "search_seconds": self.search_seconds,
                "windows": {lid: [list(w) for w in wins] for lid, wins in self._windows.items()},
            }
            paths.atomic_write_text(path, json.dumps(payload))
            self.cache_path = path
        return self._windows

    # ----------------------------------------------------------------------------------- public views
    def windows(self, link_id: str) -> list[Window]:
        """The link's open windows [(et0, et1), …], sorted."""
        return list(self.all_windows()[self._check_id(link_id)])

    def link_states(self, ets, link_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """{link id: bool array} at ``ets`` from the windows (vectorised, microseconds per thousand epochs)."""
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        if self._window_arrays is None:
            self._window_arrays = {
                lid: np.asarray(w, dtype=float).reshape(-1, 2) for lid, w in self.all_windows().items()
            }
            self._window_starts = {lid: w[:, 0].tolist() for lid, w in self._window_arrays.items()}
        ids = list(self.links) if link_ids is None else [self._check_id(i) for i in link_ids]
        if ets.shape == (1,):  # one epoch (the scene's update): bisect the window starts, no array work per link
            et = float(ets[0])
            out = {}
            for lid in ids:
                w = self._window_arrays[lid]
                k = bisect.bisect_right(self._window_starts[lid], et) - 1
                out[lid] = np.array([k >= 0 and et <= w[k, 1]])
            return out
        return {lid: states_from_windows(self._window_arrays[lid], ets) for lid in ids}

    def endpoint_positions(self, link_id: str, ets, observer: str = "MOON", frame: str = "J2000"):
        """Positions (N, 3) km of the link's two endpoints relative to ``observer`` in ``frame``."""
        link = self.links[self._check_id(link_id)]
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        return self.endpoint(link.a, ets, observer, frame), self.endpoint(link.b, ets, observer, frame)

    def endpoint(self, name: str, ets: np.ndarray, observer: str = "MOON", frame: str = "J2000") -> np.ndarray:
        """Positions (N, 3) km of one endpoint (a body, a spacecraft or ``STATION:id``) relative to ``observer``."""
        if not name.startswith("STATION:"):
            return spkpos(name, ets, frame, observer)
        xyz = self._station_xyz[name.split(":", 1)[1]]
        earth = spkpos(self.bodies.earth, ets, frame, observer)
        return earth + rotations(self.bodies.earth_frame, frame, ets) @ xyz

    def direct_or_relay(self, role_id: str, t0: float, t1: float) -> dict:
        """Over [t0, t1]: when ``role_id`` (``orbiter``/``ascender``) is seen by a station directly, when only
        through Queqiao-2, and when by neither."""
        span = [(t0, t1)]
        direct = intersect(self.windows(f"{role_id}-ground"), span)
        relay = intersect(self.windows(f"relay-{role_id}"), span)
        relay_only = intersect(relay, complement(direct, t0, t1))
        neither = complement(union([direct, relay]), t0, t1)
        length = max(t1 - t0, 1e-9)
        frac = lambda ws: sum(b - a for a, b in ws) / length
        return {
            "vehicle": role_id,
            "start_et": t0,
            "end_et": t1,
            "direct_fraction": frac(direct),
            "relay_only_fraction": frac(relay_only),
            "none_fraction": frac(neither),
            "direct": direct,
            "relay_only": relay_only,
            "none": neither,
        }

    def phase_availability(self, phases: Sequence[dict]) -> list[dict]:
        """End-to-end relay availability for mission phases ``{id, start_et, end_et, link}``."""
        wins = self.all_windows()
        out = []
        for ph in phases:
            lw = wins[self._check_id(ph["link"])]
            t0, t1 = float(ph["start_et"]), float(ph["end_et"])
            inside = [w for w in lw if w[0] <= t0 and t1 <= w[1]]
            covered = any(a <= t0 and t1 <= b for a, b in self._coverage[ph["link"]])
            out.append(
                {
                    **ph,
                    "covered": covered,
                    "fraction": covered_fraction(lw, t0, t1),
                    "inside_one_window": bool(inside),
                    "window": list(inside[0]) if inside else None,
                    "windows": [list(w) for w in intersect(lw, [(t0, t1)])] if t1 > t0 else [],
                }
            )
        return out


# ------------------------------------------------------------------------------------------------ the project
def mission_stations(mission=None) -> list[Station]:
    """The stations of ``assets/mission.yaml`` (Kashi, Jiamusi, Neuquén) with their grades and masks."""
    from viewer.mission import load_mission

    mission = mission if mission is not None else load_mission()
    out = [
        Station(
            id=st.id,
            name=st.name.en,
            name_zh=st.name.zh,
            lat_deg=st.lat_deg,
            lon_east_deg=st.lon_east_deg,
            altitude_m=st.altitude_m,
            elevation_mask_deg=st.elevation_mask_deg,
            grade=st.grade,
        )
        for st in mission.stations
    ]
    if not out:
        raise DataError(f"{mission.path}: no `stations:`; list the ground stations there", path=mission.path)
    return out


def vehicle_names(mission=None) -> dict:
    """{role: {en, zh}} short names for the link labels, from the spacecraft of ``assets/mission.yaml``."""
    from viewer.mission import load_mission

    mission = mission if mission is not None else load_mission()
    by_naif = {sc.naif_name: sc.name for sc in mission.spacecraft}
    b = Bodies()
    out = {}
    for role, naif in (("lander", b.lander), ("ascender", b.ascender), ("orbiter", b.orbiter), ("relay", b.relay)):
        name = by_naif.get(naif)
        if name is not None:
            out[role] = {
                "en": name.en.split(" (")[0].replace(" relay satellite", ""),
                "zh": name.zh.replace("中继星", ""),
            }
    return out


def site_lat_lon(site: str = "CHANGE6_SITE") -> tuple[float, float]:
    """Planetocentric latitude and east longitude (deg) of the site in the Moon-fixed frame, from its SPK."""
    from viewer import kernels

    cov = body_coverage(site)
    if not cov:
        raise KernelError(f"no loaded SPK covers {site}; rebuild with `python -m viewer kernels build`")
    xyz = spkpos(site, np.array([cov[0][0]]), kernels.moon_frame(), "MOON")[0]
    _r, lon, lat = spiceypy.reclat(xyz)
    return math.degrees(lat), math.degrees(lon) % 360.0


def site_horizon(dem=None, *, lat_deg: float | None = None, lon_deg: float | None = None, **kwargs) -> HorizonProfile:
    """The terrain horizon at the landing site from the DEM in use (cached on disk by DEM identity and inputs)."""
    from viewer.horizon import compute_horizon

    if dem is None:
        dem = _dem_in_use()
    if lat_deg is None or lon_deg is None:
        lat_deg, lon_deg = site_lat_lon()
    ident = dem.identity() if hasattr(dem, "identity") else repr(dem)
    key = hashlib.sha1(
        json.dumps(
            [MODEL_VERSION, ident, round(lat_deg, 9), round(lon_deg, 9), sorted(kwargs.items())], default=str
        ).encode()
    ).hexdigest()[:20]
    path = paths.cache_dir() / "links" / f"horizon-{key}.json"
    if path.exists():
        try:
            return HorizonProfile.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    profile = compute_horizon(dem, lat_deg, lon_deg, **kwargs)
    paths.atomic_write_text(path, json.dumps(profile.to_dict()))
    return profile


def _dem_in_use():
    """The DEM the terrain layer uses (``viewer.terrain.select_dem()``)."""
    from viewer.terrain import select_dem

    return select_dem()


def default_model(mask_deg: float | None = None) -> RelayModel:
    """The project's model: mission kernels, stations from ``assets/mission.yaml``, horizon from the DEM in use.

    One model per mask and per state of the loaded kernels: after a rebuild (``kernels.reload()``) the next call
    builds a new model, whose windows come from the disk cache or a new search.
    """
    from viewer import kernels

    meta = kernels.furnish()
    return _model_for(None if mask_deg is None else float(mask_deg), (str(meta), _mission_files()))


_files_seen: list = [float("-inf"), -1, ()]  # [monotonic time of the last look, kernels.loads then, what it saw]


def _mission_files() -> tuple:
    """Names and mtimes of the mission kernels on disk: read again after a (re)load of the kernels, and otherwise
    at most once a second (the scene asks on every frame)."""
    from viewer import kernels

    now = time.monotonic()
    if now - _files_seen[0] > 1.0 or _files_seen[1] != kernels.loads:
        with os.scandir(paths.KERNELS_DIR) as it:
            _files_seen[2] = tuple(
                sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith((".bsp", ".tf")))
            )
        _files_seen[0], _files_seen[1] = now, kernels.loads
    return _files_seen[2]


@lru_cache(maxsize=4)
def _model_for(mask_deg: float | None, _kernels_state: tuple) -> RelayModel:
    from viewer import kernels
    from viewer.mission import load_mission

    mission = load_mission()
    return RelayModel(
        mission_stations(mission),
        site_horizon(),
        mask_deg=mask_deg,
        ensure_kernels=kernels.furnish,
        names=vehicle_names(mission),
    )


PHASE_LINKS = {"powered_descent": "relay-lander", "surface_operations": "relay-lander", "ascent": "relay-ascender"}


def mission_phases(mission=None) -> list[dict]:
    """Powered descent, surface operations and ascent from ``assets/mission.yaml``, each with its end-to-end link."""
    from viewer.mission import load_mission

    mission = mission if mission is not None else load_mission()
    out = []
    for pid, link_id in PHASE_LINKS.items():
        ph = mission.item(pid)
        out.append(
            {
                "id": pid,
                "title": ph.title.en,
                "start_et": ph.start_et,
                "end_et": ph.end_et,
                "start_utc": ph.start,
                "end_utc": ph.end,
                "link": link_id,
                "grade": ph.grade,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------ module API
def links() -> dict[str, Link]:
    """{link id: Link} with each link's endpoint names (``a``, ``b``), kind and label."""
    return dict(default_model().links)


def link_states(ets) -> dict[str, np.ndarray]:
    """{link id: bool array} at ``ets`` (ET)."""
    return default_model().link_states(ets)


def windows(link_id: str) -> list[Window]:
    """[(et0, et1), …] open windows of one link over its coverage."""
    return default_model().windows(link_id)


def earth_elevation_at_site(ets) -> np.ndarray:
    """Elevation of the Earth's centre at the landing site, deg (always negative: the far side)."""
    return default_model().earth_elevation_at_site(ets)


def endpoint_positions(link_id: str, ets, observer: str = "MOON", frame: str = "J2000"):
    """Positions of a link's two endpoints (stations included), km."""
    return default_model().endpoint_positions(link_id, ets, observer=observer, frame=frame)


def timeline_strip(model: RelayModel | None = None) -> dict:
    """JSON-serialisable windows per link in UTC and ET, for the UI's timeline strip."""
    from viewer.epochs import utc_from_et

    model = model or default_model()
    wins = model.all_windows()
    out_links = []
    for lid, link in model.links.items():
        cov = model.coverage(lid)
        out_links.append(
            {
                **link.to_dict(),
                "coverage": [{"et0": a, "et1": b, "utc0": utc_from_et(a), "utc1": utc_from_et(b)} for a, b in cov],
                "windows": [
                    {
                        "et0": a,
                        "et1": b,
                        "utc0": utc_from_et(a, 1),
                        "utc1": utc_from_et(b, 1),
                        "duration_s": round(b - a, 2),
                    }
                    for a, b in wins[lid]
                ],
            }
        )
    h = model.horizon
    return {
        "model": MODEL_VERSION,
        "geometry": "geometric positions (no light time); station masks along the geodetic normal (ITRF93); "
        "terrain horizon at the site; Moon sphere(s) as listed per link",
        "step_s": model.step_s,
        "tolerance_s": model.tolerance_s,
        "stations": [
            {
                "id": s.id,
                "name": s.name,
                "lat_deg": s.lat_deg,
                "lon_east_deg": s.lon_east_deg,
                "altitude_m": s.altitude_m,
                "elevation_mask_deg": s.elevation_mask_deg,
                "grade": s.grade,
            }
            for s in model.stations.values()
        ],
        "horizon": {
            "source": h.source,
            "azimuths_deg": h.azimuths_deg.tolist(),
            "elevations_deg": [round(float(e), 4) for e in h.elevations_deg],
            "observer_height_m": h.observer_height_m,
            "max_range_km": h.max_range_km,
        },
        "links": out_links,
    }
