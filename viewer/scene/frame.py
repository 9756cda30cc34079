"""The frame model: what one frame of a view shows at ``et``, as plain records (numpy arrays, no VTK).

:class:`FrameModel` turns an epoch into a :class:`Frame`: the bodies' and vehicles' poses (from
:mod:`viewer.scene.kinematics`), the trail windows, the relay chain (:mod:`viewer.scene.relay`), the label anchors, the Sun's
direction and what is visible. The VTK actor groups (:mod:`viewer.scene.groups`) draw a frame; the browser tracks
(:mod:`viewer.scene.tracks`) sample the same model's poses and trails, so stills and the web app cannot drift apart.

The relay model (:mod:`viewer.links`) is passed in; without one the frame has no relay chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM, MOON_RADIUS_KM
from viewer.scene import hermite, sampling
from viewer.scene.kinematics import Kinematics, Poses, frame_from_x, rotations
from viewer.scene.relay import chain_record as relay_chain_record
from viewer.scene.vehicles import BODY_ACTORS, actors, display_names
from viewer.scene.views import View
from viewer.words import word

log = logging.getLogger(__name__)
MAX_TURN_DEG = 2.0  # smooth trails: consecutive on-screen segments turn by at most this (viewer.scene.hermite)
LINK_KINDS = ("surface", "station", "space")  # links drawn as lines (the others are composites or to the Earth)
BODY_RADIUS_KM = {"EARTH": EARTH_EQUATORIAL_RADIUS_KM, "MOON": MOON_RADIUS_KM}
# spheres that hide a label's point from the camera (the Moon a little inside its mean radius: relief)
OCCLUDERS_KM = (("MOON", MOON_RADIUS_KM - 10.0), ("EARTH", EARTH_POLAR_RADIUS_KM))


@dataclass(frozen=True)
class BodyRecord:
    """The Earth or the Moon: centre (render units), rotation body-fixed -> view frame, and whether it is shown."""

    position: np.ndarray
    rotation: np.ndarray
    shown: bool


@dataclass(frozen=True)
class VehicleRecord:
    """One vehicle: pose, whether SPICE covers it (``visible``), whether it is drawn (visible and not too far), and
    the vehicle it rides on in a stack (``""`` when free) and the stack's root."""

    position: np.ndarray
    rotation: np.ndarray
    visible: bool
    drawn: bool
    stacked_on: str
    root: str


