"""Sample tracks for the browser: the web app moves vtk.js actors from these, with no server round trip per frame.

:func:`export_tracks` (also ``MissionScene.export_tracks(view)``) returns one JSON-serialisable dict for the frame
model's current view (:class:`viewer.scene.frame.FrameModel`: the same poses and trails the stills draw). Actor keys
are the names of the actors in the render window, so the web app finds the vtk.js actors by name after syncing the
render window once.

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
                                    "past_s": s, "future_s": s, "shift": null,
                                    "own": {"t": <float64 (S,)>, "on": <uint8 (S,)>}},  # runs: drawn or not
                 "trail-future:<actor>": {... the same ...}},
      "chain":  {                               # the relay chain (viewer.links.chain_samples), see below
        "t": <float64 (L,)>, "limb_t": <float64 (G,)>, "reasons": [...], "stub_max_km": km, "earth_sphere_km": km,
        "reason_text": {"<reason>": {"en", "zh"}}, "legend": {"open": {"en", "zh"}, "blocked": {...}},
        "legs": {"link:<id>": {"from": "<actor name or STATION:id>", "to": "...",
                               "from_name": {"en", "zh"}, "to_name": {...}, "sphere_km": km,
                               "state": <uint8 (L,)>,   # bit 0 shown, bit 1 open, bits 2-4: 1 + reason index
                               "stub": <int16 (L,)>}},  # where the stub ends, fraction × 32767 (0: none)
        "stations": {"<id>": {"name": {"en", "zh"}, "limb": <int16 (G,3)>}}},  # × 32767, at limb_t, view frame
      "labels": {"t": <float64 (R,)>,             # each run of labels holds until the next ``t``
                 "runs": [[{"key": "CHANGE6_ORBITER", "actor": "orbiter", "members": ["CHANGE6_LANDER", ...],
                            "en": "Chang'e-6 (4 modules)", "zh": "..."}, ...], ...],   # one label per thing
                 "bodies": [{"key": "EARTH", "actor": "earth", "en": "Earth", "zh": "地球"}, ...],
                 "rule": {...}}                   # viewer.scene.placement's parameters (see the client rules)
    }

An *array* is ``{"dtype": "float32", "shape": [N, 3], "b64": "<little-endian bytes, base64>"}`` (``encoding=
"base64"``, the default), or a nested list (``encoding="list"``).

Client rules:

- An actor's user matrix is ``T(p) · R(q) · S(scale)``. Interpolate ``p`` with cubic Hermite using ``v`` (within
  a pixel of the preset for the sampling here), ``q`` with slerp; take ``vis`` from the sample at or before ``t``.
  While a vehicle rides in a stack (its ``stack`` run names a parent) its samples are its parent's, so ``p``/``q``
  are complete; the stack runs say whom it rides with.
- Trail actors hold their whole polyline. ``trail:<actor>`` draws the past ``past_s`` (solid) and
  ``trail-future:<actor>`` (same points) the next ``future_s`` (faint): set each one's line cells to its index
  range; ``t`` is the ET of each point. A vehicle's trails are drawn only in the runs of ``own`` whose ``on`` is 1
  (each run holds until the next ``t``): while it rides in a stack the parent's trail is the same curve
  (:func:`viewer.scene.frame.draws_own_trail`, the stills' rule).
- The follow view has no ``trails``: ``live_trail`` names the followed actor and the centre body's actor, and the
  trail point for time ``t`` is ``p_body(now) − p_body(t)`` from the body's track.
- Add the Sun light on the client from ``sun`` (Panel's VTK pane sends no vtkLight).
- Labels: ``labels.runs`` lists, per run, the vehicles that carry a label (a stack's root names its ``members``)
  with the words in both languages; ``labels.bodies`` the bodies' labels. Place them on screen with the rule of
  :mod:`viewer.scene.placement` and ``labels.rule``: candidates around the subject in order, ``offset_px`` (at
  1080 lines) beyond its on-screen radius or its marker's, then the farther ``rings``; never over another label,
  a screen text, the subject or a subject under ``big_fraction`` of the picture's height. A body or vehicle drawn
  under ``marker.min_px`` gets a ring ``marker.px_at_1080`` wide (never under ``min_px``).
- The relay chain (``chain``; ``viewer/ui/static/relay_chain.js``): a leg's state is its sample at or before ``t``
  (the samples include every window edge). Draw ``link:<id>`` when shown: solid from ``from`` to ``to`` when
  open; else a dashed stub up to the obstruction, which ends where the segment enters the Moon's sphere
  (``sphere_km``) for ``moon_limb``, the Earth's sphere (``earth_sphere_km``) for ``earth_limb``, else at the
  fraction ``stub``; it starts at most ``stub_max_km`` before that. Legs never active in the span are left out.
  A station's name goes at the Earth's limb: Earth centre + equatorial radius × ``limb`` (interpolated, then
  normalised). Clip each line to the frame; name an end the frame cuts off with a marker at the frame edge.

Sampling is adaptive (:func:`viewer.scene.sampling.sample_ets`).
"""

