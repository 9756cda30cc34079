"""A vehicle's fine track for "follow a spacecraft" in the web app, one time window per request.

The browser's view tracks are sampled for the view's preset camera (within half a pixel there, kilometres in the
lunar view); a camera following one vehicle up close needs its path to the metre. :func:`window` samples the
followed vehicle, and every vehicle that comes within :data:`NEAR_KM` of it in the window (a docking partner, the
module it separates from), with the same frame model as the view's tracks (:class:`viewer.scene.kinematics.
Kinematics`, SPICE states differenced in float64 relative to the view's origin, its floating origin), at a fixed
number of samples per window, so one response stays far under :data:`MAX_BYTES`.

:class:`VehicleTrackHandler` serves it on the app's Tornado server (``GET /vehicle_track?view=&vehicle=&t0=&t1=``,
ET seconds). Bad input answers 400 with one line naming the value and the fix.

Response ``change6-vehicle-track/1`` (JSON)::

    {"format": ..., "view": "lunar", "vehicle": "CHANGE6_ORBITER", "t0": ET, "t1": ET, "n": N,
     "t": <float64 (N,)>,
     "actors": {"<actor>": {"naif": ..., "p": <float64 (N,3)> render units from the view's origin,
                            "v": <float32 (N,3)> render units per second, "vis": <uint8 (N,)>}}}

Arrays are encoded as in :mod:`viewer.scene.tracks` (``{"dtype", "shape", "b64"}``, little-endian). Positions are
the ones the view's tracks draw (stacked modules at their parent's pose plus the stack offset, at the view's
spacecraft enlargement), so the browser may put the followed actor on the fine track in place of the coarse one.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading

import numpy as np
from spiceypy.utils.exceptions import SpiceyError

from viewer import words
from viewer.constants import VEHICLES
from viewer.errors import ViewerError
from viewer.mission import load_mission
from viewer.scene.kinematics import Kinematics, coverage, scene_config
from viewer.scene.tracks import encode
from viewer.scene.views import load_views

log = logging.getLogger("viewer.ui")

FORMAT = "change6-vehicle-track/1"
PATH = "/vehicle_track"
SAMPLES = 600  # per window: ~15 ms of SPICE and frame-model work, ~0.13 MB with four vehicles
MIN_STEP_S = 0.5  # a short window is not sampled finer than this
MAX_WINDOW_S = 7 * 86400.0 + 1.0  # the browser's longest window (playback at 100,000 s/s)
NEAR_KM = 200.0  # other vehicles this close to the followed one in the window come along
MAX_BYTES = 1_000_000
_lock = threading.Lock()  # SPICE is not thread-safe


def followable() -> list[str]:
    """NAIF names of the vehicles a visitor may follow (every spacecraft with a kernel; not the landing site)."""
    return [v for v in VEHICLES if v != "CHANGE6_SITE" and coverage(v) is not None]


def browser_info(view: str) -> dict:
    """What the browser needs to fetch windows (sent with the view's tracks as ``tracks["follow"]``)."""
    actors = scene_config()["vehicles"]
    return {
        "url": PATH,
        "samples": SAMPLES,
        "max_window_s": MAX_WINDOW_S,
        "vehicles": {actors[v]["actor"]: v for v in followable() if v in actors},
        "words": {k: dict(v) for k, v in words.section("follow").items()},
    }


@functools.cache
def _mission_span() -> tuple[float, float]:
    return load_mission().span


@functools.cache
def _kinematics(view: str) -> Kinematics:
    return Kinematics(load_views()[view])


def check(view: str, vehicle: str, t0: str, t1: str) -> tuple[str, str, float, float]:
    """The request's values, checked; raises ValueError with one line naming the bad value and the fix."""
    from viewer.ui.state import web_views

    if view not in web_views():
        raise ValueError(f"view={view!r} is not a web view; choose one of {', '.join(web_views())}")
    craft = followable()
    if vehicle not in craft:
        raise ValueError(f"vehicle={vehicle!r} cannot be followed; choose one of {', '.join(craft)}")
    try:
        a, b = float(t0), float(t1)
    except ValueError:
        raise ValueError(f"t0={t0!r}, t1={t1!r}: give both as ET seconds past J2000, e.g. t0=769000000") from None
    lo, hi = _mission_span()
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        raise ValueError(f"t0={t0}, t1={t1}: give finite times with t0 < t1 (ET seconds)")
    if b < lo or a > hi:
        raise ValueError(f"t0={a:.0f}..t1={b:.0f} is outside the mission ({lo:.0f}..{hi:.0f} ET seconds)")
    if b - a > MAX_WINDOW_S:
        raise ValueError(f"the window t0..t1 is {b - a:.0f} s long; ask for at most {MAX_WINDOW_S:.0f} s at a time")
    return view, vehicle, a, b


@functools.lru_cache(maxsize=64)
def window(view: str, vehicle: str, t0: float, t1: float) -> bytes:
    """The JSON body (format in the module docstring) of ``vehicle``'s window [t0, t1] in ``view``."""
    n = int(min(SAMPLES, max(2, math.ceil((t1 - t0) / MIN_STEP_S) + 1)))
    ets = np.linspace(t0, t1, n)
    kin = _kinematics(view)
    with _lock:
        poses = kin.poses(ets)
    actor_of = {v: a["actor"] for v, a in kin.cfg["vehicles"].items()}
    me = np.nan_to_num(poses.relative_km[vehicle], nan=np.inf)
    actors = {}
    for v in kin.vehicles:
        if v not in actor_of:
            continue
        gap = np.linalg.norm(np.nan_to_num(poses.relative_km[v], nan=-np.inf) - me, axis=1)
        if v != vehicle and not (gap < NEAR_KM).any():
            continue
        actors[actor_of[v]] = {
            "naif": v,
            "p": encode(np.nan_to_num(poses.positions[v]), "float64", "base64"),
            "v": encode(np.nan_to_num(poses.velocities[v]), "float32", "base64"),
            "vis": encode(poses.visible[v], "uint8", "base64"),
        }
    body = {
        "format": FORMAT,
        "view": view,
        "vehicle": vehicle,
        "t0": t0,
        "t1": t1,
        "n": n,
        "t": encode(ets, "float64", "base64"),
        "actors": actors,
    }
    out = json.dumps(body, separators=(",", ":")).encode()
    if len(out) > MAX_BYTES:  # cannot happen with SAMPLES and five vehicles; a guard for a changed table
        raise ViewerError(f"the window {t0:.0f}..{t1:.0f} came to {len(out)} bytes; lower SAMPLES")
    return out


def warm() -> None:
    """One window per web view, so the first visitor's click does not pay for the frame model's first call."""
    from viewer.ui.state import web_views

    for view in web_views():
        span = coverage("CHANGE6_ORBITER")
        if span is not None:
            window(view, "CHANGE6_ORBITER", span[0] + 86400.0, span[0] + 86400.0 + 600.0)


def make_handler():
    """The Tornado handler class (imported here, so this module loads without a server)."""
    from tornado.web import RequestHandler

    class VehicleTrackHandler(RequestHandler):
        def get(self):
            args = {k: self.get_query_argument(k, "") for k in ("view", "vehicle", "t0", "t1")}
            try:
                checked = check(**args)
            except ValueError as exc:
                return self._fail(400, str(exc))
            try:
                body = window(*checked)
            except (ViewerError, SpiceyError) as exc:
                log.warning("vehicle track %s: %s", args, exc)
                return self._fail(500, " ".join(str(exc).split())[:300])
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "max-age=3600")
            self.finish(body)

        def _fail(self, code: int, line: str) -> None:
            self.set_status(code)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(line.splitlines()[0] + "\n")

        def write_error(self, status_code, **kwargs):  # anything else: one line, never a traceback
            self._fail(status_code, f"the vehicle track failed ({self._reason}); reload the page")

    return VehicleTrackHandler


def routes() -> list[tuple]:
    """Extra Tornado routes of the app (for ``pn.serve(extra_patterns=...)``)."""
    return [(PATH, make_handler())]
