"""Camera paths for exported clips: the story camera, the view's preset, an orbit, a smooth follow, and a fly-to.

A path is a pure function of ET (frames are stepped by ET, never by wall clock), applied on top of the camera
the scene sets for its view at that ET (the *base* pose). Poses are in the render units of the current view
(its floating origin, design rule 6).

- ``story`` (the default): the director's camera (``assets/director.yaml``, :mod:`viewer.director`), one segment
  per shot.
- ``preset``: the base pose unchanged.
- ``orbit[:TURNS]``: the base pose turned about the focal point, around the view-up axis, ``TURNS`` turns
  (default 0.25) over the segment, at a constant rate.
- ``follow[:NAME]``: the focal point rides on the vehicle NAME, smoothed by an exponential moving average over
  the past half video-second of mission time, at most 30 s (so burns and SPK segment joins do not jerk the
  picture, and a fast clip does not average a whole orbit into the Moon's centre); the camera keeps the base
  pose's direction at a fraction of its distance.
- fly-to: when a clip changes view (a phase boundary in ``auto``), the first ~1.5 video seconds of the new view
  start from the old view's camera, carried through SPICE into the new view's frame and units, and ease into
  the new view's camera (log-distance, slerped direction).

``auto`` picks a view and a path per mission phase (``assets/phase_views.yaml``, :mod:`viewer.phase_views`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from viewer.errors import InputError, shown
from viewer.phase_views import camera_for

DEFAULT_ORBIT_TURNS = 0.25
MAX_ORBIT_TURNS = 100
FOLLOW_DISTANCE = 0.35  # follow camera distance, fraction of the view preset's distance
FOLLOW_SMOOTH_VIDEO_S = 0.5  # smoothing time constant, video seconds ...
FOLLOW_MAX_TAU_S = 30.0  # ... but at most this much mission time, so a fast clip does not average over an orbit
FOLLOW_SAMPLES = 12
FLYTO_VIDEO_S = 1.5  # length of a fly-to, video seconds
FLYTO_MAX_DEG_S = 60.0  # a story fly-to's fastest turn, degrees a video second (2° a frame at 30 frames/s)


@dataclass(frozen=True)
class Pose:
    """A camera: position, focal point and up vector in render units, and the vertical view angle (deg)."""

    position: np.ndarray
    focal_point: np.ndarray
    view_up: np.ndarray
    view_angle: float = 30.0

    @classmethod
    def of(cls, position, focal_point, view_up, view_angle=30.0) -> Pose:
        return cls(
            np.asarray(position, float), np.asarray(focal_point, float), np.asarray(view_up, float), float(view_angle)
        )

    @property
    def offset(self) -> np.ndarray:
        return self.position - self.focal_point

    @property
    def distance(self) -> float:
        return float(np.linalg.norm(self.offset))


# ----------------------------------------------------------------------------------------------------------------
# Geometry


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' rotation of ``v`` about ``axis`` by ``angle`` radians."""
    k = _unit(np.asarray(axis, float))
    v = np.asarray(v, float)
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(k, v) * s + k * np.dot(k, v) * (1 - c)


def slerp(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    """Spherical interpolation between the directions of ``a`` and ``b`` (unit result)."""
    a, b = _unit(a), _unit(b)
    dot = float(np.clip(np.dot(a, b), -1.0, 1.0))
    if dot > 0.9995:
        return _unit(a + u * (b - a))
    if dot < -0.9995:  # opposite: go round any perpendicular
        perp = _unit(np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0]))
        return rotate(a, perp, math.pi * u)
    theta = math.acos(dot)
    return (math.sin((1 - u) * theta) * a + math.sin(u * theta) * b) / math.sin(theta)


def ease(u: float) -> float:
    """Smoothstep ease-in-out on [0, 1] (zero velocity at both ends)."""
    u = min(1.0, max(0.0, u))
    return u * u * (3 - 2 * u)


def interpolate(a: Pose, b: Pose, u: float) -> Pose:
    """The pose a fraction ``u`` of the way from ``a`` to ``b``: focal point linear, distance geometric,
    viewing direction and up vector slerped (so the camera swings round instead of cutting through the body)."""
    focal = a.focal_point + u * (b.focal_point - a.focal_point)
    da, db = max(a.distance, 1e-12), max(b.distance, 1e-12)
    dist = math.exp(math.log(da) + u * (math.log(db) - math.log(da)))
    direction = slerp(a.offset, b.offset, u)
    up = slerp(a.view_up, b.view_up, u)
    up = _unit(up - np.dot(up, direction) * direction)
    return Pose(focal + dist * direction, focal, up, a.view_angle + u * (b.view_angle - a.view_angle))


