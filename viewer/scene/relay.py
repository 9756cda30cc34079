"""The relay chain of a frame and where it lands on screen (plain numpy, no VTK).

:func:`chain_record` turns :func:`viewer.links.relay_chain` into render units for the frame's view: every drawn leg
(the source → Queqiao-2 → the stations that see it; a blocked leg only as its stub up to the obstruction) with the
names at its two ends, and the stations' label anchors at the Earth's limb. The vehicles' ends come from the frame's
poses (so a leg ends exactly on the drawn spacecraft), the stations' from the relay model.

:func:`layout` puts a chain through a camera (:class:`Camera`: position, focal point, up, vertical view angle, the
picture's size): each leg is clipped to the part in front of the camera and inside the frame (Liang–Barsky against
the view frustum's side planes, so the drawn line never runs off-screen); an end cut off by the frame edge becomes
an **edge marker** at the exit point that names that end (markers at the same place merge their names). The
browser does the same from the tracks (``viewer/ui/static/relay_chain.js``).
"""

from __future__ import annotations

import functools
import logging
import weakref
from dataclasses import dataclass, field

import numpy as np
from spiceypy.utils.exceptions import SpiceyError

from viewer.errors import CoverageError

log = logging.getLogger(__name__)
EDGE_PX = 3.0  # the drawn line stops this far inside the frame; its marker sits there
MERGE_PX = 28.0  # edge markers (or obstruction words) closer than this share one
LABEL_DROP_PX = 14.0  # words at an end sit this far below it (above, for a vehicle), off the line's end
REFRESH_S = 600.0  # the chain's record is asked for again at least this often (the horizon stub, the limb anchors)
NEAR_FRACTION = 0.05  # nothing is drawn nearer the camera than this × its distance (the near plane never is farther)


@dataclass(frozen=True)
class End:
    """One end of a drawn leg: ``key`` (NAIF name, ``STATION:<id>`` or ``reason:<reason>``), its words {en, zh},
    ``point`` (render units) and whether a label of the scene already names it (``labelled``)."""

    key: str
    name: dict
    point: np.ndarray
    labelled: bool = False


@dataclass(frozen=True)
class Leg:
    """A drawn leg from ``a`` to ``b`` (render units): the whole link when ``open``, else its stub, whose end ``b``
    is the obstruction (``reason``). ``mid_air``: the stub starts short of its first end ``a_end`` (a long leg's last
    part); a marker still names ``a_end`` where the frame cuts that start off."""

    id: str
    open: bool
    a: np.ndarray
    b: np.ndarray
    a_end: End
    b_end: End
    reason: str | None = None
    reason_text: dict | None = None  # {en, zh}: why it is blocked
    mid_air: bool = False


@dataclass(frozen=True)
class StationMark:
    """A station in the chain: its label goes at ``anchor`` (the Earth's limb seen from the Moon), off the disc
    along ``direction``."""

    id: str
    name: dict
    anchor: np.ndarray
    direction: np.ndarray


@dataclass
class ChainRecord:
    legs: list[Leg] = field(default_factory=list)
    stations: list[StationMark] = field(default_factory=list)


