"""The story camera sampled over the mission: per shot, moments at the view's step, each with a camera pose.

:func:`camera_track` asks SPICE for the subject, its partner, the context body and the Sun in the shot's view
(its frame, origin and units), chooses the camera with :mod:`viewer.director.framing`, and returns a
:class:`CameraTrack` of plain arrays. The camera is stored relative to the subject (``offset`` = camera - subject,
``aim_offset`` = focal point - subject), so a renderer adds the subject's own position at the moment it draws and the
subject stays exactly where the director put it. The browser animates from these samples; stills and videos call
:meth:`CameraTrack.pose_at`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer import cache as disk_cache
from viewer import ephemeris, kernels
from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM, MOON_RADIUS_KM
from viewer.director.framing import Geometry, choose, focal_points, smooth_directions, smooth_shifts
from viewer.director.shots import Director, Shot, load_director
from viewer.errors import KernelError
from viewer.mission import load_mission
from viewer.scene.views import View, load_views

BODY_RADII_KM = {"MOON": MOON_RADIUS_KM, "EARTH": EARTH_EQUATORIAL_RADIUS_KM}
VIEW_STEP_S = {"system": 1800.0, "lunar": 60.0, "site": 5.0, "return": 20.0}
ASPECT = 16 / 9


@dataclass
class CameraTrack:
    """Samples of the story camera: ``et`` (N,), ``shot`` index (N,), and per sample the subject's NAIF name, the
    camera and focal point relative to the subject, the up vector (render units of the shot's view) and whether a
    body hides the subject from every camera position nearby (``hidden``)."""

    director: Director
    et: np.ndarray
    shot: np.ndarray
    subject: list[str]
    offset: np.ndarray
    aim_offset: np.ndarray
    up: np.ndarray
    hidden: np.ndarray

    def index(self, et: float) -> int:
        """The sample at or before ``et`` (clamped to the track)."""
        return int(np.clip(np.searchsorted(self.et, float(et), side="right") - 1, 0, len(self.et) - 1))

    def shot_at(self, et: float) -> Shot:
        return self.director.shots[int(self.shot[self.index(et)])]

    def relative_pose(self, et: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(camera - subject, focal - subject, up) at ``et``, interpolated between samples of the same shot."""
        i = self.index(et)
        j = min(i + 1, len(self.et) - 1)
        if j == i or self.shot[j] != self.shot[i] or self.et[j] <= self.et[i]:
            return self.offset[i], self.aim_offset[i], self.up[i]
        u = float(np.clip((et - self.et[i]) / (self.et[j] - self.et[i]), 0.0, 1.0))

        def lerp(a):
            return a[i] + u * (a[j] - a[i])

        return lerp(self.offset), lerp(self.aim_offset), _unit(lerp(self.up))

    def pose_at(self, et: float, subject_position: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(camera position, focal point, view up, view angle) at ``et`` given the subject's drawn position."""
        off, aim, up = self.relative_pose(et)
        s = np.asarray(subject_position, float)
        return s + off, s + aim, up, self.director.view_angle_deg


def _unit(v):
    v = np.asarray(v, float)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def _covered(name: str, ets: np.ndarray) -> np.ndarray:
    """Where the kernels give ``name`` a state: always for the Earth and the Moon (the generic kernels span the
    mission), within its SPK's coverage for a vehicle."""
    if name in BODY_RADII_KM:
        return np.ones(ets.shape, dtype=bool)
    kernels.furnish()
    try:
        a, b = kernels.coverage(name)
    except KernelError:
        return np.zeros(ets.shape, dtype=bool)
    return (ets >= a) & (ets <= b)


def _pos(target: str, ets: np.ndarray, view: View) -> np.ndarray:
    return ephemeris.positions(target, ets, observer=view.center, frame=view.frame, check=False) * view.units_per_km


def geometry(shot: Shot, view: View, ets: np.ndarray) -> tuple[Geometry, list[str]]:
    """The framing inputs of ``shot`` at ``ets`` in ``view``, and the subject used at each moment."""
    ets = np.asarray(ets, float)
    names = np.full(ets.shape, shot.subjects[0], dtype=object)
    for name in reversed(shot.subjects):
        names[_covered(name, ets)] = name
    subject = np.full((len(ets), 3), np.nan)
    velocity = np.zeros((len(ets), 3))
    context_name = view.center if shot.context == "TERRAIN" else shot.context
    for name in set(names):
        m = names == name
        ok = m & _covered(name, ets)
        if ok.any():
            subject[ok] = _pos(name, ets[ok], view)
            st = ephemeris.states(name, ets[ok], observer=context_name, frame=view.frame, check=False)
            velocity[ok] = st[:, 3:]
    partner = np.full((len(ets), 3), np.nan)
    if len(shot.subjects) > 1:
        other = shot.subjects[1]
        ok = _covered(other, ets)
        if ok.any():
            partner[ok] = _pos(other, ets[ok], view)
    sun = _unit(_pos("SUN", ets, view))
    if shot.context == "TERRAIN":
        context, radius, bodies = np.zeros((len(ets), 3)), 0.0, []
    else:
        context = _pos(shot.context, ets, view)
        radius = BODY_RADII_KM[shot.context] * view.units_per_km
        bodies = [(_pos(b, ets, view), r * view.units_per_km) for b, r in BODY_RADII_KM.items()]
    g = Geometry(subject, velocity, partner, context, radius, sun, bodies, ground=shot.context == "TERRAIN")
    return g, list(names)


def _up_vectors(cam_dir: np.ndarray, g: Geometry, preset_up) -> np.ndarray:
    aim = -cam_dir
    up = np.tile(np.asarray(preset_up, float), (len(aim), 1))
    up = up - np.sum(up * aim, axis=1, keepdims=True) * aim
    weak = np.linalg.norm(up, axis=1) < 0.2  # looking almost straight along the preset's up: use the Sun side
    if weak.any():
        alt = g.sun[weak] - np.sum(g.sun[weak] * aim[weak], axis=1, keepdims=True) * aim[weak]
        up[weak] = alt
    return _unit(up)


def shot_samples(director: Director, shot: Shot, start_et: float, end_et: float, step_s: float | None = None):
    """(ets, subjects, offsets, aim offsets, ups, hidden) of one shot over [start_et, end_et)."""
    view = load_views()[shot.view]
    step = step_s or VIEW_STEP_S.get(shot.view, director.step_s)
    n = max(2, int(math.ceil((end_et - start_et) / step)) + 1)
    ets = np.linspace(start_et, end_et, n)
    g, names = geometry(shot, view, ets)
    ok = np.isfinite(g.subject).all(axis=1)
    half_fov = math.radians(director.view_angle_deg) / 2
    dirs, hidden = choose(shot.framing, _fill(g), shot.distance, half_fov, ets, director.max_turn_deg_s)
    dirs = smooth_directions(dirs)
    focal = focal_points(dirs, _fill(g), shot.distance, half_fov, ASPECT)
    offset = shot.distance * dirs
    aim = smooth_shifts(focal - _fill(g).subject)
    up = _up_vectors(dirs, g, view.camera.view_up)
    return ets[ok], [nm for nm, k in zip(names, ok) if k], offset[ok], aim[ok], up[ok], hidden[ok]


def _fill(g: Geometry) -> Geometry:
    """``g`` with missing subject positions filled by the nearest known one (so the maths stays finite)."""
    s = g.subject
    bad = ~np.isfinite(s).all(axis=1)
    if not bad.any() or bad.all():
        return g
    good = np.flatnonzero(~bad)
    nearest = good[np.clip(np.searchsorted(good, np.arange(len(s))), 0, len(good) - 1)]
    filled = np.where(bad[:, None], s[nearest], s)
    return Geometry(filled, g.velocity, g.partner, g.context, g.context_radius, g.sun, g.bodies, g.ground)


def _shot_end(director: Director, i: int) -> float:
    if i + 1 < len(director.shots):
        return director.shots[i + 1].start_et
    ends = []
    for name in director.shots[i].subjects:
        if name in BODY_RADII_KM:  # a body is there to the end of the mission
            ends.append(load_mission().span[1])
            continue
        kernels.furnish()
        try:
            ends.append(kernels.coverage(name)[1])
        except KernelError:
            continue
    return max(ends) if ends else director.shots[i].start_et + 86400.0


def whole_shot(director: Director, i: int) -> dict[str, np.ndarray]:
    """Shot ``i`` sampled from its start to the next shot's start (cached on disk: viewer.cache, kind director)."""
    shot = director.shots[i]
    a, b = shot.start_et, _shot_end(director, i)
    inputs = {
        "shot": shot.__dict__,
        "span": [a, b],
        "director": {k: v for k, v in director.__dict__.items() if k != "shots"},
    }
    key = disk_cache.make_key(inputs, [Path(__file__).parent, *map(Path, kernels.loaded_kernels())])
    name = f"shot-{i:02d}"
    got = disk_cache.read_arrays("director", name, key, required=REQUIRED)
    if got is not None:
        return got
    ets, names, offset, aim, up, hidden = shot_samples(director, shot, a, b)
    arrays = {
        "et": ets,
        "subject": np.asarray(names, dtype="U32"),
        "offset": offset,
        "aim": aim,
        "up": up,
        "hidden": hidden.astype(bool),
    }
    disk_cache.write_arrays("director", name, key, arrays)
    return arrays


REQUIRED = ("et", "subject", "offset", "aim", "up", "hidden")


def camera_track(start_et: float, end_et: float, director: Director | None = None) -> CameraTrack:
    """The story camera from ``start_et`` to ``end_et``: each shot sampled whole (so a still and a video frame of
    the same moment agree), then cut to the range."""
    director = director or load_director()
    parts = []
    nearest = director.shots.index(director.shot_at(start_et))  # a moment past every shot keeps the last one
    for i, shot in enumerate(director.shots):
        if (shot.start_et >= end_et or _shot_end(director, i) <= start_et) and i != nearest:
            continue
        w = whole_shot(director, i)
        keep = (w["et"] >= start_et) & (w["et"] <= end_et)
        idx = np.flatnonzero(keep)
        if len(idx) == 0:
            idx = np.array([int(np.clip(np.searchsorted(w["et"], start_et), 0, len(w["et"]) - 1))])
        lo, hi = max(idx[0] - 1, 0), min(idx[-1] + 2, len(w["et"]))  # one sample either side, to interpolate
        parts.append((i, {k: v[lo:hi] for k, v in w.items()}))
    if not parts:
        raise ValueError(f"no shot covers {start_et}..{end_et}")

    def cat(k):
        return np.concatenate([p[k] for _, p in parts])

    shot_idx = np.concatenate([np.full(len(p["et"]), i) for i, p in parts])
    subjects = [str(n) for _, p in parts for n in p["subject"]]
    return CameraTrack(director, cat("et"), shot_idx, subjects, cat("offset"), cat("aim"), cat("up"), cat("hidden"))
