"""Adaptive sample epochs along a vehicle's path for one view, and the trails drawn from them (no VTK).

:func:`sample_ets` keeps the curve through the samples within ``tolerance_px`` pixels of the view preset (Hermite
error for the browser tracks, chord sagitta for the trail polylines), steps under ``max_step_s``, and adds samples
``dense_step_s`` apart around every burn, powered arc, landing and docking listed in
``kernels/change6_manoeuvres.json``. :func:`sample_trail` turns them into a view's trail points;
:func:`live_trail` resamples the followed vehicle's trail around the current time (follow view).
"""

from __future__ import annotations

import numpy as np

from viewer.epochs import et_from_utc
from viewer.scene.kinematics import Kinematics, coverage, rotations

DENSE_EVENT_WORDS = ("land", "touchdown", "dock", "capture", "separat", "liftoff", "ascent", "entry", "impact")
PAD_S = 120.0  # dense sampling this long either side of a burn or event
DENSE_STEP_S = 4.0  # sample step inside those windows
POWERED_SAMPLES = 240  # samples across a powered arc (at least 1 s apart)
MAX_SAMPLES = 6000  # per vehicle and view, before the dense windows: keeps one view's tracks near 1 MB of JSON


def _span(kin: Kinematics, vehicle: str, view) -> tuple[float, float] | None:
    cov = coverage(vehicle)
    if cov is None:
        return None
    t0 = et_from_utc(view.tracks_start) if view.tracks_start else cov[0]
    t1 = et_from_utc(view.tracks_end) if view.tracks_end else cov[1]
    t0, t1 = max(t0, cov[0]), min(t1, cov[1])
    return (t0, t1) if t1 > t0 else None


def view_span(kin: Kinematics, view) -> tuple[float, float] | None:
    """The span of the view's tracks: the union of its vehicles' spans."""
    spans = [s for s in (_span(kin, v, view) for v in kin.vehicles) if s]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def pixel_km(view, lines: int = 1080) -> float:
    """Size of one pixel at the view preset's focus, km (for a picture ``lines`` pixels high)."""
    cam = view.camera
    distance_km = view.scale_km or cam.distance / view.units_per_km
    return distance_km * 2.0 * np.tan(np.radians(cam.view_angle_deg) / 2.0) / lines


def pre_step(view) -> float:
    return float(np.clip(view.max_step_s / 16.0, 30.0, 240.0))  # fine enough to catch a periapsis


def pre_grid(t0: float, t1: float, step: float) -> np.ndarray:
    """``t0``, the multiples of ``step`` strictly between, ``t1``: every vehicle's first pass shares the inner
    epochs, so the view centre's states are read once for all of them (:func:`centre_states`)."""
    inner = np.arange(np.floor(t0 / step) + 1.0, np.ceil(t1 / step)) * step
    return np.concatenate([[t0], inner[(inner > t0) & (inner < t1)], [t1]])


def centre_states(kin: Kinematics, t0: float, t1: float, step: float):
    """A function of epochs giving the view centre's states relative to the Moon (NaN as 0): the multiples of
    ``step`` inside [t0, t1] are read from SPICE once, here, any other epoch when asked."""
    grid = pre_grid(t0, t1, step)[1:-1]
    table = np.nan_to_num(kin.states_moon(kin.center, grid)) if len(grid) else np.zeros((0, 6))
    k0 = np.floor(t0 / step) + 1.0

    def states(ets: np.ndarray) -> np.ndarray:
        k = np.rint(ets / step)
        i = (k - k0).astype(np.int64)
        on = (i >= 0) & (i < len(table)) & (np.abs(k * step - ets) < 1e-6)
        out = np.empty((len(ets), 6))
        out[on] = table[i[on]]
        if not on.all():
            out[~on] = np.nan_to_num(kin.states_moon(kin.center, ets[~on]))
        return out

    return states


