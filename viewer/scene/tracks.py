"""Sample tracks for the browser: the web app moves vtk.js actors from these, with no server round trip per frame.

:func:`export_tracks` (also ``MissionScene.export_tracks(view)``) returns one JSON-serialisable dict for the scene's
current view. Actor keys are the names of the actors in the render window, so the web app finds the vtk.js actors
by name after syncing the render window once (design rule 4).

Format ``change6-tracks/1``::

    {
      "format": "change6-tracks/1",
      "view": "lunar", "frame": "J2000", "unit": "km", "center": "MOON", "follow": null,
      "spacecraft_scale": 15000, "t0": <ET>, "t1": <ET>, "utc0": "...Z", "utc1": "...Z",
      "actors": {
        "<actor name>": {                       # earth, moon, orbiter, returner, lander, ascender, queqiao2
          "naif": "CHANGE6_ORBITER",
          "scale": <render units per model unit>,   # models: metres; earth/moon: km
          "t":   <array float64 (N,)>,          # ET, strictly increasing
          "p":   <array float32 (N,3)>,         # position, render units, relative to the view's origin
          "v":   <array float32 (N,3)>,         # velocity, render units per second (for cubic Hermite)
          "q":   <array int16 (N,4)>,           # orientation quaternion (w, x, y, z) × 32767, body -> view frame
          "vis": <array uint8 (N,)>,            # 1 visible, 0 hidden (hold the previous value between samples)
          "stack": {"t": <float64 (R,)>, "parent": ["<actor name>" or "", ...], "offset_m": <float32 (R,3)>}
        }, ...                                  # vehicles only: stack runs, each holding until the next ``t``
      },
      "sun":    {"t": <float64 (M,)>, "d": <float32 (M,3)>},   # unit vector towards the Sun, view frame
      "trails": {"trail:<actor>": {"t": <float64 (K,)>,   # ET of each polyline point
                                    "past_s": s, "future_s": s, "shift": <"<actor name>" or null>},
                 "trail-future:<actor>": {... the same ...}},      # compact=True: see the client rules
      "links":  {"link:<id>": {"a": "<actor name or station id>", "b": "...",
                               "t": <float64 (L,)>, "open": <uint8 (L,)>}}   # state holds until the next sample
    }

An *array* is ``{"dtype": "float32", "shape": [N, 3], "b64": "<little-endian bytes, base64>"}`` (``encoding=
"base64"``, the default and the compact form), or a nested list (``encoding="list"``).

Client rules:

- An actor's user matrix is ``T(p) · R(q) · S(scale)``. Interpolate ``p`` with cubic Hermite using ``v`` (within
  a pixel of the preset for the sampling here), ``q`` with slerp; take ``vis`` from the sample at or before ``t``.
- ``compact=True``: while a vehicle rides in a stack (its ``stack`` run names a parent) its track keeps only the
  samples where its stack changes: draw it at the parent's pose, translated by ``R_parent · offset_m · scale``
  and turned like the parent. The default (``compact=False``) samples riders fully, so ``p``/``q`` are complete.
- Trail actors hold their whole polyline. ``trail:<actor>`` draws the past ``past_s`` (solid) and
  ``trail-future:<actor>`` (same points) the next ``future_s`` (faint): set each one's line cells to its index
  range. Default: both trail actors have an entry whose float64 ``t`` is the ET of each point; ``compact=True``:
  one entry ``trail:<actor>`` with ``"future": "trail-future:<actor>"``, ``"t0"`` and float32 ``t`` (seconds
  after ``t0``). The server hides a vehicle's trails while it rides in a stack (the parent's is the same curve).
- The follow view has no ``trails``: ``live_trail`` names the followed actor and the centre body's actor, and the
  trail point for time ``t`` is ``p_body(now) − p_body(t)`` from the body's track.
- Add the Sun light on the client from ``sun`` (Panel's VTK pane sends no vtkLight).

Sampling is adaptive (:func:`sample_ets`): the curve through the samples stays within ``tolerance_px`` pixels of
the view preset (Hermite error for tracks, chord sagitta for trails), steps stay under ``max_step_s``, and samples
``dense_step_s`` apart are added around every burn, powered arc, landing and docking listed in
``kernels/change6_manoeuvres.json``.
"""

from __future__ import annotations

import base64

import numpy as np

from viewer.scene.kinematics import Kinematics, coverage, quaternions

FORMAT = "change6-tracks/1"
DENSE_EVENT_WORDS = ("land", "touchdown", "dock", "capture", "separat", "liftoff", "ascent", "entry", "impact")
PAD_S = 120.0  # dense sampling this long either side of a burn or event
DENSE_STEP_S = 4.0  # sample step inside those windows
POWERED_SAMPLES = 240  # samples across a powered arc (at least 1 s apart)
MAX_SAMPLES = 6000  # per vehicle and view, before the dense windows: keeps one view's tracks near 1 MB of JSON


def _span(kin: Kinematics, vehicle: str, view) -> tuple[float, float] | None:
    from viewer.epochs import et_from_utc

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


