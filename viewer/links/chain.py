"""The relay chain that carries the signal now: source → Queqiao-2 → each ground station, with why a leg is blocked.

The source is the vehicle whose link to Queqiao-2 the phase is about (:data:`CHAIN_SOURCES`; the orbiter at other
times, where the kernels cover it). Each leg is one elementary link of the model, drawn from its first end
(``from``: the source, or Queqiao-2) to its second (``to``: Queqiao-2, or a station). Every leg's state, and the
reason when it is blocked, come from the same checks that decide the link windows (:mod:`viewer.links.kinds`).

A blocked leg carries a **stub**: the part of the line of sight from its ``from`` end up to the obstruction, as
fractions ``(f0, f1)`` along ``from → to`` (the stub runs from ``from + f0·(to − from)`` to ``from + f1·(to −
from)``). The stub ends where the line of sight first meets the obstruction:

* ``moon_limb``: the Moon's sphere (the reference sphere, or the sphere through the site for the lander and the
  ascender);
* ``earth_limb``: the Earth's ellipsoid;
* ``horizon``: the terrain horizon at the site (the point of the line of sight above the terrain that sets the
  horizon in that azimuth, at its arc distance);
* ``mask``: the station itself (the line of sight is clear but below the station's elevation mask).

A stub is at most :data:`STUB_MAX_KM` long: a longer one keeps its last :data:`STUB_MAX_KM` before the obstruction.

Which legs to draw (``show``): the source leg always; a station leg when it is open; when no station sees
Queqiao-2, the blocked station legs whose reason is ``moon_limb`` and the one closest to opening (largest margin).

See :func:`relay_chain` (one epoch, plain records with positions and words) and :func:`chain_samples` (arrays over
many epochs, for the browser tracks); the package docstring gives both formats.
"""

from __future__ import annotations

import numpy as np

from viewer.links import names
from viewer.links.geometry import rotations, sphere_entry_fraction
from viewer.links.kinds import REASONS, ROLE_IDS
from viewer.links.project import default_model
from viewer.links.windows import states_from_windows
from viewer.mission import load_mission

ROLES = ("lander", "ascender", "orbiter")  # the sources a chain can start from
FALLBACK_ROLE = "orbiter"
CHAIN_SOURCES = {
    "powered_descent": "lander",
    "surface_operations": "lander",
    "ascent": "ascender",
    "rendezvous": "ascender",
}
STUB_MAX_KM = 20_000.0
RELAY_ID = ROLE_IDS["relay"]


def source_windows(mission=None) -> list[tuple[float, float, str]]:
    """[(start_et, end_et, role)] of the phases in :data:`CHAIN_SOURCES`."""
    mission = mission if mission is not None else load_mission()
    return [(mission.item(pid).start_et, mission.item(pid).end_et, role) for pid, role in CHAIN_SOURCES.items()]


def _source_index(model, ets: np.ndarray, sources) -> np.ndarray:
    """Index into :data:`ROLES` of each epoch's source (-1: none), where the kernels cover its leg."""
    covered = {r: states_from_windows(model.coverage(f"{ROLE_IDS[r]}-{RELAY_ID}"), ets) for r in ROLES}
    out = np.where(covered[FALLBACK_ROLE], ROLES.index(FALLBACK_ROLE), -1)
    for t0, t1, role in sources:
        inside = (ets >= t0) & (ets < t1) & covered[role]
        out[inside] = ROLES.index(role)
    return out


def _horizon_fraction(model, pos: dict, seg: np.ndarray) -> np.ndarray:
    """Fraction along the leg where its line of sight passes over the terrain that sets the horizon."""
    rot = pos[("ROT", model.bodies.topo_frame)]
    enu = np.einsum("nji,nj->ni", rot, seg)
    az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
    h = model.horizon
    xp = np.concatenate([h.azimuths_deg, [h.azimuths_deg[0] + 360.0]])
    dist = np.interp(az, xp, np.concatenate([h.distances_km, [h.distances_km[0]]]))
    horizontal = np.linalg.norm(enu[:, :2], axis=1)
    return np.clip(dist / np.maximum(horizontal, 1e-9), 0.0, 1.0)


