"""Link kinds as data: the table of links the model defines (:data:`LINK_TABLE`) and, per elementary kind, what it
reads from SPICE and the checks that decide it (:data:`KINDS`).

A :class:`Rule` names its links by role (``lander``, ``ascender``, ``orbiter``, ``relay``, ``site``; ``{a}`` in the
id is the role's id, ``{station}`` gives one link per ground station), the kind, the far end (a role, ``station``
or ``earth``), the Moon sphere that blocks it (``site``: the sphere through the landing site; ``moon``: the
reference sphere) and its label key under ``links:`` in ``assets/words.yaml``. Composite kinds combine their parts:
``any`` (open when any part is) and ``all`` (open when every part is).

Each check of an elementary kind is a named boolean array, in the order the signal meets the obstruction from the
link's first end; the link is open where every check holds. The names are the reasons a blocked line of sight
reports (``moon_limb``, ``earth_limb``, ``horizon``, ``mask``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from viewer.constants import CHANGE6_TOPO, EARTH_FIXED
from viewer.links import names
from viewer.links.geometry import (
    azimuth_elevation_deg,
    limb_margin_deg,
    rotations,
    segment_clear_of_sphere,
    spkpos,
)
from viewer.links.windows import intersect_all, union

ROLE_IDS = {"lander": "lander", "ascender": "ascender", "orbiter": "orbiter", "relay": "queqiao2", "site": "site"}
REASONS = ("moon_limb", "earth_limb", "horizon", "mask", "out_of_range")


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


@dataclass(frozen=True)
class Link:
    """One link: its endpoints (NAIF names, or ``STATION:<id>``), kind, the role at its first end and, if
    composite, its parts."""

    id: str
    a: str
    b: str
    kind: str  # surface | station | space | site_earth | any | all
    label: dict = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    moon_radius_km: float = 0.0
    station: str | None = None
    role: str = ""

    @property
    def composite(self) -> bool:
        return self.kind in COMPOSITES

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
            "role": self.role,
        }


@dataclass(frozen=True)
class Rule:
    """One row of the link table (see the module docstring)."""

    id: str
    kind: str
    roles: tuple[str, ...]
    b: str
    sphere: str = ""
    label: str = "pair"
    parts: tuple[str, ...] = ()


# The order is the order of the model's links (parts before the composites that use them).
LINK_TABLE: tuple[Rule, ...] = (
    Rule("{a}-queqiao2", "surface", ("lander", "ascender"), "relay", sphere="site"),
    Rule("{a}-{station}", "station", ("relay",), "station", sphere="moon"),
    Rule("{a}-ground", "any", ("relay",), "earth", label="any_ground", parts=("{a}-{station}",)),
    Rule("{a}-{station}", "station", ("orbiter",), "station", sphere="moon"),
    Rule("{a}-ground", "any", ("orbiter",), "earth", label="any_ground", parts=("{a}-{station}",)),
    Rule("{a}-{station}", "station", ("ascender",), "station", sphere="site"),
    Rule("{a}-ground", "any", ("ascender",), "earth", label="any_ground", parts=("{a}-{station}",)),
    Rule("{a}-queqiao2", "space", ("orbiter",), "relay", sphere="moon"),
    Rule("{a}-earth", "site_earth", ("site",), "earth", sphere="site", label="site_earth"),
    Rule(
        "relay-{a}",
        "all",
        ("lander", "ascender", "orbiter"),
        "earth",
        label="end_to_end",
        parts=("{a}-queqiao2", "queqiao2-ground"),
    ),
)


def expand(table, bodies: Bodies, stations: dict, spheres: dict[str, float]) -> dict[str, Link]:
    """{link id: Link} from the table, for these bodies, stations ({id: Station}) and Moon spheres (km)."""
    out: dict[str, Link] = {}
    relay = names.role_name("relay")
    for rule in table:
        for role in rule.roles:
            rid = ROLE_IDS[role]
            per_station = "{station}" in rule.id
            for sid in stations if per_station else [None]:
                if per_station:
                    b, b_name = f"STATION:{sid}", names.station_name(stations[sid])
                else:
                    b, b_name = getattr(bodies, rule.b), names.role_name(rule.b)
                parts = tuple(
                    p.format(a=rid, station=s) for p in rule.parts for s in (stations if "{station}" in p else [None])
                )
                link = Link(
                    id=rule.id.format(a=rid, station=sid),
                    a=getattr(bodies, role),
                    b=b,
                    kind=rule.kind,
                    label=names.both(rule.label, a=names.role_name(role), b=b_name, relay=relay),
                    parts=parts,
                    moon_radius_km=spheres.get(rule.sphere, 0.0),
                    station=sid,
                    role=role,
                )
                out[link.id] = link
    return out


# ------------------------------------------------------------------------------------------------ reads
Key = tuple[str, str]  # ("POS", body): J2000 position from the Moon; ("ROT", frame): frame → J2000


def fetch(bodies: Bodies, key: Key, ets: np.ndarray) -> np.ndarray:
    """One SPICE read over ``ets``: a position (N, 3) or a rotation (N, 3, 3)."""
    kind, name = key
    if kind == "POS":
        return spkpos(name, ets, "J2000", bodies.moon)
    return rotations(name, "J2000", ets)


def _station_reads(link: Link, b: Bodies) -> list[Key]:
    return [("POS", link.a), ("POS", b.earth), ("ROT", b.earth_frame)]


def _surface_reads(link: Link, b: Bodies) -> list[Key]:
    return [("POS", link.a), ("POS", link.b), ("ROT", b.topo_frame)]


def _space_reads(link: Link, b: Bodies) -> list[Key]:
    return [("POS", link.a), ("POS", link.b), ("POS", b.earth)]


def _site_earth_reads(link: Link, b: Bodies) -> list[Key]:
    return [("POS", b.earth), ("ROT", b.topo_frame)]


# ------------------------------------------------------------------------------------------------ checks
# Each takes the model (stations, horizon, radii), the link, the reads ({key: array}, same epochs, Moon-centred
# J2000) and whether to return a margin: a continuous value (deg, > 0 where the checks hold) that only guides the
# window search towards brief windows or gaps between grid points.
ZERO = np.zeros(3)


def _station_checks(m, link: Link, pos: dict, margin: bool):
    b = m.bodies
    v, e, rot = pos[("POS", link.a)], pos[("POS", b.earth)], pos[("ROT", b.earth_frame)]
    s_fixed = m.station_xyz_km[link.station]
    s = e + rot @ s_fixed
    d = v - s
    sin_el = np.einsum("ij,ij->i", d, rot @ m.station_up[link.station]) / np.linalg.norm(d, axis=1)
    el = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
    el_margin = el - m.stations[link.station].elevation_mask_deg
    v_fixed = np.einsum("nji,nj->ni", rot, v - e)  # Earth-fixed, for the ellipsoid
    scale = 1.0 / m.earth_radii_km
    checks = {
        "moon_limb": segment_clear_of_sphere(s, v, ZERO, link.moon_radius_km),
        "earth_limb": segment_clear_of_sphere(s_fixed * scale, v_fixed * scale, ZERO, 1.0 - 1e-9),
        "mask": el_margin > 0,
    }
    return checks, (np.minimum(el_margin, limb_margin_deg(s, v, ZERO, link.moon_radius_km)) if margin else None)


def _surface_checks(m, link: Link, pos: dict, margin: bool):
    v, q, rot = pos[("POS", link.a)], pos[("POS", link.b)], pos[("ROT", m.bodies.topo_frame)]
    horizon = np.ones(len(v), dtype=bool)
    mg = limb_margin_deg(v, q, ZERO, link.moon_radius_km) if margin else None
    at_site = np.linalg.norm(v - rot @ m.site_topo, axis=1) < m.at_site_km
    if at_site.any():
        az, el = azimuth_elevation_deg(np.einsum("nji,nj->ni", rot[at_site], q[at_site] - v[at_site]))
        above = el - m.horizon.elevation_at(az)
        horizon[at_site] = above > 0
        if margin:
            mg[at_site] = np.minimum(mg[at_site], above)
    return {"horizon": horizon, "moon_limb": segment_clear_of_sphere(v, q, ZERO, link.moon_radius_km)}, mg


def _space_checks(m, link: Link, pos: dict, margin: bool):
    v, q, e = pos[("POS", link.a)], pos[("POS", link.b)], pos[("POS", m.bodies.earth)]
    r_earth = float(m.earth_radii_km[2])
    checks = {
        "moon_limb": segment_clear_of_sphere(v, q, ZERO, link.moon_radius_km),
        "earth_limb": segment_clear_of_sphere(v, q, e, r_earth),
    }
    if not margin:
        return checks, None
    return checks, np.minimum(limb_margin_deg(v, q, ZERO, link.moon_radius_km), limb_margin_deg(v, q, e, r_earth))


def _site_earth_checks(m, link: Link, pos: dict, margin: bool):
    e, rot = pos[("POS", m.bodies.earth)], pos[("ROT", m.bodies.topo_frame)]
    az, el = azimuth_elevation_deg(np.einsum("nji,nj->ni", rot, e) - m.site_topo)
    terrain = el - m.horizon.elevation_at(az)
    checks = {"horizon": terrain > 0, "moon_limb": el > 0}
    return checks, (np.minimum(terrain, el) if margin else None)


@dataclass(frozen=True)
class Kind:
    """An elementary link kind: what it reads, the checks that decide it, and the bodies whose coverage bounds it."""

    reads: Callable[[Link, Bodies], list[Key]]
    checks: Callable
    covered_by: Callable[[Link, Bodies], tuple[str, ...]]


KINDS: dict[str, Kind] = {
    "station": Kind(_station_reads, _station_checks, lambda link, b: (link.a,)),
    "surface": Kind(_surface_reads, _surface_checks, lambda link, b: (link.a, link.b)),
    "space": Kind(_space_reads, _space_checks, lambda link, b: (link.a, link.b)),
    "site_earth": Kind(_site_earth_reads, _site_earth_checks, lambda link, b: (b.site, b.lander)),
}

# composite kind -> (how windows combine, how states combine)
COMPOSITES: dict[str, tuple[Callable, Callable]] = {
    "any": (union, np.logical_or.reduce),
    "all": (intersect_all, np.logical_and.reduce),
}


def all_hold(checks: dict[str, np.ndarray]) -> np.ndarray:
    """True where every check holds."""
    return np.logical_and.reduce(list(checks.values()))