from __future__ import annotations

import base64

import numpy as np

from viewer.epochs import utc_from_et
from viewer.scene import placement
from viewer.scene.frame import FrameModel, LabelAnchor, draws_own_trail
from viewer.scene.kinematics import coverage, quaternions, rotations
from viewer.scene.relay import chain_leg_ids
from viewer.scene.sampling import centre_states, pre_step, sample_ets, view_span
from viewer.scene.vehicles import BODY_ACTORS

FORMAT = "change6-tracks/1"


def encode(a: np.ndarray, dtype: str, encoding: str = "b64"):
    """An array as the browser reads it: a list (``encoding`` "list") or dtype, shape and little-endian bytes in
    base64."""
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
    model: FrameModel,
    et: float | None,
    scale: float,
    start_et: float | None = None,
    end_et: float | None = None,
    encoding: str = "base64",
) -> dict:
    """Per-actor sample tracks of ``model``'s current view around ``et`` (format in the module docstring)."""
    view, kin = model.view, model.kin
    span = view_span(kin, view)
    if span is None:
        return {"format": FORMAT, "view": view.name, "actors": {}, "sun": {}, "trails": {}, "chain": {}}
    t0 = span[0] if start_et is None else max(span[0], float(start_et))
    t1 = span[1] if end_et is None else min(span[1], float(end_et))
    if view.window_s and start_et is None and end_et is None:
        mid = et if et is not None else t0 + view.window_s / 2
        t0, t1 = max(t0, mid - view.window_s / 2), min(t1, mid + view.window_s / 2)
    centre = centre_states(kin, t0, t1, pre_step(view)) if kin.center != "MOON" else None
    grids = {
        v: sample_ets(kin, v, view, (max(t0, c[0]), min(t1, c[1])), centre_states=centre)
        for v in kin.vehicles
        if (c := coverage(v)) and min(t1, c[1]) > max(t0, c[0])
    }
    body_grid = np.append(np.arange(t0, t1, min(view.max_step_s, 3600.0)), t1)
    if kin.follow and kin.follow in grids:
        body_grid = np.union1d(body_grid, grids[kin.follow])
    union = np.unique(np.concatenate([body_grid] + list(grids.values())))
    poses = kin.poses(union, scale=scale)
    body_mask = np.isin(union, body_grid)
    out = {
        "format": FORMAT,
        "view": view.name,
        "frame": view.frame,
        "unit": view.unit,
        "center": kin.center,
        "follow": kin.follow,
        "spacecraft_scale": scale,
        "t0": t0,
        "t1": t1,
        "utc0": utc_from_et(t0),
        "utc1": utc_from_et(t1),
        "actors": _vehicle_tracks(model, union, grids, poses, view.units_per_m * scale, encoding),
        "sun": {
            "t": encode(union[body_mask], "float64", encoding),
            "d": encode(poses.sun_dir[body_mask], "float32", encoding),
        },
        "trails": _trail_tracks(model, union, poses, encoding),
        "labels": _label_tracks(model, union, poses, encoding),
        "chain": _chain_tracks(model, body_grid, encoding),
    }
    for body, name in (("EARTH", "earth"), ("MOON", "moon")):
        out["actors"][name] = _actor_track(body, view.units_per_km, union[body_mask], poses, body_mask, encoding)
    if kin.follow:  # the follow view's trail is live: the client draws the followed actor's own track around now
        out["live_trail"] = {
            "actor": model.vehicle_actor[kin.follow],
            "body": {"MOON": "moon"}.get(kin.center, "earth"),
            "past_s": view.trail_past_s,
            "future_s": view.trail_future_s,
        }
    return out