def _stub_end(model, link, pos: dict, reason: str) -> np.ndarray:
    """Fraction along from → to where the line of sight meets the obstruction of ``reason``."""
    b = model.bodies
    if link.kind == "station":
        v, e, rot = pos[("POS", link.a)], pos[("POS", b.earth)], pos[("ROT", b.earth_frame)]
        s = e + rot @ model.station_xyz_km[link.station]
        p, q = v, s
    else:
        p, q = pos[("POS", link.a)], pos[("POS", link.b)]
    if reason == "mask":
        return np.ones(len(p))
    if reason == "horizon":
        return _horizon_fraction(model, pos, q - p)
    if reason == "earth_limb" and link.kind == "station":  # the ellipsoid is a unit sphere in scaled Earth-fixed
        scale = 1.0 / model.earth_radii_km
        fixed = lambda x: np.einsum("nji,nj->ni", rot, x - e) * scale
        f = sphere_entry_fraction(fixed(p), fixed(q), np.zeros(3), 1.0)
    elif reason == "earth_limb":
        f = sphere_entry_fraction(p, q, pos[("POS", b.earth)], float(model.earth_radii_km[2]))
    else:
        f = sphere_entry_fraction(p, q, np.zeros(3), link.moon_radius_km)
    return np.where(np.isnan(f), 0.0, f)


def _leg_arrays(model, link, ets: np.ndarray, active: np.ndarray) -> dict:
    """State, reason, stub and margin of one leg at the epochs where it is active."""
    n = len(ets)
    out = {
        "active": active.copy(),
        "open": np.zeros(n, bool),
        "reason": np.full(n, -1, np.int8),
        "stub": np.full((n, 2), np.nan, np.float32),
        "margin": np.full(n, -np.inf),
    }
    inside = active & states_from_windows(model.coverage(link.id), ets)
    out["reason"][active & ~inside] = REASONS.index("out_of_range")
    if not inside.any():
        return out
    pos = model.reads(link, ets[inside])
    checks, margin = model.checks(link, pos, margin=True)
    ok = np.logical_and.reduce(list(checks.values()))
    out["open"][inside], out["margin"][inside] = ok, margin
    reason = np.full(int(inside.sum()), -1, np.int8)
    stub = np.full((len(reason), 2), np.nan)
    for name, holds in reversed(list(checks.items())):  # the first failing check (nearest the from end) wins
        reason[~holds] = REASONS.index(name)
    for name in checks:
        pick = reason == REASONS.index(name)
        if pick.any():
            f1 = _stub_end(model, link, {k: a[pick] for k, a in pos.items()}, name)
            seg = np.linalg.norm(_ends(model, link, {k: a[pick] for k, a in pos.items()}), axis=1)
            f0 = np.maximum(0.0, f1 - STUB_MAX_KM / np.maximum(seg, 1e-9))
            stub[pick] = np.column_stack([f0, f1])
    out["reason"][inside], out["stub"][inside] = reason, stub
    return out


def _ends(model, link, pos: dict) -> np.ndarray:
    """to − from of a leg (km) from its reads."""
    b = model.bodies
    if link.kind == "station":
        e, rot = pos[("POS", b.earth)], pos[("ROT", b.earth_frame)]
        return e + rot @ model.station_xyz_km[link.station] - pos[("POS", link.a)]
    return pos[("POS", link.b)] - pos[("POS", link.a)]


def _show_station_legs(station_legs: dict) -> None:
    """Set ``show`` on the station legs (see the module docstring)."""
    if not station_legs:
        return
    legs = list(station_legs.values())
    any_open = np.logical_or.reduce([leg["open"] for leg in legs])
    margins = np.vstack([leg["margin"] for leg in legs])
    closest = np.argmax(margins, axis=0)
    for k, leg in enumerate(legs):
        behind_moon = leg["reason"] == REASONS.index("moon_limb")
        leg["show"] = leg["active"] & (leg["open"] | (~any_open & (behind_moon | (closest == k))))


def chain_samples(ets, model=None, sources=None) -> dict:
    """The relay chain over many epochs as arrays (see the package docstring for the format)."""
    model = model or default_model()
    ets = np.atleast_1d(np.asarray(ets, dtype=float))
    sources = source_windows() if sources is None else sources
    src = _source_index(model, ets, sources)
    legs: dict[str, dict] = {}
    for k, role in enumerate(ROLES):
        lid = f"{ROLE_IDS[role]}-{RELAY_ID}"
        legs[lid] = _leg_arrays(model, model.links[lid], ets, src == k)
        legs[lid]["show"] = legs[lid]["active"].copy()
    relay_cov = states_from_windows(model.coverage(f"{RELAY_ID}-ground"), ets)
    station_legs = {}
    for sid in model.stations:
        lid = f"{RELAY_ID}-{sid}"
        station_legs[lid] = _leg_arrays(model, model.links[lid], ets, relay_cov)
    _show_station_legs(station_legs)
    legs.update(station_legs)
    src_open = np.zeros(len(ets), bool)
    for k, role in enumerate(ROLES):
        src_open |= (src == k) & legs[f"{ROLE_IDS[role]}-{RELAY_ID}"]["open"]
    ground = np.logical_or.reduce([leg["open"] for leg in station_legs.values()]) if station_legs else src_open
    for leg in legs.values():
        del leg["margin"]
    return {
        "t": ets,
        "roles": list(ROLES),
        "reasons": list(REASONS),
        "source": src.astype(np.int8),
        "open": np.where(src >= 0, src_open, True) & ground,
        "legs": {lid: {"from": model.links[lid].a, "to": model.links[lid].b, **leg} for lid, leg in legs.items()},
        "limb": _limb_directions(model, ets),
    }


