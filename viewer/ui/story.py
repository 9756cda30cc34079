"""The story camera in the web app: the director's track for the browser, and the view it wants at each moment.

- :func:`segments`: the whole mission as runs of (shot, web view). A shot is shown in its own view where that
  view's browser tracks cover the moment; elsewhere in a web view with the same frame and units whose tracks do
  (the Earth-Moon system covers the whole mission), with the spacecraft drawn at the shot view's enlargement.
  The camera is stored relative to its subject, so it is the same in any view sharing the frame and units.
- :func:`view_at`: the web view the story wants at an epoch.
- :func:`browser_track`: the story samples of one web view, thinned so that linear interpolation stays within
  :data:`TOLERANCE_DEG` of the full track, encoded like the other browser tracks (``tracks["story"]``).
- :class:`StoryLink`: one session's glue: ``?t=`` alone opens the story, ``?view=`` a preset; while the story is
  on, a time from the browser that falls in another view's shot switches the view in the same state update.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from viewer import cache as disk_cache
from viewer import kernels, paths, words
from viewer.director.shots import load_director
from viewer.director.track import whole_shot
from viewer.epochs import et_from_utc
from viewer.scene.views import load_views
from viewer.ui.state import web_views

log = logging.getLogger("viewer.ui")

TOLERANCE_DEG = 1.0  # thinning: largest error of the interpolated camera and aim point, seen from the camera
UP_TOLERANCE_DEG = 2.0  # and of the interpolated view-up
FALLBACK_VIEW = "system"  # covers the whole mission; J2000, km


def _b64(a: np.ndarray, dtype: str) -> dict:
    a = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


@functools.cache
def view_spans() -> dict[str, tuple[float, float]]:
    """Web view -> (first, last) ET its browser tracks may cover (assets/views.yaml ``tracks``; open ends unbounded)."""
    out = {}
    for name in web_views():
        v = load_views()[name]
        a = et_from_utc(v.tracks_start) if v.tracks_start else -math.inf
        b = et_from_utc(v.tracks_end) if v.tracks_end else math.inf
        out[name] = (a, b)
    return out


def _same_space(a: str, b: str) -> bool:
    va, vb = load_views()[a], load_views()[b]
    return va.frame == vb.frame and va.unit == vb.unit


def _web_view(shot_view: str, et: np.ndarray) -> np.ndarray:
    """The web view showing ``shot_view``'s camera at each of ``et``."""
    spans = view_spans()
    out = np.full(len(et), shot_view, dtype=object)
    if shot_view in spans:
        a, b = spans[shot_view]
        outside = (et < a) | (et > b)
    else:
        outside = np.ones(len(et), bool)
    if outside.any():
        fallback = FALLBACK_VIEW if _same_space(shot_view, FALLBACK_VIEW) else shot_view
        out[outside] = fallback
    return out


@functools.cache
def _director_samples() -> list[dict]:
    """Per shot: its full samples (:func:`viewer.director.track.whole_shot`) and the web view of each sample."""
    d = load_director()
    out = []
    for i, shot in enumerate(d.shots):
        w = whole_shot(d, i)
        out.append({**w, "web": _web_view(shot.view, w["et"])})
    return out


@functools.cache
def segments() -> tuple[dict, ...]:
    """Runs of (shot, web view) in time order: ``{"t0", "t1", "shot", "view", "scale"}``; ``scale`` is the shot
    view's spacecraft enlargement over the web view's (1 where the shot is shown in its own view)."""
    d = load_director()
    views = load_views()
    out = []
    for i, (shot, s) in enumerate(zip(d.shots, _director_samples())):
        end = d.shots[i + 1].start_et if i + 1 < len(d.shots) else float(s["et"][-1])
        web = s["web"]
        cut = np.flatnonzero(web[1:] != web[:-1]) + 1
        starts = [shot.start_et, *(float(s["et"][k]) for k in cut)]
        ends = [*starts[1:], end]
        for a, b, k in zip(starts, ends, [0, *cut]):
            v = str(web[k])
            scale = views[shot.view].spacecraft_scale / views[v].spacecraft_scale
            out.append({"t0": float(a), "t1": float(b), "shot": i, "view": v, "scale": float(scale)})
    return tuple(out)