def sample_ets(
    kin: Kinematics,
    vehicle: str,
    view,
    span: tuple[float, float] | None = None,
    tolerance_px: float | None = None,
    hermite: bool = True,
    centre_states=None,
) -> np.ndarray:
    """Adaptive sample epochs of ``vehicle`` for ``view``.

    The error of the curve through the samples stays under ``tolerance_px`` pixels of the view preset (scaled up
    with the distance from the view's origin, as perspective does) and the step under ``max_step_s``:

    - ``hermite=True`` (browser tracks, interpolated with cubic Hermite): ``r·(ωh)⁴/384`` with ``ω = 2|a|/|v|``;
    - ``hermite=False`` (trails, drawn as polylines): the chord's sagitta ``|a|·h²/8``.

    ``a`` is the acceleration from SPICE velocities. Steps are never shorter than ``dense_step_s``, and at most
    ``MAX_SAMPLES`` come from this rule (the tolerance is relaxed if it asks for more). Dense samples are added
    around burns, powered arcs and key events (the manifest of the trajectory build). ``centre_states`` (from
    :func:`centre_states`) shares the view centre's states between the vehicles of one export.
    """
    span = span or _span(kin, vehicle, view)
    if span is None:
        return np.zeros(0)
    tol_km = (view.tolerance_px if tolerance_px is None else tolerance_px) * pixel_km(view)
    t0, t1 = span
    pre = pre_grid(t0, t1, pre_step(view))
    st = np.nan_to_num(kin.states_moon(vehicle, pre))
    if kin.center != "MOON":
        st = st - (centre_states(pre) if centre_states else np.nan_to_num(kin.states_moon(kin.center, pre)))
    acc = np.zeros(len(pre))
    if len(pre) > 2:
        dv = np.linalg.norm(np.diff(st[:, 3:], axis=0), axis=1) / np.diff(pre)
        acc[1:-1] = np.maximum(dv[1:], dv[:-1])
        acc[0], acc[-1] = dv[0], dv[-1]
    far = np.linalg.norm(st[:, :3], axis=1) / (view.scale_km or view.camera.distance / view.units_per_km)
    tol = tol_km * np.maximum(1.0, far if not kin.follow else 1.0)
    if hermite:
        speed = np.maximum(np.linalg.norm(st[:, 3:], axis=1), 1e-9)
        omega = 2.0 * acc / speed  # ×2: on eccentric arcs the circular estimate falls short by up to ~8× (tested)
        radius = speed / np.maximum(omega, 1e-12)
        rate = omega / (384.0 * tol / radius) ** 0.25
    else:
        rate = np.sqrt(acc / (8.0 * tol))
    rate = np.clip(np.nan_to_num(rate), 1.0 / view.max_step_s, 1.0 / view.dense_step_s)  # samples per second
    phase = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(pre))])
    if phase[-1] > MAX_SAMPLES:  # the budget wins over the tolerance (said in the docstring)
        phase *= MAX_SAMPLES / phase[-1]
    n = int(np.ceil(phase[-1]))
    base = np.interp(np.linspace(0, phase[-1], max(n, 1) + 1), phase, pre)
    parts = [base, np.array([t0, t1])]
    parts += _dense(kin, vehicle, t0, t1, view.dense_step_s)
    ets = np.unique(np.concatenate(parts))
    return ets[(ets >= t0) & (ets <= t1)]


def _dense(kin: Kinematics, vehicle: str, t0: float, t1: float, step_s: float = DENSE_STEP_S) -> list[np.ndarray]:
    """Dense samples around ``vehicle``'s burns, powered arcs, arc joints and key events (its stack's included)."""
    out = []

    def with_vehicle(other: str, et: float) -> bool:
        if other == vehicle:
            return True
        if other not in kin.vehicles:
            return False
        a = kin.states_moon(vehicle, np.array([et]))[0, :3]
        b = kin.states_moon(other, np.array([et]))[0, :3]
        return bool(np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.linalg.norm(a - b) < kin.stack_tol_km)

    for m in kin.manoeuvres:
        et, dur = float(m["et"]), float(m.get("duration_s", 0.0))
        if et + dur < t0 - PAD_S or et > t1 + PAD_S or not with_vehicle(m.get("vehicle", ""), et):
            continue
        step = step_s if dur == 0 else float(np.clip(dur / POWERED_SAMPLES, step_s, max(step_s, 30.0)))
        out.append(np.arange(et - PAD_S, et + dur + PAD_S, step))
    for a in kin.arcs:
        if vehicle not in a.get("vehicles", ()):
            continue
        a0, a1 = float(a["start_et"]), float(a["end_et"])
        out.append(np.array([a0, a1]))
        if a.get("kind") in ("powered", "atmosphere") and a1 > t0 and a0 < t1:
            step = float(np.clip((a1 - a0) / POWERED_SAMPLES, step_s, max(step_s, 30.0)))
            out.append(np.arange(a0, a1, step))
    for e in kin.events:
        eid = str(e.get("id", "")).lower()
        et = float(e.get("et", np.nan))
        if not np.isfinite(et) or et < t0 - PAD_S or et > t1 + PAD_S:
            continue
        if any(w in eid for w in DENSE_EVENT_WORDS) and with_vehicle(e.get("vehicle", vehicle), et):
            out.append(np.arange(et - PAD_S, et + PAD_S, step_s / 2))
    return out