@dataclass(frozen=True)
class Camera:
    """A perspective camera (render units) and the picture's size in pixels."""

    position: np.ndarray
    focal_point: np.ndarray
    view_up: np.ndarray
    view_angle_deg: float
    size: tuple[int, int]

    @functools.cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
        """(right, up, forward, tan of the half-angles across and up) of the camera."""
        d = np.asarray(self.focal_point, float) - self.position
        fwd = d / np.linalg.norm(d)
        up = np.asarray(self.view_up, float) - fwd * float(np.dot(self.view_up, fwd))
        up /= np.linalg.norm(up)
        right = np.array(
            [fwd[1] * up[2] - fwd[2] * up[1], fwd[2] * up[0] - fwd[0] * up[2], fwd[0] * up[1] - fwd[1] * up[0]]
        )
        tv = float(np.tan(np.radians(self.view_angle_deg) / 2.0))
        w, h = self.size
        return right, up, fwd, tv * w / h, tv

    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
        return self._basis

    def pixels(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) pixel positions (x right, y down) of world points in front of the camera."""
        right, up, fwd, th, tv = self.basis()
        v = np.atleast_2d(points) - self.position
        z = v @ fwd
        w, h = self.size
        x = (v @ right) / (z * th)
        y = (v @ up) / (z * tv)
        return np.column_stack([(x + 1) * 0.5 * w, (1 - y) * 0.5 * h])


# ---------------------------------------------------------------------------------------------------- the chain
def chain_leg_ids(link_defs: dict) -> list[str]:
    """The links that can be a leg of the relay chain: a vehicle → Queqiao-2, Queqiao-2 → a station."""
    return [lid for lid, ln in link_defs.items() if ln.kind in ("surface", "space") or lid.startswith("queqiao2-")]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # FrameModel -> the last relay_chain it asked for


def _edges(relay) -> np.ndarray:
    """Every epoch where a chain leg opens or closes, or the chain's source changes (sorted); kept per model."""
    if "edges" not in _EDGES.setdefault(relay, {}):
        from viewer.links.chain import ROLE_IDS, ROLES, source_windows

        ids = [f"{ROLE_IDS[r]}-queqiao2" for r in ROLES] + [f"queqiao2-{sid}" for sid in relay.stations]
        t = [e for lid in ids if lid in relay.links for w in relay.windows(lid) for e in w]
        t += [e for w in source_windows() for e in w[:2]]
        _EDGES[relay]["edges"] = np.unique(np.asarray(t, float))
    return _EDGES[relay]["edges"]


_EDGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chain_at(model, et: float) -> dict | None:
    """:func:`viewer.links.relay_chain` at ``et``, or the last one while no leg or source changed since and it is
    at most :data:`REFRESH_S` old (the frame then places the ends and the Moon's and the Earth's stubs itself)."""
    from viewer.links.chain import relay_chain

    relay, kin, view = model.relay, model.kin, model.view
    key = (view.name, kin.center, kin.follow)
    c = _CACHE.get(model)
    if c is not None and c["key"] == key and abs(et - c["et"]) <= REFRESH_S:
        lo, hi = sorted((et, c["et"]))
        edges = _edges(relay)
        if np.searchsorted(edges, lo, side="right") == np.searchsorted(edges, hi, side="right"):
            return c["chain"]
    try:
        chain = relay_chain(et, relay, observer=kin.center, frame=view.frame)
    except (SpiceyError, CoverageError) as exc:  # the Earth or the centre outside the loaded kernels
        log.debug("relay chain at ET %.0f: %s", et, exc)
        return None
    _CACHE[model] = {"key": key, "et": et, "chain": chain}
    return chain


def _entry(a: np.ndarray, b: np.ndarray, centre: np.ndarray, radius: float) -> float | None:
    """Fraction along a → b where the segment enters the sphere, or None when it misses."""
    d, m = b - a, a - centre
    qa, qb, qc = float(d @ d), 2.0 * float(m @ d), float(m @ m) - radius * radius
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return None
    t = (-qb - np.sqrt(disc)) / (2 * qa)
    return float(t) if 0 <= t <= 1 else (0.0 if qc <= 0 else None)


def _stub(model, f, leg: dict, pa: np.ndarray, pb: np.ndarray) -> tuple[float, float] | None:
    """(f0, f1) of a blocked leg's stub for this frame: the Moon's and the Earth's limb from the frame's positions,
    the horizon and the mask from the chain's record."""
    k = model.view.units_per_km
    f1 = leg["stub"]["fractions"][1]
    body = {"moon_limb": "MOON", "earth_limb": "EARTH"}.get(leg["reason"])
    if body and body in f.poses.positions:
        link = model.relay.links[leg["id"]]
        r = link.moon_radius_km if body == "MOON" else float(model.relay.earth_radii_km[2])
        f1 = _entry(pa, pb, f.poses.positions[body][0], r * k)
    if f1 is None or f1 <= 0:
        return None
    from viewer.links.chain import STUB_MAX_KM

    return max(0.0, f1 - STUB_MAX_KM * k / max(float(np.linalg.norm(pb - pa)), 1e-12)), f1