def orbit(pose: Pose, angle: float, axis: np.ndarray | None = None) -> Pose:
    """``pose`` turned about its focal point by ``angle`` radians around ``axis`` (default: its up vector)."""
    axis = pose.view_up if axis is None else axis
    return replace(
        pose, position=pose.focal_point + rotate(pose.offset, axis, angle), view_up=rotate(pose.view_up, axis, angle)
    )


def follow_tau(speed: float) -> float:
    """The follow smoothing time constant (mission seconds) for a clip at ``speed`` mission s per video s."""
    return min(FOLLOW_SMOOTH_VIDEO_S * float(speed), FOLLOW_MAX_TAU_S)


def smooth_follow(
    target: Callable[[np.ndarray], np.ndarray], ets, tau_s: float, samples: int = FOLLOW_SAMPLES
) -> np.ndarray:
    """Exponential moving average of ``target`` over the past ``3 tau_s`` of mission time at each of ``ets``.

    A pure function of ET: the same ET gives the same point whatever the frame rate. ``target`` takes an array
    of ETs and returns (N, 3) positions in render units, NaN where the vehicle does not exist (outside its
    kernels); it is called once, for every ET and lag together. Returns (len(ets), 3), NaN where no sample of
    the window had a position.
    """
    ets = np.atleast_1d(np.asarray(ets, float))
    if tau_s <= 0:
        return np.asarray(target(ets), float).reshape(len(ets), 3)
    lags = np.linspace(0.0, 3.0 * tau_s, samples)
    pts = np.asarray(target((ets[:, None] - lags[None, :]).ravel()), float).reshape(len(ets), samples, 3)
    ok = np.isfinite(pts).all(axis=2)
    weights = np.exp(-lags / tau_s)[None, :] * ok
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("nk,nkd->nd", weights, np.where(ok[..., None], pts, 0.0)) / total[:, None]


# ----------------------------------------------------------------------------------------------------------------
# Paths


class CameraPath(Protocol):
    def pose(self, et: float, base: Pose) -> Pose: ...


@dataclass
class Preset:
    def pose(self, et: float, base: Pose) -> Pose:
        return base


@dataclass
class Orbit:
    start_et: float
    end_et: float
    turns: float = DEFAULT_ORBIT_TURNS

    def pose(self, et: float, base: Pose) -> Pose:
        span = max(self.end_et - self.start_et, 1e-9)
        return orbit(base, 2 * math.pi * self.turns * (et - self.start_et) / span)


@dataclass
class Follow:
    """Smooth follow of a vehicle: ``target(ets) -> (N, 3)`` positions in the view's render units (NaN where
    it does not exist; there the view's own camera is kept)."""

    target: Callable[[np.ndarray], np.ndarray]
    tau_s: float
    distance_factor: float = FOLLOW_DISTANCE

    def __post_init__(self):
        self._table: dict[float, np.ndarray] = {}

    def prepare(self, ets) -> None:
        """Compute the focal points of all these frame ETs in one vectorised query."""
        ets = np.atleast_1d(np.asarray(ets, float))
        self._table.update(zip(ets.tolist(), smooth_follow(self.target, ets, self.tau_s)))

    def pose(self, et: float, base: Pose) -> Pose:
        focal = self._table.get(float(et))
        if focal is None:
            focal = smooth_follow(self.target, et, self.tau_s)[0]
        if not np.all(np.isfinite(focal)):
            return base  # the vehicle does not exist at this time: keep the view's own camera
        direction = _unit(base.offset)
        return Pose(focal + self.distance_factor * base.distance * direction, focal, base.view_up, base.view_angle)


@dataclass
class FlyTo:
    """Ease from ``start(et)`` (the previous view's camera, in this view's units; None: cut) into ``then``'s pose."""

    start: Callable[[float], Pose | None]
    start_et: float
    end_et: float
    then: CameraPath

    def pose(self, et: float, base: Pose) -> Pose:
        target = self.then.pose(et, base)
        span = max(self.end_et - self.start_et, 1e-9)
        u = ease((et - self.start_et) / span)
        start = self.start(et) if u < 1.0 else None
        return target if start is None else interpolate(start, target, u)


@dataclass
class Story:
    """The director's camera (:mod:`viewer.director`): ``track`` holds the camera relative to its subject, and
    ``target(name)(ets)`` gives the subject's drawn positions in the view's render units (NaN where it is absent)."""

    track: object
    target: Callable[[str], Callable[[np.ndarray], np.ndarray]]

    def pose(self, et: float, base: Pose) -> Pose:
        name = self.track.subject[self.track.index(et)]
        subject = np.asarray(self.target(name)(np.array([et])), float)[0]
        if not np.all(np.isfinite(subject)):
            return base
        position, focal, up, angle = self.track.pose_at(et, subject)
        return Pose.of(position, focal, up, angle)