def segment_at(et: float) -> dict:
    segs = segments()
    starts = [s["t0"] for s in segs]
    return segs[max(0, int(np.searchsorted(starts, float(et), side="right")) - 1)]


def view_at(et: float) -> str:
    """The web view the story camera wants at ``et``."""
    return segment_at(et)["view"]


def _hermite(p0, p1, m0, m1, s, dt):
    s = s[:, None]
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * dt * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * dt * m1


def thin(et, offset, aim, up, tol_deg: float = TOLERANCE_DEG, up_tol_deg: float = UP_TOLERANCE_DEG):
    """(indices to keep, d offset/dt, d aim/dt): between kept samples, cubic Hermite interpolation of ``offset``
    and ``aim`` (with these tangents) stays within ``tol_deg`` of every dropped sample as seen from the camera,
    and normalised linear interpolation of ``up`` within ``up_tol_deg``."""
    n = len(et)
    d_off = np.gradient(offset, et, axis=0) if n > 1 else np.zeros_like(offset)
    d_aim = np.gradient(aim, et, axis=0) if n > 1 else np.zeros_like(aim)
    if n <= 2:
        return np.arange(n), d_off, d_aim
    tol, up_scale = math.radians(tol_deg), tol_deg / up_tol_deg
    dist = np.maximum(np.linalg.norm(offset, axis=1), 1e-12)
    keep = np.zeros(n, bool)
    keep[[0, -1]] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        k = np.arange(i + 1, j)
        dt = et[j] - et[i]
        s = (et[k] - et[i]) / dt
        err = np.linalg.norm(_hermite(offset[i], offset[j], d_off[i], d_off[j], s, dt) - offset[k], axis=1)
        err = np.maximum(err, np.linalg.norm(_hermite(aim[i], aim[j], d_aim[i], d_aim[j], s, dt) - aim[k], axis=1))
        err = err / dist[k]
        lu = up[i] + s[:, None] * (up[j] - up[i])
        cos = np.sum(lu * up[k], axis=1) / np.maximum(np.linalg.norm(lu, axis=1), 1e-12)
        err = np.maximum(err, np.arccos(np.clip(cos, -1.0, 1.0)) * up_scale)
        worst = int(np.argmax(err))
        if err[worst] > tol:
            m = int(k[worst])
            keep[m] = True
            stack += [(i, m), (m, j)]
    return np.flatnonzero(keep), d_off, d_aim


@functools.cache
def browser_track(view: str) -> dict:
    """:func:`build_browser_track`, cached in memory and on disk (keyed by the kernels, the assets, the director
    and this module)."""
    kernels.furnish()
    sources = [*kernels.loaded_kernels(), paths.ASSETS_DIR, paths.PACKAGE_DIR / "director", Path(__file__)]
    key = disk_cache.make_key({"view": view, "tol": [TOLERANCE_DEG, UP_TOLERANCE_DEG]}, sources)
    got = disk_cache.read_json("web", f"story-{view}", key)
    if got is None:
        got = build_browser_track(view)
        disk_cache.write_json("web", f"story-{view}", key, got)
    return got