def chain_record(model, f) -> ChainRecord | None:
    """The relay chain of frame ``f`` of :class:`viewer.scene.frame.FrameModel` ``model``, or None without one."""
    chain = _chain_at(model, f.et)
    if chain is None:
        return None
    relay, kin, view = model.relay, model.kin, model.view
    k = view.units_per_km
    shift = model.origin_shift(f) if kin.follow else np.zeros(3)
    labelled = {a.key for a in f.labels} | {m for a in f.labels for m in a.members}

    def place(end: dict) -> np.ndarray | None:
        naif = end["naif"]
        if naif in f.poses.positions:
            return f.poses.positions[naif][0] if f.poses.visible[naif][0] else None
        try:  # a station: where it is at this frame's epoch
            km = relay.endpoint(naif, np.array([f.et]), observer=kin.center, frame=view.frame)[0]
        except (SpiceyError, CoverageError) as exc:
            log.debug("link end %s at ET %.0f: %s", naif, f.et, exc)
            return None
        return km * k + shift

    out = ChainRecord()
    names = {}
    for leg in chain["legs"]:
        if not leg["show"]:
            continue
        pa, pb = place(leg["from"]), place(leg["to"])
        if pa is None or pb is None or not (np.isfinite(pa).all() and np.isfinite(pb).all()):
            continue
        ea = End(leg["from"]["naif"], leg["from"]["name"], pa, leg["from"]["naif"] in labelled)
        eb = End(leg["to"]["naif"], leg["to"]["name"], pb, leg["to"]["naif"] in labelled)
        if leg["open"]:
            out.legs.append(Leg(leg["id"], True, pa, pb, ea, eb))
            if eb.key.startswith("STATION:"):
                names[leg["to"]["id"]] = leg["to"]["name"]
            continue
        stub = _stub(model, f, leg, pa, pb) if leg["stub"] is not None else None  # None: outside the trajectory
        if stub is None:
            continue
        f0, f1 = stub
        stub_b = End(f"reason:{leg['reason']}", eb.name, pa + f1 * (pb - pa))
        why = leg["reason"], leg["reason_text"]
        out.legs.append(Leg(leg["id"], False, pa + f0 * (pb - pa), stub_b.point, ea, stub_b, *why, mid_air=f0 > 0))
    earth = f.poses.positions.get("EARTH")
    r_eq = float(relay.earth_radii_km[0]) * k
    for st in chain["stations"]:
        if st["id"] in names and earth is not None:
            d = np.asarray(st["limb_direction"], float)
            out.stations.append(StationMark(st["id"], st["name"], earth[0] + r_eq * d, d))
    return out


# ---------------------------------------------------------------------------------------------------- on screen
def clip(a: np.ndarray, b: np.ndarray, cam: Camera) -> tuple[float, float] | None:
    """Fractions (t0, t1) of the segment a → b inside the frame (``EDGE_PX`` in from its edges) and in front of the
    camera; None when no part is."""
    right, up, fwd, th, tv = cam.basis()
    w, h = cam.size
    th, tv = th * (1 - 2 * EDGE_PX / w), tv * (1 - 2 * EDGE_PX / h)
    dist = float(np.linalg.norm(np.asarray(cam.focal_point, float) - cam.position))
    va, vb = a - cam.position, b - cam.position
    t0, t1 = 0.0, 1.0
    for g in (
        lambda v: v @ fwd * th - v @ right,
        lambda v: v @ fwd * th + v @ right,
        lambda v: v @ fwd * tv - v @ up,
        lambda v: v @ fwd * tv + v @ up,
        lambda v: v @ fwd - NEAR_FRACTION * dist,
    ):
        ga, gb = float(g(va)), float(g(vb))
        if ga < 0 and gb < 0:
            return None
        if ga < 0:
            t0 = max(t0, ga / (ga - gb))
        elif gb < 0:
            t1 = min(t1, ga / (ga - gb))
    return (t0, t1) if t1 > t0 else None


@dataclass
class Layout:
    """A chain on screen: ``lines`` [(leg, t0, t1)] to draw; ``labels`` [(x, y, text, kind)] at ends on screen
    (kind ``station``, ``vehicle`` or ``reason``); ``markers`` [(x, y, dx, dy, text)] at the frame edge, (dx, dy)
    the unit direction out of the frame."""

    lines: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    markers: list = field(default_factory=list)