def flyto_span(kind: str, speed: float, segment_s: float, turn_deg: float = 0.0) -> float:
    """Mission seconds of the fly-to that starts a segment. Into a story shot: the director's ``move_s`` video
    seconds (the browser's move too), longer where the view must turn by ``turn_deg`` (the eased move peaks at 1.5×
    its mean rate: at most ``FLYTO_MAX_DEG_S`` degrees a video second); it may outlast a short shot (the next shot
    then starts from where the move has got to). Otherwise FLYTO_VIDEO_S, at most half the segment."""
    if kind == "story":
        from viewer.director.shots import load_director

        return max(load_director().move_s, 1.5 * abs(turn_deg) / FLYTO_MAX_DEG_S) * speed
    return min(FLYTO_VIDEO_S * speed, 0.5 * segment_s)


def turn_deg(a: Pose, b: Pose) -> float:
    """The angle (degrees) between the viewing directions of two poses."""
    c = float(np.dot(_unit(a.offset), _unit(b.offset)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"follow:CHANGE6_LANDER"`` -> ``("follow", "CHANGE6_LANDER")``; checks the kind."""
    kind, _, arg = str(spec).partition(":")
    kind = kind.strip().lower()
    if kind not in ("story", "preset", "orbit", "follow", "auto"):
        raise InputError(f"--camera {shown(spec)}: choose story, auto, preset, orbit[:TURNS] or follow[:VEHICLE]")
    if kind == "orbit" and arg:
        try:
            turns = float(arg)
        except ValueError:
            raise InputError(f"--camera {shown(spec)}: TURNS must be a number, e.g. orbit:0.5") from None
        if not math.isfinite(turns) or abs(turns) > MAX_ORBIT_TURNS:
            raise InputError(
                f"--camera {shown(spec)}: TURNS must be a finite number of at most {MAX_ORBIT_TURNS} turns"
            )
    if kind == "follow" and arg:
        from viewer.constants import VEHICLES

        craft = [v for v in VEHICLES if v != "CHANGE6_SITE"]
        if arg not in craft:
            raise InputError(f"--camera {shown(spec)}: cannot follow {shown(arg)}; choose one of {', '.join(craft)}")
    return kind, (arg or None)


@dataclass(frozen=True)
class Segment:
    """A stretch of the clip shown in one view with one camera spec; ``flyto`` if it starts with a fly-to."""

    start_et: float
    end_et: float
    view: str
    camera: str
    flyto: bool = False


def plan(
    start_et: float,
    end_et: float,
    *,
    view: str | None,
    camera: str,
    phase_at: Callable[[float], object],
    phase_bounds: Sequence[float] = (),
) -> list[Segment]:
    """The segments of a clip from ``start_et`` to ``end_et``.

    With an explicit ``view`` and a non-auto ``camera``: one segment. Otherwise, per phase (``phase_at(et)``
    returns an object with ``.id``), from :func:`viewer.phase_views.camera_for`; an explicit ``view`` or ``camera`` overrides
    that part of the table. A change of view starts with a fly-to.
    """
    kind, _ = parse_spec(camera)
    if kind == "story":
        return story_plan(start_et, end_et) if view is None else [Segment(start_et, end_et, view, "preset")]
    if view is not None and kind != "auto":
        return [Segment(start_et, end_et, view, camera)]
    cuts = sorted({float(start_et), *(float(t) for t in phase_bounds if start_et < t < end_et)})
    segs: list[Segment] = []
    for i, t0 in enumerate(cuts):
        t1 = cuts[i + 1] if i + 1 < len(cuts) else float(end_et)
        phase = phase_at(0.5 * (t0 + t1))
        v, c = camera_for(getattr(phase, "id", None))
        v = view or v
        c = c if kind == "auto" else camera
        if segs and segs[-1].view == v and segs[-1].camera == c:
            segs[-1] = replace(segs[-1], end_et=t1)
        else:
            segs.append(Segment(t0, t1, v, c, flyto=bool(segs)))
    return segs


def story_plan(start_et: float, end_et: float) -> list[Segment]:
    """One segment per director shot in the range; a shot whose transition is ``move`` starts with a fly-to from
    the previous shot's camera (a ``cut`` just changes)."""
    from viewer.director.shots import load_director

    director = load_director()
    segs: list[Segment] = []
    for i, shot in enumerate(director.shots):
        nxt = director.shots[i + 1].start_et if i + 1 < len(director.shots) else float("inf")
        a, b = max(shot.start_et, float(start_et)), min(nxt, float(end_et))
        if b <= a:
            continue
        segs.append(Segment(a, b, shot.view, "story", flyto=bool(segs) and shot.transition == "move"))
    return segs or [Segment(float(start_et), float(end_et), director.shot_at(start_et).view, "story")]