def sample_trail(
    kin: Kinematics, v: str, view, tolerance_factor: float = 1.0, span: tuple[float, float] | None = None
) -> dict | None:
    """Trail samples of ``v`` for ``view`` over ``span`` (default: the view's tracks span): ``ets``, ``points``
    (render units relative to the view's centre) and ``velocities`` (render units per second in the view's frame,
    for cubic Hermite between the samples)."""
    tol = view.trail_tolerance_px * tolerance_factor
    ets = sample_ets(kin, v, view, span=span, tolerance_px=tol, hermite=False)
    if len(ets) < 2:
        return None
    st = kin.states_moon(v, ets)
    c = kin.states_moon(kin.center, ets) if kin.center != "MOON" else np.zeros_like(st)
    pts, vel = view_states(st - c, ets, view.frame, view.units_per_km, max_step_s=600.0)
    ok = np.isfinite(pts[:, 0]) & _free_or_near_free(kin, v, ets, st, view)
    return {"ets": ets[ok], "points": pts[ok], "velocities": vel[ok]}


def trail_spans(kin: Kinematics, view) -> dict[str, tuple]:
    """Per vehicle: (its coverage, its tracks span in ``view``), either None, for :func:`trail_stretch`."""
    return {v: (coverage(v), _span(kin, v, view)) for v in kin.vehicles}


def trail_stretch(spans: tuple, view, et: float) -> tuple[float, float] | None:
    """The stretch of a vehicle's coverage whose trail a still at ``et`` draws, from ``spans`` (its entry of
    :func:`trail_spans`): None inside the view's tracks span (the trail sampled there, which the browser draws
    too); before or after it (a still may show any covered moment) the coverage up to the span, reaching a trail's
    length into it; the whole coverage where the span is empty."""
    cov, span = spans
    if cov is None or (span is not None and span[0] <= et <= span[1]):
        return None
    if span is None:
        return cov
    reach = view.trail_past_s + view.trail_future_s
    a, b = (cov[0], min(span[0] + reach, cov[1])) if et < span[0] else (max(span[1] - reach, cov[0]), cov[1])
    return (a, b) if b > a else None


def view_states(rel: np.ndarray, ets: np.ndarray, frame: str, units_per_km: float, max_step_s=None):
    """Positions and velocities (render units, per second) in ``frame`` of the J2000 states ``rel`` (N,6): the
    velocity includes the frame's own turning (``Ṙ·r``, from rotations a second either side)."""
    rot = rotations("J2000", frame, ets, max_step_s=max_step_s)
    pos = np.einsum("nij,nj->ni", rot, rel[:, :3])
    vel = np.einsum("nij,nj->ni", rot, rel[:, 3:])
    if frame != "J2000":
        d_rot = (
            rotations("J2000", frame, ets + 1.0, max_step_s) - rotations("J2000", frame, ets - 1.0, max_step_s)
        ) / 2.0
        vel += np.einsum("nij,nj->ni", d_rot, rel[:, :3])
    return pos * units_per_km, vel * units_per_km


def _free_or_near_free(kin: Kinematics, v: str, ets: np.ndarray, st: np.ndarray, view) -> np.ndarray:
    """Trail points worth keeping: where ``v`` flies free, or within a trail's length of such a time (while it
    rides in a stack its parent draws the same curve, and its own trail is hidden)."""
    riding = np.zeros(len(ets), bool)
    for parent, _off in kin.parents.get(v, []):
        sp = kin.states_moon(parent, ets)
        riding |= np.linalg.norm(np.nan_to_num(st[:, :3] - sp[:, :3], nan=1e9), axis=1) < kin.stack_tol_km
    free_t = ets[~riding]
    if len(free_t) == 0:
        return np.zeros(len(ets), bool)
    i = np.clip(np.searchsorted(free_t, ets), 1, len(free_t) - 1) if len(free_t) > 1 else np.zeros(len(ets), int)
    gap = np.minimum(np.abs(ets - free_t[i]), np.abs(ets - free_t[np.maximum(i - 1, 0)]))
    return ~riding | (gap <= view.trail_past_s + view.trail_future_s)


def live_trail(kin: Kinematics, v: str, view, et: float, n: int) -> dict[str, dict[str, np.ndarray]]:
    """The follow view's trail of ``v`` around ``et``: ``past`` and ``future`` parts (denser near now), each with
    ascending ``ets``, ``points`` (render units relative to ``v`` at ``et``) and ``velocities``; a part with fewer
    than two covered points is left out."""
    s = np.linspace(0.0, 1.0, n) ** 2
    out = {}
    for part, span, sign in (("past", view.trail_past_s, -1.0), ("future", view.trail_future_s, 1.0)):
        if span <= 0:
            continue
        ets = et + sign * span * s
        st = kin.states_moon(v, ets)
        ok = np.isfinite(st[:, 0])
        if ok.sum() < 2:
            continue
        rel = st[ok] - np.concatenate([st[0, :3], np.zeros(3)])  # positions relative to now, velocities as they are
        pts, vel = view_states(rel, ets[ok], view.frame, view.units_per_km)
        order = np.argsort(ets[ok])
        out[part] = {"ets": ets[ok][order], "points": pts[order], "velocities": vel[order]}
    return out