def layout(chain: ChainRecord | None, cam: Camera, lang: str, all_around: bool = False) -> Layout:
    """Where ``chain`` lands in the picture of ``cam`` (see the module docstring); words in ``lang``.
    ``all_around``: a panorama (every direction is in the picture): whole legs, no words."""
    out = Layout()
    if chain is None:
        return out
    if all_around:
        out.lines = [(leg, 0.0, 1.0) for leg in chain.legs]
        return out
    edge, why = [], []  # (x, y, dx, dy, name); (x, y, name, reason words)
    for leg in chain.legs:
        span = clip(leg.a, leg.b, cam)
        if span is None:
            continue
        t0, t1 = span
        out.lines.append((leg, t0, t1))
        mid = cam.pixels(leg.a + 0.5 * (t0 + t1) * (leg.b - leg.a))[0]
        for t, end, cut in ((t0, leg.a_end, t0 > 0), (t1, leg.b_end, t1 < 1)):
            xy = cam.pixels(leg.a + t * (leg.b - leg.a))[0]
            name = end.name[lang] + (f": {leg.reason_text[lang]}" if cut and end is leg.b_end and leg.reason else "")
            if cut:
                d = xy - mid
                d = d / max(float(np.linalg.norm(d)), 1e-9)
                edge.append((float(xy[0]), float(xy[1]), float(d[0]), float(d[1]), name))
            elif end is leg.a_end and leg.mid_air:
                continue
            elif end is leg.b_end and leg.reason:
                why.append((float(xy[0]), float(xy[1]) + LABEL_DROP_PX, end.name[lang], leg.reason_text[lang]))
            elif not end.labelled and not end.key.startswith("STATION:"):
                out.labels.append((float(xy[0]), float(xy[1]) - LABEL_DROP_PX, end.name[lang], "vehicle"))
    out.labels += _merge_reasons(why)
    for st in chain.stations:
        _station_label(out, st, cam, lang)
    out.markers = _merge(edge)
    return out


def _station_label(out: Layout, st: StationMark, cam: Camera, lang: str) -> None:
    """The station's name at its limb anchor, off the Earth's disc (stacked where names would overlap)."""
    right, up, fwd, _th, _tv = cam.basis()
    if float((st.anchor - cam.position) @ fwd) <= 0:
        return
    xy = cam.pixels(st.anchor)[0]
    w, h = cam.size
    if not (0 <= xy[0] <= w and 0 <= xy[1] <= h):
        return
    d = np.array([float(st.direction @ right), -float(st.direction @ up)])
    d = d / max(float(np.linalg.norm(d)), 1e-9)
    x, y = xy + d * 14.0
    while any(abs(y - q[1]) < 16 and abs(x - q[0]) < 80 for q in out.labels if q[3] == "station"):
        y += 16.0 if d[1] >= 0 else -16.0
    out.labels.append((float(x), float(y), st.name[lang], "station"))


def _merge_reasons(why: list) -> list:
    """One label per obstruction place and reason: "Kashi · Jiamusi: behind the Moon's limb"."""
    out: list[list] = []
    for x, y, name, reason in why:
        for m in out:
            if m[3] == reason and abs(m[0] - x) < MERGE_PX and abs(m[1] - y) < MERGE_PX:
                if name not in m[2]:
                    m[2].append(name)
                break
        else:
            out.append([x, y, [name], reason])
    return [(x, y, f"{' · '.join(names)}: {reason}", "reason") for x, y, names, reason in out]


def _merge(edge: list) -> list:
    """One marker per place at the frame edge, naming every end that leaves there."""
    out: list[list] = []
    for x, y, dx, dy, name in edge:
        for m in out:
            if abs(m[0] - x) < MERGE_PX and abs(m[1] - y) < MERGE_PX:
                if name not in m[4]:
                    m[4].append(name)
                break
        else:
            out.append([x, y, dx, dy, [name]])
    return [(x, y, dx, dy, " · ".join(names)) for x, y, dx, dy, names in out]