def _limb_directions(model, ets: np.ndarray, frame: str = "J2000") -> dict[str, np.ndarray]:
    """{station id: (N, 3) unit vectors from the Earth's centre to the point of its limb, seen from the Moon,
    nearest the station} in ``frame``."""
    b = model.bodies
    moon = model.endpoint(b.moon, ets, b.earth, frame)
    view = moon / np.linalg.norm(moon, axis=1)[:, None]
    north = rotations(b.earth_frame, frame, ets)[:, :, 2]  # the Earth's axis, where a station faces the Moon head-on
    out = {}
    for sid in model.stations:
        s = model.endpoint(f"STATION:{sid}", ets, b.earth, frame)
        across = s - np.einsum("ij,ij->i", s, view)[:, None] * view
        size = np.linalg.norm(across, axis=1)
        fallback = north - np.einsum("ij,ij->i", north, view)[:, None] * view
        across = np.where((size > 1e-6 * np.linalg.norm(s, axis=1))[:, None], across, fallback)
        out[sid] = across / np.linalg.norm(across, axis=1)[:, None]
    return out


def _end(model, naif: str, position: np.ndarray) -> dict:
    """A leg end: NAIF name (or ``STATION:<id>``), id, kind, names in every language and position (km)."""
    if naif.startswith("STATION:"):
        sid = naif.split(":", 1)[1]
        return {
            "naif": naif,
            "id": sid,
            "kind": "station",
            "name": names.station_name(model.stations[sid]),
            "position_km": position.tolist(),
        }
    role = {getattr(model.bodies, r): r for r in ROLE_IDS}[naif]
    return {
        "naif": naif,
        "id": ROLE_IDS[role],
        "kind": "vehicle",
        "name": names.role_name(role),
        "position_km": position.tolist(),
    }


def relay_chain(et: float, model=None, *, observer: str = "MOON", frame: str = "J2000", sources=None) -> dict:
    """The chain that carries the signal at ``et`` as plain records, positions in km relative to ``observer`` in
    ``frame`` (see the package docstring for the format)."""
    model = model or default_model()
    ets = np.array([float(et)])
    s = chain_samples(ets, model, sources)
    where: dict[str, np.ndarray] = {}

    def at(naif: str) -> np.ndarray:
        if naif not in where:
            where[naif] = model.endpoint(naif, ets, observer, frame)[0]
        return where[naif]

    legs = []
    for lid, leg in s["legs"].items():
        if not leg["active"][0]:
            continue
        link = model.links[lid]
        a, b = at(link.a), at(link.b)
        reason = REASONS[leg["reason"][0]] if leg["reason"][0] >= 0 else None
        stub = None
        if reason is not None and reason != "out_of_range":
            f0, f1 = (float(f) for f in leg["stub"][0])
            stub = {"fractions": [f0, f1], "from_km": (a + f0 * (b - a)).tolist(), "to_km": (a + f1 * (b - a)).tolist()}
        legs.append(
            {
                "id": lid,
                "kind": "station" if link.station else "source",
                "from": _end(model, link.a, a),
                "to": _end(model, link.b, b),
                "open": bool(leg["open"][0]),
                "reason": reason,
                "reason_text": names.both(f"reason_{reason}") if reason else names.both("open"),
                "show": bool(leg["show"][0]),
                "stub": stub,
            }
        )
    earth = at(model.bodies.earth)
    r_eq = float(model.earth_radii_km[0])
    stations = []
    for sid, direction in _limb_directions(model, ets, frame).items():
        leg = s["legs"].get(f"{RELAY_ID}-{sid}")
        stations.append(
            {
                "id": sid,
                "naif": f"STATION:{sid}",
                "name": names.station_name(model.stations[sid]),
                "position_km": at(f"STATION:{sid}").tolist(),
                "limb_anchor_km": (earth + r_eq * direction[0]).tolist(),
                "limb_direction": direction[0].tolist(),
                "sees_relay": bool(leg is not None and leg["open"][0]),
            }
        )
    k = int(s["source"][0])
    source = None
    if k >= 0:
        role = ROLES[k]
        source = _end(model, getattr(model.bodies, role), at(getattr(model.bodies, role)))
    return {
        "et": float(et),
        "observer": observer,
        "frame": frame,
        "source": source,
        "open": bool(s["open"][0]),
        "legs": legs,
        "stations": stations,
        "earth_km": earth.tolist(),
    }