def _vehicle_tracks(model: FrameModel, union, grids: dict, poses, m_to_units: float, encoding: str) -> dict:
    """Each vehicle's own samples while free, its parent's while riding (so a client may ignore the stack runs)."""
    keep, actors = {}, {}
    for v in model.kin.vehicles:
        parents = poses.stacked_on[v]
        mask = np.isin(union, grids.get(v, np.zeros(0))) & (parents == "")
        for parent in {p for p in parents if p}:
            mask |= (parents == parent) & keep.get(parent, np.zeros(len(union), bool))
        change = np.flatnonzero((np.diff(poses.visible[v].astype(np.int8)) != 0) | (parents[1:] != parents[:-1]))
        mask[change] = True
        mask[np.clip(change + 1, 0, len(union) - 1)] = True
        if poses.visible[v].any():
            mask[[0, -1]] = True
        keep[v] = mask
        if not mask.any():
            continue
        runs = np.concatenate([[0], change + 1]) if len(union) else np.zeros(0, int)
        name = model.vehicle_actor[v]
        actors[name] = _actor_track(v, m_to_units, union[mask], poses, mask, encoding)
        actors[name]["stack"] = {
            "t": encode(union[runs], "float64", encoding),
            "parent": [model.vehicle_actor.get(p, "") for p in parents[runs]],
            "offset_m": encode(poses.offsets_m[v][runs], "float32", encoding),
        }
    return actors


def _trail_tracks(model: FrameModel, union: np.ndarray, poses, encoding: str) -> dict:
    view, out = model.view, {}
    for v, name in [] if model.kin.follow else model.vehicle_actor.items():
        data = model.trail(v)
        if data is None or len(data["ets"]) < 2:
            continue
        t = encode(data["ets"], "float64", encoding)
        own = draws_own_trail(poses.stacked_on[v]) if len(union) else np.ones(0, bool)
        runs = np.concatenate([[0], np.flatnonzero(own[1:] != own[:-1]) + 1]) if len(union) else np.zeros(0, int)
        shown = {"t": encode(union[runs], "float64", encoding), "on": encode(own[runs], "uint8", encoding)}
        for key in (f"trail:{name}", f"trail-future:{name}"):
            out[key] = {
                "t": t,
                "past_s": view.trail_past_s,
                "future_s": view.trail_future_s,
                "shift": None,
                "own": shown,
            }
    return out


def _label_tracks(model: FrameModel, union: np.ndarray, poses, encoding: str) -> dict:
    """The labels' runs: who carries a label (roots of stacks, with their members) from each ``t`` on."""
    vs = [v for v in model.kin.vehicles if v in model.vehicle_actor]
    sig = np.stack([poses.stacked_on[v].astype(str) for v in vs] + [poses.visible[v].astype(str) for v in vs])
    starts = np.concatenate([[0], np.flatnonzero((sig[:, 1:] != sig[:, :-1]).any(axis=0)) + 1]) if len(union) else []
    runs = []
    for i in starts:
        parent = {v: str(poses.stacked_on[v][i]) for v in vs}
        root = {v: _root_of(v, parent) for v in vs}
        run = []
        for v in (v for v in model.vehicle_actor if v in vs and poses.visible[v][i] and not parent[v]):
            anchor = LabelAnchor(v, np.zeros(3), tuple(m for m in vs if parent[m] and root[m] == v))
            words = {lang: model.label_text(anchor, lang) for lang in ("en", "zh")}
            run.append({"key": v, "actor": model.vehicle_actor[v], "members": list(anchor.members), **words})
        runs.append(run)
    bodies = [
        {"key": b, "actor": a, **{lang: model.names[b][lang] for lang in ("en", "zh")}} for b, a in BODY_ACTORS.items()
    ]
    rule = {
        "font_size_1080": model.cfg["labels"]["font_size"],
        "offset_px_1080": model.cfg["labels"]["offset_px"],
        "marker": dict(model.cfg["markers"]),
        "candidates": [list(c) for c in placement.CANDIDATES],
        "rings": list(placement.RINGS),
        "big_fraction": placement.BIG_FRACTION,
        "model_extent": placement.MODEL_EXTENT,
    }
    return {"t": encode(union[list(starts)], "float64", encoding), "runs": runs, "bodies": bodies, "rule": rule}


def _root_of(v: str, parent: dict[str, str]) -> str:
    for _ in range(8):
        if not parent.get(v):
            break
        v = parent[v]
    return v