def build_browser_track(view: str) -> dict:
    """The story samples shown in ``view`` (thinned), the mission's segments and the story's words, for the browser.

    ``t`` (float64), ``shot`` (int16), ``subject`` (uint8 index into ``subjects``), ``off`` = camera - subject,
    ``aim`` = focal point - subject, ``up`` (float32 (N, 3), render units), ``hidden`` (uint8); the browser adds
    the subject actor's drawn position and interpolates linearly between samples of one shot."""
    d = load_director()
    parts = []
    for i, s in enumerate(_director_samples()):
        runs = np.flatnonzero(np.diff(np.r_[0, (s["web"] == view).astype(np.int8), 0]))
        for a, b in zip(runs[::2], runs[1::2]):
            sl = slice(int(a), int(b))
            keep, d_off, d_aim = thin(s["et"][sl], s["offset"][sl], s["aim"][sl], s["up"][sl])
            hid = s["hidden"][sl].astype(np.int8)
            flips = np.flatnonzero(np.diff(hid)) if len(hid) > 1 else np.zeros(0, int)
            keep = np.union1d(keep, np.r_[flips, flips + 1])
            part = {k: s[k][sl][keep] for k in ("et", "subject", "offset", "aim", "up", "hidden")}
            parts.append((i, {**part, "d_off": d_off[keep], "d_aim": d_aim[keep]}))
    names = sorted({str(n) for _, p in parts for n in p["subject"]})
    out = {
        "view": view,
        "view_angle_deg": d.view_angle_deg,
        "move_s": d.move_s,
        "fade_s": d.fade_s,
        "subjects": names,
        "shots": [{"transition": s.transition, "view": s.view} for s in d.shots],
        "segments": list(segments()),
        "words": {k: dict(v) for k, v in words.section("story").items()},
    }
    if not parts:
        out["n"] = 0
        return out

    def cat(k):
        return np.concatenate([p[k] for _, p in parts])

    subject = np.array([names.index(str(n)) for _, p in parts for n in p["subject"]], dtype=np.uint8)
    out.update(
        n=int(sum(len(p["et"]) for _, p in parts)),
        t=_b64(cat("et"), "float64"),
        shot=_b64(np.concatenate([np.full(len(p["et"]), i) for i, p in parts]), "int16"),
        subject=_b64(subject, "uint8"),
        off=_b64(cat("offset"), "float32"),
        aim=_b64(cat("aim"), "float32"),
        d_off=_b64(cat("d_off"), "float32"),
        d_aim=_b64(cat("d_aim"), "float32"),
        up=_b64(cat("up"), "float32"),
        hidden=_b64(cat("hidden"), "uint8"),
    )
    return out


class StoryLink:
    """One session's story camera on the server: which view the story wants, and the URL while it is on.

    The story is on while ``state.auto_view`` ("Follow the story") is; choosing another view turns it off."""

    def __init__(self, state, query: dict | None = None):
        self.state = state
        self.view3d = None
        self._own = False  # True while this link changes the view itself
        self.apply_query(query or {})

    def apply_query(self, query: dict) -> None:
        """``?view=`` opens that preset (the story off); otherwise (``?t=`` alone, or nothing) the story's view."""
        s = self.state
        if "view" in query and s.view == _first(query["view"]):
            s.auto_view = False
        elif s.auto_view:
            self._switch(s.et)

    def bind(self, view3d):
        """Mirror "Follow the story" to the browser's ``view3d`` (returned), and turn the story off when the
        visitor picks another view."""
        self.view3d = view3d
        view3d.story_on = self.state.auto_view
        self.state.param.watch(self._on_auto, ["auto_view"])
        self.state.param.watch(self._on_view, ["view"])
        return view3d

    def set_time(self, et: float) -> None:
        """A time from the browser: with the story on, the time and the story's view at it in one update."""
        s = self.state
        lo, hi = s.param.et.bounds
        et = min(max(float(et), lo), hi)
        want = view_at(et) if s.auto_view else s.view
        if want != s.view and want in s.param.view.objects:
            self._own = True
            try:
                s.param.update(view=want, et=et)
            finally:
                self._own = False
        else:
            s.set_time(et)

    def jump(self, item_id: str) -> bool:
        """Jump to a phase's start or an event in the story's view, in one update; False when the story is off
        or there is no such item (the caller then jumps as before, and names a bad id)."""
        if not self.state.auto_view:
            return False
        try:
            item = self.state.mission.item(item_id)
        except KeyError:
            return False
        start = getattr(item, "start_et", None)
        self.set_time(item.et if start is None else start)
        return True

    def query(self) -> str:
        """The URL's search string: ``t`` and ``lang``, and ``view`` only while a preset is shown."""
        q = self.state.to_query()
        if self.state.auto_view:
            q.pop("view", None)
        return "?" + urlencode(q)

    def _switch(self, et: float) -> None:
        want = view_at(et)
        if want != self.state.view and want in self.state.param.view.objects:
            self._own = True
            try:
                self.state.view = want
            finally:
                self._own = False

    def _on_auto(self, event) -> None:
        if self.view3d is not None:
            self.view3d.story_on = bool(event.new)
        if event.new:
            self._switch(self.state.et)

    def _on_view(self, event) -> None:
        s = self.state
        if not self._own and s.auto_view and event.new != view_at(s.et):
            s.auto_view = False


def _first(v) -> str:
    if isinstance(v, (list, tuple)):
        v = v[0] if v else ""
    return v.decode() if isinstance(v, bytes) else str(v)