@dataclass(frozen=True)
class TrailPiece:
    """A polyline to draw: samples ``lo:hi`` (epochs ``ets``, ``points``, ``velocities``) without those farther than
    ``far`` from the origin. ``key`` names the sample set the arrays belong to (None: made for this frame only, the
    follow view's live trail)."""

    key: tuple | None
    ets: np.ndarray
    points: np.ndarray
    velocities: np.ndarray
    lo: int
    hi: int
    far: float = np.inf
    t0: float = -np.inf  # the trail's time window (the samples lo:hi lie inside it)
    t1: float = np.inf

    def indices(self, lo: int | None = None, hi: int | None = None) -> np.ndarray:
        lo, hi = self.lo if lo is None else lo, self.hi if hi is None else hi
        idx = np.arange(lo, hi)
        return idx[np.linalg.norm(self.points[lo:hi], axis=1) < self.far]

    def runs(self) -> list[np.ndarray]:
        """The samples to draw smoothly: runs of consecutive indices (a far stretch splits the polyline), with the
        samples just outside the window, so that the curve can be cut exactly at ``t0`` and ``t1``."""
        idx = self.indices(max(self.lo - 1, 0), min(self.hi + 1, len(self.ets)))
        return [r for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(r) >= 2]

    def smooth(
        self, project, screen=None, max_turn_deg: float = MAX_TURN_DEG, cache: SmoothCache | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Polylines of the trail for the camera ``project`` over a picture ``screen`` = (width, height)
        (:func:`viewer.scene.hermite.densify`), cut at the window's ends by Hermite interpolation: (epochs (M,),
        points (M,3)) each.

        ``cache`` (a :class:`SmoothCache` for the camera in use): each run of samples is refined once, uncut, and
        kept there under the sample set's ``key`` and the run's first and last index; later frames with the same
        camera only cut it to their window. Pieces made for one frame (``key`` None) are refined cut, every time."""
        out = []
        for r in self.runs():
            t, p, v = self.ets[r], self.points[r], self.velocities[r]
            a, b = max(self.t0, t[0]), min(self.t1, t[-1])
            if b <= a:
                continue
            if cache is None or self.key is None:
                tc, pc, vc = self._cut_samples(t, p, v, a, b)
                out.append(hermite.densify(tc, pc, vc, project, max_turn_deg=max_turn_deg, screen=screen))
                continue
            k = (self.key, int(r[0]), int(r[-1]), max_turn_deg)
            dense = cache.get(k, hermite.densify, t, p, v, project, max_turn_deg=max_turn_deg, screen=screen)
            out.append(_cut_dense(*dense, t, p, v, a, b))
        return out

    @staticmethod
    def _cut_samples(t, p, v, a: float, b: float):
        """The samples cut to the window [a, b]: [a, inner samples, b] with Hermite ends."""
        inner = (t > a) & (t < b)
        ends = np.array([a, b])
        pe, ve = hermite.hermite(t, p, v, ends), hermite.hermite(t, p, v, ends, derivative=True)
        tc = np.concatenate([[a], t[inner], [b]])
        return tc, np.concatenate([pe[:1], p[inner], pe[1:]]), np.concatenate([ve[:1], v[inner], ve[1:]])


class SmoothCache:
    """Refined trail runs for one camera and picture. :meth:`begin` starts a frame: a new camera empties it,
    the same camera keeps what the previous frame used (so it holds at most one frame's runs)."""

    def __init__(self):
        self.camera: bytes | None = None
        self._last: dict = {}
        self._now: dict = {}

    def begin(self, camera: bytes) -> None:
        self._last = self._now if camera == self.camera else {}
        self._now = {}
        self.camera = camera

    def get(self, key, make, *args, **kwargs):
        """The entry ``key``, made by ``make(*args, **kwargs)`` when this camera has none."""
        if key not in self._now:
            self._now[key] = self._last[key] if key in self._last else make(*args, **kwargs)
        return self._now[key]


def _cut_dense(tq, pq, t, p, v, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """A refined polyline (``tq``, ``pq``) cut to [a, b]: its points strictly inside, and both ends on the Hermite
    curve of the samples ``t``, ``p``, ``v`` (a chord from a point inside a refined segment turns less than the
    segment did)."""
    i0, i1 = np.searchsorted(tq, a, side="right"), np.searchsorted(tq, b, side="left")
    ends = hermite.hermite(t, p, v, np.array([a, b]))
    return np.concatenate([[a], tq[i0:i1], [b]]), np.concatenate([ends[:1], pq[i0:i1], ends[1:]])


@dataclass(frozen=True)
class Arrow:
    """The site view's Earth-direction arrow along the ground: rotation (x along the arrow), base, length, tip."""

    rotation: np.ndarray
    base: np.ndarray
    length: float
    tip: np.ndarray


@dataclass(frozen=True)
class LabelAnchor:
    """What a label names and where: ``point`` (render units) and the on-screen rule of
    :mod:`viewer.scene.placement`; ``members`` ride with it in a stack; ``occludable``: hidden when the Moon or the
    Earth stands between it and the camera."""

    key: str
    point: np.ndarray
    members: tuple[str, ...] = ()
    occludable: bool = True


@dataclass
class Frame:
    """Everything one frame shows (see the module docstring)."""

    et: float
    view: View
    center: str
    poses: Poses
    bodies: dict[str, BodyRecord]
    vehicles: dict[str, VehicleRecord]
    sun_dir: np.ndarray
    earth_dir: np.ndarray
    sky_rotation: np.ndarray
    trails: dict[str, dict[str, TrailPiece]] = field(default_factory=dict)  # vehicle -> {"past", "future"}
    arrow: Arrow | None = None
    labels: list[LabelAnchor] = field(default_factory=list)
    chain: object | None = None  # the relay chain in render units (viewer.scene.relay.ChainRecord)

    @property
    def site_view(self) -> bool:
        return self.view.frame != "J2000"


class FrameModel:
    """Frames of one view at a time. ``relay``: a :class:`viewer.links.RelayModel` or None (no links); ``web``: the
    light web scene (coarser trails); ``model_radius_m``: per vehicle, the radius of its model (metres)."""

    def __init__(self, cfg: dict, relay=None, *, web: bool = False, model_radius_m: dict[str, float] | None = None):
        self.cfg = cfg
        self.relay = relay
        self.web = web
        self.vehicle_actor = actors(cfg)
        self.names = display_names(cfg)
        self.model_radius_m = dict(model_radius_m or {})
        self.link_defs = {lid: ln for lid, ln in (relay.links if relay else {}).items() if ln.kind in LINK_KINDS}
        self.view: View | None = None
        self.kin: Kinematics | None = None
        self._trails: dict[tuple, dict | None] = {}
        self._spans: dict | None = None

    def set_view(self, view: View, follow: str | None = None, et: float | None = None) -> None:
        kin = Kinematics(view, follow=follow if view.name == "follow" else None)
        if et is not None:
            kin.center = kin.choose_center(et)
        self.view, self.kin = view, kin
        self._spans = None  # per vehicle: its coverage and tracks span in this view (sampling.trail_spans)

    def far_limit(self) -> float:
        """Spacecraft, labels and trails farther than this from the origin (render units) are not drawn."""
        return float(self.cfg["far_factor"]) * self.view.camera.distance

    # ------------------------------------------------------------------------------------------ frame
    def frame(self, et: float, scale: float, layers: dict | None = None) -> Frame:
        """The frame at ``et`` with spacecraft drawn ``scale`` times their size; ``layers`` hides links, trails."""
        layers = layers or {}
        view, kin = self.view, self.kin
        p = kin.poses(np.array([et]), scale=scale)
        far = self.far_limit()
        bodies = {b: BodyRecord(p.positions[b][0], p.rotations[b][0], b in view.bodies) for b in BODY_ACTORS}
        vehicles = {}
        for v in self.vehicle_actor:
            vis = bool(p.visible[v][0])
            parent = str(p.stacked_on[v][0])
            drawn = vis and float(np.linalg.norm(p.positions[v][0])) < far
            vehicles[v] = VehicleRecord(p.positions[v][0], p.rotations[v][0], vis, drawn, parent, _root(p, v))
        f = Frame(
            et=et,
            view=view,
            center=kin.center,
            poses=p,
            bodies=bodies,
            vehicles=vehicles,
            sun_dir=p.sun_dir[0],
            earth_dir=p.earth_dir[0],
            sky_rotation=rotations("J2000", view.frame, np.array([et]))[0],
        )
        if layers.get("trails", True):
            f.trails = self._trail_pieces(f, far)
        f.arrow = self._arrow(f) if f.site_view else None
        f.labels = self._label_anchors(f)
        if self.relay is not None and layers.get("links", True):  # the relay chain (viewer.scene.relay)
            f.chain = relay_chain_record(self, f)
        return f

    # ------------------------------------------------------------------------------------------ trails
    def trail(self, v: str, et: float | None = None) -> dict | None:
        """Trail samples of ``v`` for this view: ``ets`` and ``points`` (render units relative to the view's centre),
        sampled once per view and kept. Over the view's tracks span; a still at an ``et`` outside it gets the
        samples of that stretch of ``v``'s coverage (:func:`viewer.scene.sampling.trail_stretch`), so a vehicle the
        still draws has its trail."""
        return self._sampled(v, self.trail_key(v, et))

    def _sampled(self, v: str, key: tuple) -> dict | None:
        if key not in self._trails:
            factor = float(self.cfg["trails"]["web_tolerance_factor"]) if self.web else 1.0
            self._trails[key] = sampling.sample_trail(self.kin, v, self.view, factor, span=key[-1])
        return self._trails[key]

    def trail_key(self, v: str, et: float | None = None) -> tuple:
        stretch = None
        if not self.web and et is not None:
            if self._spans is None:
                self._spans = sampling.trail_spans(self.kin, self.view)
            stretch = sampling.trail_stretch(self._spans[v], self.view, et)
        return (self.view.name, self.kin.center, v, self.web, stretch)

    def _trail_pieces(self, f: Frame, far: float) -> dict[str, dict[str, TrailPiece]]:
        view = self.view
        if self.kin.follow:
            n = int(self.cfg["trails"]["live_points"])
            live = sampling.live_trail(self.kin, self.kin.follow, view, f.et, n)
            parts = {
                k: TrailPiece(None, d["ets"], d["points"], d["velocities"], 0, len(d["ets"])) for k, d in live.items()
            }
            return {self.kin.follow: parts}
        out = {}
        for v in self.vehicle_actor:
            if not draws_own_trail(f.vehicles[v].stacked_on):
                continue
            key = self.trail_key(v, f.et)
            data = self._sampled(v, key)
            if data is None:
                continue
            ets = data["ets"]
            arrays = (ets, data["points"], data["velocities"])
            i0 = int(np.searchsorted(ets, f.et - view.trail_past_s))
            i1 = int(np.searchsorted(ets, f.et, side="right"))
            i2 = int(np.searchsorted(ets, f.et + view.trail_future_s, side="right"))
            out[v] = {
                "past": TrailPiece(key, *arrays, i0, i1, far, f.et - view.trail_past_s, f.et),
                "future": TrailPiece(key, *arrays, max(i1 - 1, 0), i2, far, f.et, f.et + view.trail_future_s),
            }
        return out

    # ------------------------------------------------------------------------------------------ site, labels
    def _arrow(self, f: Frame) -> Arrow:
        e = f.earth_dir
        horiz = np.array([e[0], e[1], 0.0])
        if np.linalg.norm(horiz) < 1e-9:
            horiz = np.array([1.0, 0.0, 0.0])
        length = self.view.camera.distance * 0.22
        rot = frame_from_x(horiz[None], np.array([[0.0, 0.0, 1.0]]))[0]
        base = np.array([0.0, 0.0, length * 0.02])
        return Arrow(rot, base, length, base + rot[:, 0] * length)

    def _label_anchors(self, f: Frame) -> list[LabelAnchor]:
        view, out = self.view, []
        for v, rec in f.vehicles.items():
            if not rec.drawn or rec.stacked_on:  # one label per stack
                continue
            members = tuple(m for m in f.poses.stacked_on if f.vehicles[m].stacked_on and f.vehicles[m].root == v)
            out.append(LabelAnchor(v, rec.position, members))
        if f.site_view:
            out.append(LabelAnchor("EARTH", f.arrow.tip, occludable=False))  # at the tip of the Earth arrow
        else:
            for body, rec in f.bodies.items():
                if rec.shown:
                    out.append(LabelAnchor(body, rec.position, occludable=False))
        if view.name == "lunar":
            rel = self.kin.states_moon("CHANGE6_SITE", f.poses.ets)[0, :3]
            if np.isfinite(rel).all():
                out.append(LabelAnchor("CHANGE6_SITE", (f.sky_rotation @ rel) * view.units_per_km))
        return out

    def label_text(self, anchor: LabelAnchor, lang: str) -> str:
        """The label's words: the thing's name; a pair of modules as "A + B"; a larger stack as "Chang'e-6 (n
        modules)" (``assets/words.yaml`` ``scene``)."""
        names = [self.names.get(k, {}).get(lang, k) for k in (anchor.key, *anchor.members)]
        if len(names) == 1:
            return names[0]
        if len(names) == 2:
            return word("scene", "pair", lang).format(a=names[0], b=names[1])
        return word("scene", "stack", lang).format(n=len(names))

    def origin_shift(self, f: Frame) -> np.ndarray:
        """Render-unit position of the centre body relative to the origin (the followed vehicle, follow view)."""
        follow = self.kin.follow
        if not follow or not f.poses.visible[follow][0] or self.kin.center not in f.poses.positions:
            return np.zeros(3)
        return f.poses.positions[self.kin.center][0]


def draws_own_trail(stacked_on):
    """Whether a vehicle riding on ``stacked_on`` ("" when free; a string or an array of them) draws its own trail:
    only while it flies free, a rider's trail being its parent's (the same curve). The stills and the browser's
    tracks (:mod:`viewer.scene.tracks`) both ask here."""
    return np.asarray(stacked_on).astype(str) == ""


def occluded(point: np.ndarray, camera: np.ndarray, f: Frame) -> bool:
    """Whether the Moon or the Earth (spheres) hides ``point`` from the camera position ``camera``."""
    d = point - camera
    length = float(np.linalg.norm(d))
    if length == 0:
        return False
    d /= length
    for body, radius_km in OCCLUDERS_KM:
        if body not in f.view.bodies:
            continue
        c = f.bodies[body].position - camera
        t = float(c @ d)
        if 0 < t < length and float(np.linalg.norm(c - t * d)) < radius_km * f.view.units_per_km:
            return True
    return False


def _root(poses: Poses, v: str) -> str:
    seen = 0
    while poses.stacked_on.get(v, [""])[0] and seen < 8:
        v = poses.stacked_on[v][0]
        seen += 1
    return v