def _actor_track(name: str, scale: float, ets: np.ndarray, poses, mask: np.ndarray, encoding: str) -> dict:
    q = quaternions(poses.rotations[name][mask])
    return {
        "naif": name,
        "scale": scale,
        "t": encode(ets, "float64", encoding),
        "p": encode(np.nan_to_num(poses.positions[name][mask]), "float32", encoding),
        "v": encode(np.nan_to_num(poses.velocities[name][mask]), "float32", encoding),
        "q": encode(np.round(q * 32767), "int16", encoding),
        "vis": encode(poses.visible[name][mask], "uint8", encoding),
    }


# ------------------------------------------------------------------------------------------------ relay chain
def _chain_tracks(model: FrameModel, grid: np.ndarray, encoding: str) -> dict:
    """The relay chain sampled on ``grid`` and at every edge of its legs' windows and sources (format above)."""
    from viewer.links import names
    from viewer.links.chain import STUB_MAX_KM, chain_samples, source_windows

    relay = model.relay
    if relay is None or not len(grid):
        return {}
    lo, hi = grid[0], grid[-1]
    ids = chain_leg_ids(model.link_defs)
    edges = [t for lid in ids for w in relay.windows(lid) for t in w] + [t for w in source_windows() for t in w[:2]]
    edges = np.asarray([t for t in edges if lo <= t <= hi], float)
    ets = np.unique(np.concatenate([grid, edges, np.minimum(edges + 1.0, hi)]))
    s = chain_samples(ets, relay)
    horizon = s["reasons"].index("horizon")
    state = np.column_stack(
        [np.column_stack([lg["show"] & lg["active"], lg["open"], lg["reason"]]) for lg in s["legs"].values()]
    ).astype(np.int16)
    keep = np.ones(len(ets), bool)  # a row where some leg changes, or a horizon stub (its fraction moves)
    keep[1:] = np.any(state[1:] != state[:-1], axis=1)
    keep |= np.logical_or.reduce([lg["reason"] == horizon for lg in s["legs"].values()])
    keep[[0, -1]] = True
    legs = {}
    for lid, leg in s["legs"].items():
        if lid not in ids or not leg["active"].any():
            continue
        link = relay.links[lid]
        legs[f"link:{lid}"] = {
            "from": model.vehicle_actor.get(leg["from"], leg["from"]),  # an actor name, or STATION:<id>
            "to": model.vehicle_actor.get(leg["to"], leg["to"]),
            "from_name": _end_name(relay, leg["from"]),
            "to_name": _end_name(relay, leg["to"]),
            "sphere_km": float(link.moon_radius_km) if link.moon_radius_km else float(relay.moon_radius_km),
            # bit 0 shown, bit 1 open, bits 2-4 the reason's index + 1 (0: none)
            "state": encode(_packed(leg)[keep], "uint8", encoding),
            "stub": encode(np.round(np.nan_to_num(leg["stub"][keep, 1], nan=0.0) * 32767), "int16", encoding),
        }
    on_grid = np.isin(ets, grid)
    rot = rotations("J2000", model.view.frame, ets[on_grid]) if model.view.frame != "J2000" else None
    stations = {}
    for sid, d in s["limb"].items():
        d = d[on_grid]
        d = np.einsum("nij,nj->ni", rot, d) if rot is not None else d
        limb = encode(np.round(d * 32767), "int16", encoding)  # unit vectors × 32767
        stations[sid] = {"name": names.station_name(relay.stations[sid]), "limb": limb}
    return {
        "t": encode(ets[keep], "float64", encoding),
        "limb_t": encode(ets[on_grid], "float64", encoding),
        "reasons": list(s["reasons"]),
        "reason_text": {r: names.both(f"reason_{r}") for r in s["reasons"]},
        "legend": {k: names.both(f"legend_{k}") for k in ("open", "blocked")},
        "stub_max_km": STUB_MAX_KM,
        "earth_sphere_km": float(relay.earth_radii_km[2]),
        "legs": legs,
        "stations": stations,
    }


def _packed(leg: dict) -> np.ndarray:
    """A leg's state per sample in one byte (see :func:`_chain_tracks`)."""
    shown = (leg["show"] & leg["active"]).astype(np.uint8)
    return shown | (leg["open"].astype(np.uint8) << 1) | ((leg["reason"] + 1).astype(np.uint8) << 2)


def _end_name(relay, naif: str) -> dict:
    from viewer.links import names
    from viewer.links.kinds import ROLE_IDS

    if naif.startswith("STATION:"):
        return names.station_name(relay.stations[naif.split(":", 1)[1]])
    role = {getattr(relay.bodies, r): r for r in ROLE_IDS}[naif]
    return names.role_name(role)