def _pre_step(view) -> float:
    return float(np.clip(view.max_step_s / 16.0, 30.0, 240.0))  # fine enough to catch a periapsis


def _pre_grid(t0: float, t1: float, step: float) -> np.ndarray:
    """``t0``, the multiples of ``step`` strictly between, ``t1``: every vehicle's first pass shares the inner
    epochs, so the view centre's states are read once for all of them (:func:`_centre_states`)."""
    inner = np.arange(np.floor(t0 / step) + 1.0, np.ceil(t1 / step)) * step
    return np.concatenate([[t0], inner[(inner > t0) & (inner < t1)], [t1]])


def _centre_states(kin: Kinematics, t0: float, t1: float, step: float):
    """A function of epochs giving the view centre's states relative to the Moon (NaN as 0): the multiples of
    ``step`` inside [t0, t1] are read from SPICE once, here, any other epoch when asked."""
    grid = _pre_grid(t0, t1, step)[1:-1]
    table = np.nan_to_num(kin._states_moon(kin.center, grid)) if len(grid) else np.zeros((0, 6))
    k0 = np.floor(t0 / step) + 1.0

    def states(ets: np.ndarray) -> np.ndarray:
        k = np.rint(ets / step)
        i = (k - k0).astype(np.int64)
        on = (i >= 0) & (i < len(table)) & (np.abs(k * step - ets) < 1e-6)
        out = np.empty((len(ets), 6))
        out[on] = table[i[on]]
        if not on.all():
            out[~on] = np.nan_to_num(kin._states_moon(kin.center, ets[~on]))
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
    :func:`_centre_states`) shares the view centre's states between the vehicles of one export.
    """
    span = span or _span(kin, vehicle, view)
    if span is None:
        return np.zeros(0)
    tol_km = (view.tolerance_px if tolerance_px is None else tolerance_px) * pixel_km(view)
    t0, t1 = span
    pre = _pre_grid(t0, t1, _pre_step(view))
    st = np.nan_to_num(kin._states_moon(vehicle, pre))
    if kin.center != "MOON":
        st = st - (centre_states(pre) if centre_states else np.nan_to_num(kin._states_moon(kin.center, pre)))
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
        a = kin._states_moon(vehicle, np.array([et]))[0, :3]
        b = kin._states_moon(other, np.array([et]))[0, :3]
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


def _array(a: np.ndarray, dtype: str, encoding: str):
    a = np.ascontiguousarray(a, dtype=dtype)
    if encoding == "list":
        return a.tolist()
    return {
        "dtype": dtype,
        "shape": list(a.shape),
        "b64": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode("ascii"),
    }


def decode(item) -> np.ndarray:
    """Inverse of the array encoding (for tests and Python clients)."""
    if isinstance(item, list):
        return np.asarray(item)
    raw = base64.b64decode(item["b64"])
    return np.frombuffer(raw, dtype=np.dtype(item["dtype"]).newbyteorder("<")).reshape(item["shape"])


def export_tracks(
    scene, start_et: float | None = None, end_et: float | None = None, encoding: str = "base64", compact: bool = False
) -> dict:
    """Per-actor sample tracks of ``scene``'s current view (format in the module docstring).

    ``compact=True`` (within the 1 MB budget in every view) drops a riding vehicle's samples (the client composes
    them from ``stack``) and sends each trail's times once (``trail:<actor>`` only, float32 seconds after
    ``t0``). The default ``compact=False`` keeps the first form of this format, which the web app reads today:
    riders sampled fully, both trail actors listed with float64 absolute ``t`` (up to ~1.6× larger).
    """
    from viewer.epochs import utc_from_et

    view = scene.view
    kin = scene._kin
    span = view_span(kin, view)
    if span is None:
        return {"format": FORMAT, "view": view.name, "actors": {}, "sun": {}, "trails": {}, "links": {}}
    t0 = span[0] if start_et is None else max(span[0], float(start_et))
    t1 = span[1] if end_et is None else min(span[1], float(end_et))
    if view.window_s and start_et is None and end_et is None:
        mid = scene.et if scene.et is not None else t0 + view.window_s / 2
        t0, t1 = max(t0, mid - view.window_s / 2), min(t1, mid + view.window_s / 2)
    centre = _centre_states(kin, t0, t1, _pre_step(view)) if kin.center != "MOON" else None
    grids = {
        v: sample_ets(kin, v, view, (max(t0, c[0]), min(t1, c[1])), centre_states=centre)
        for v in kin.vehicles
        if (c := coverage(v)) and min(t1, c[1]) > max(t0, c[0])
    }
    body_step = min(view.max_step_s, 3600.0)
    body_grid = np.append(np.arange(t0, t1, body_step), t1)
    if kin.follow and kin.follow in grids:
        body_grid = np.union1d(body_grid, grids[kin.follow])
    union = np.unique(np.concatenate([body_grid] + list(grids.values())))
    poses = kin.poses(union, scale=scene.spacecraft_scale)
    m_to_units = view.units_per_m * scene.spacecraft_scale
    keep, stacks = {}, {}
    for v in kin.vehicles:
        parents = poses.stacked_on[v]
        riding = parents != ""
        # own samples while free, the parent's while riding (so a client may ignore the stack runs)
        mask = np.isin(union, grids.get(v, np.zeros(0))) & ~riding
        for parent in {p for p in parents if p} if not compact else ():
            mask |= (parents == parent) & keep.get(parent, np.zeros(len(union), bool))
        change = np.flatnonzero((np.diff(poses.visible[v].astype(np.int8)) != 0) | (parents[1:] != parents[:-1]))
        mask[change] = True
        mask[np.clip(change + 1, 0, len(union) - 1)] = True
        if poses.visible[v].any():
            mask[[0, -1]] = True
        keep[v] = mask
        runs = np.concatenate([[0], change + 1]) if len(union) else np.zeros(0, int)
        stacks[v] = {
            "t": _array(union[runs], "float64", encoding),
            "parent": [scene.vehicle_actor.get(p, "") for p in parents[runs]],
            "offset_m": _array(poses.offsets_m[v][runs], "float32", encoding),
        }
    actors = {}
    for v, mask in keep.items():
        if not mask.any():
            continue
        name = scene.vehicle_actor[v]
        actors[name] = _actor_track(v, m_to_units, union[mask], poses, mask, encoding)
        actors[name]["stack"] = stacks[v]
    body_mask = np.isin(union, body_grid)
    for body, name in (("EARTH", "earth"), ("MOON", "moon")):
        actors[name] = _actor_track(body, view.units_per_km, union[body_mask], poses, body_mask, encoding)
    out = {
        "format": FORMAT,
        "view": view.name,
        "frame": view.frame,
        "unit": view.unit,
        "center": kin.center,
        "follow": kin.follow,
        "spacecraft_scale": scene.spacecraft_scale,
        "t0": t0,
        "t1": t1,
        "utc0": utc_from_et(t0),
        "utc1": utc_from_et(t1),
        "actors": actors,
        "sun": {
            "t": _array(union[body_mask], "float64", encoding),
            "d": _array(poses.sun_dir[body_mask], "float32", encoding),
        },
        "trails": {},
        "links": {},
    }
    shift = None
    if kin.follow:  # the follow view's trail is live: the client draws the followed actor's own track around now
        out["live_trail"] = {
            "actor": scene.vehicle_actor[kin.follow],
            "body": {"MOON": "moon"}.get(kin.center, "earth"),
            "past_s": view.trail_past_s,
            "future_s": view.trail_future_s,
        }
    for v, name in [] if kin.follow else scene.vehicle_actor.items():
        data = scene._trail(v)
        if data is None or len(data["ets"]) < 2:
            continue
        if compact:
            out["trails"][f"trail:{name}"] = {
                "future": f"trail-future:{name}",
                "t0": float(data["ets"][0]),
                "t": _array(data["ets"] - data["ets"][0], "float32", encoding),
                "past_s": view.trail_past_s,
                "future_s": view.trail_future_s,
                "shift": shift,
            }
            continue
        t = _array(data["ets"], "float64", encoding)
        for key in (f"trail:{name}", f"trail-future:{name}"):
            out["trails"][key] = {"t": t, "past_s": view.trail_past_s, "future_s": view.trail_future_s, "shift": shift}
    out["links"] = _link_tracks(scene, body_grid, encoding)
    return out


def _actor_track(name: str, scale: float, ets: np.ndarray, poses, mask: np.ndarray, encoding: str) -> dict:
    q = quaternions(poses.rotations[name][mask])
    return {
        "naif": name,
        "scale": scale,
        "t": _array(ets, "float64", encoding),
        "p": _array(np.nan_to_num(poses.positions[name][mask]), "float32", encoding),
        "v": _array(np.nan_to_num(poses.velocities[name][mask]), "float32", encoding),
        "q": _array(np.round(q * 32767), "int16", encoding),
        "vis": _array(poses.visible[name][mask], "uint8", encoding),
    }


def _link_tracks(scene, grid: np.ndarray, encoding: str) -> dict:
    if not scene._links:
        return {}
    try:
        from viewer import links as links_mod

        wins = {lid: links_mod.windows(lid) for lid in scene._links}
    except Exception:  # no link model (kernels or stations missing): no link tracks
        return {}
    out = {}
    for lid, item in scene._links.items():
        link = item["link"]
        edges = [grid[0], grid[-1]] + [t for w in wins[lid] for t in w if grid[0] <= t <= grid[-1]]
        t = np.unique(np.asarray(edges, float))
        open_ = links_mod.link_states(t)[lid]
        out[f"link:{lid}"] = {
            "a": scene.vehicle_actor.get(link.a, link.a),
            "b": scene.vehicle_actor.get(link.b, link.b),
            "t": _array(t, "float64", encoding),
            "open": _array(open_, "uint8", encoding),
        }
    return out
