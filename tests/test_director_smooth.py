"""Smooth moves: at 30 frames a second of wall time, the story camera's aim turns by at most 3° a frame, except at
the director's cuts (a shot whose transition is ``cut``, or a change of web view, both faded).

Two players of the same director, over the whole mission:

- the web app and the kiosk at their default playback speed (1,000 mission seconds per wall second): the browser's
  own samples (``viewer.ui.story.browser_track``, per web view) interpolated as ``static/story_camera.js`` does
  (cubic Hermite of camera - subject and focal - subject), with its eased move of ``move_s`` wall seconds from the
  last camera at a shot change of transition ``move`` (direction by normalised lerp, distance geometrically);
- ``export video`` at 30 frames/s (its default) through the story path (``viewer.export.camera_paths.story_plan``
  and the director's camera track, with the fly-to at a move): every chapter of ``assets/mission.yaml`` at the web
  app's pace (``--speed 1000``), and the chapters short enough for a clip of the default 10 s (``--duration``) to
  run at most at that pace, at that default. (A chapter of days in 10 s shows thousands of mission seconds a frame:
  a lunar orbit in two frames, which no camera can make smooth; ``export`` should be given ``--speed`` there.)

The aim is the camera's viewing direction, focal point - camera, which does not depend on where the subject is.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from viewer import ephemeris
from viewer.director.shots import load_director
from viewer.director.track import camera_track
from viewer.export import camera_paths as cp
from viewer.mission import load_mission
from viewer.scene.tracks import decode
from viewer.scene.views import load_views

FPS = 30.0
WEB_SPEED = 1000.0  # viewer.ui.state.AppState.speed's default (the kiosk's too)
EXPORT_DURATION_S = 10.0  # export video's default --duration
MAX_DEG = 3.0


def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angles(dirs: np.ndarray) -> np.ndarray:
    d = _unit(dirs)
    return np.degrees(np.arccos(np.clip(np.sum(d[1:] * d[:-1], axis=1), -1.0, 1.0)))


class BrowserTrack:
    """One web view's story samples, sampled like story_camera.js ``sample(et, shot)``."""

    def __init__(self, raw: dict):
        self.n = raw.get("n", 0)
        if not self.n:
            return
        self.t = decode(raw["t"])
        self.shot = decode(raw["shot"]).astype(int)
        self.off, self.aim = decode(raw["off"]).astype(float), decode(raw["aim"]).astype(float)
        self.d_off, self.d_aim = decode(raw["d_off"]).astype(float), decode(raw["d_aim"]).astype(float)

    def sample(self, ets: np.ndarray, shot: int) -> tuple[np.ndarray, np.ndarray]:
        t, n = self.t, self.n
        i = np.clip(np.searchsorted(t, ets, side="right") - 1, 0, n - 1)
        nxt = np.minimum(i + 1, n - 1)
        i = np.where((self.shot[i] != shot) & (self.shot[nxt] == shot), nxt, i)
        assert np.all(self.shot[i] == shot), "a frame outside its shot's samples"
        j = np.minimum(i + 1, n - 1)
        ok = (j != i) & (self.shot[j] == shot) & (t[j] > t[i]) & (ets > t[i])
        dt = np.where(ok, t[j] - t[i], 1.0)
        u = np.where(ok, np.clip((ets - t[i]) / dt, 0, 1), 0.0)[:, None]
        u2, u3 = u * u, u * u * u
        h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2

        def herm(a, da):
            return h00 * a[i] + h10 * dt[:, None] * da[i] + h01 * a[j] + h11 * dt[:, None] * da[j]

        return herm(self.off, self.d_off), herm(self.aim, self.d_aim)


def _mix_offset(a, b, e):
    """story_camera.js storyMixOffset: direction by normalised lerp, distance geometrically."""
    la, lb = np.linalg.norm(a), np.linalg.norm(b, axis=1)
    d = (1 - e)[:, None] * (a / la) + e[:, None] * (b / lb[:, None])
    r = np.exp((1 - e) * math.log(la) + e * np.log(lb))
    return _unit(d) * r[:, None]


def _shift(prev_subject: str, subject: str, et: float, view) -> np.ndarray:
    """Previous subject - new subject at ``et``, in ``view``'s render units (the move starts from the last camera)."""
    if prev_subject == subject:
        return np.zeros(3)
    p = ephemeris.positions(prev_subject, np.array([et]), observer=subject, frame=view.frame, check=False)[0]
    return p * view.units_per_km


@pytest.fixture(scope="module")
def web_turns():
    """Per frame pair at WEB_SPEED: (et, degrees, shot) where the browser keeps showing one picture (no fade)."""
    from viewer.ui import story

    d = load_director()
    views = load_views()
    tracks = {}
    step = WEB_SPEED / FPS
    move_frames = int(round(d.move_s * FPS))
    out, last = [], None  # last: (view, shot, subject, off, aim) of the previous frame
    for seg in story.segments():
        tr = tracks.setdefault(seg["view"], BrowserTrack(story.browser_track(seg["view"])))
        ets = np.arange(math.ceil(seg["t0"] / step) * step, seg["t1"], step)
        if not len(ets) or not tr.n:
            continue
        off, aim = tr.sample(ets, seg["shot"])
        subject = _subject(tr, seg, ets[0])
        shot = d.shots[seg["shot"]]
        dirs = aim - off
        if last is not None and last[0] == seg["view"] and last[1] != seg["shot"] and shot.transition == "move":
            s = _shift(last[2], subject, ets[0], views[seg["view"]])
            k = min(move_frames, len(ets))
            e = np.arange(k) / move_frames
            e = e * e * (3 - 2 * e)
            f_off, f_aim = last[3] + s, last[4] + s
            dirs[:k] = (f_aim + e[:, None] * (aim[:k] - f_aim)) - _mix_offset(f_off, off[:k], e)
            dirs = np.vstack([last[4] - last[3], dirs])  # the move starts from the last frame's aim
            ets = np.r_[ets[0] - step, ets]
        out += [(float(t), float(a), seg["shot"]) for t, a in zip(ets[1:], _angles(dirs))]
        last = (seg["view"], seg["shot"], subject, off[-1], aim[-1])
    return out


def _subject(tr: BrowserTrack, seg: dict, et: float) -> str:
    from viewer.ui import story

    raw = story.browser_track(seg["view"])
    i = int(np.clip(np.searchsorted(tr.t, et, side="right") - 1, 0, tr.n - 1))
    if tr.shot[i] != seg["shot"] and i + 1 < tr.n:
        i += 1
    return raw["subjects"][int(decode(raw["subject"])[i])]


def test_web_playback_turns_at_most_3_degrees_a_frame(web_turns):
    from viewer.epochs import utc_from_et

    d = load_director()
    assert len(web_turns) > 100_000  # the whole mission, ~45 days at 33 s a frame
    bad = [(utc_from_et(t), d.shots[s].at, round(a, 1)) for t, a, s in web_turns if a > MAX_DEG]
    worst = max(a for _, a, _ in web_turns)
    assert not bad, (
        f"{len(bad)} frames turn over {MAX_DEG}° (worst {worst:.1f}°), e.g. {bad[:: max(1, len(bad) // 12)]}"
    )


def _export_dirs(start: float, end: float, speed: float) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Aim directions of ``export video`` frames from ``start`` to ``end`` at ``speed`` mission seconds per video
    second; per frame, whether the picture carries on from the frame before (False at a cut)."""
    d = load_director()
    ets = np.arange(start, end, speed / FPS)
    dirs, carry, prev = [], [], None
    for seg in cp.story_plan(start, end):
        track = camera_track(seg.start_et, seg.end_et, d)
        sel = ets[(ets >= seg.start_et) & (ets < seg.end_et)]
        seg_dirs = []
        for et in sel:
            off, aim, _up = track.relative_pose(et)
            seg_dirs.append(np.asarray(aim) - np.asarray(off))
        if seg.flyto and prev is not None and seg_dirs:  # the fly-to: slerped from the last frame's aim
            span = cp.flyto_span("story", speed, seg.end_et - seg.start_et)
            for k, et in enumerate(sel):
                if et - seg.start_et < span:
                    u = cp.ease((et - seg.start_et) / span)
                    seg_dirs[k] = cp.slerp(prev, seg_dirs[k], u)
        carry += [bool(seg.flyto or prev is None)] + [True] * (len(seg_dirs) - 1) if seg_dirs else []
        dirs += seg_dirs
        prev = seg_dirs[-1] if seg_dirs else prev
    return ets, np.asarray(dirs), carry


def _chapter(chapter: str) -> tuple[float, float]:
    from viewer.export.render_job import resolve_range

    start, end, _ = resolve_range(load_mission(), phase=chapter, from_utc=None, to_utc=None)
    return start, end


CHAPTERS = [c.id for c in load_mission().chapters]
SHORT_CHAPTERS = [c for c in CHAPTERS if (_chapter(c)[1] - _chapter(c)[0]) / EXPORT_DURATION_S <= WEB_SPEED]


def _cases():
    for c in CHAPTERS:
        yield c, "speed"
    yield from ((c, "duration") for c in SHORT_CHAPTERS)


@pytest.mark.parametrize("chapter, pace", list(_cases()))
def test_export_turns_at_most_3_degrees_a_frame(chapter, pace):
    from viewer.epochs import utc_from_et

    start, end = _chapter(chapter)
    speed = WEB_SPEED if pace == "speed" else (end - start) / EXPORT_DURATION_S
    ets, dirs, carry = _export_dirs(start, end, speed)
    ang = _angles(dirs)
    keep = np.asarray(carry[1:], bool)
    bad = [(utc_from_et(t), round(float(a), 1)) for t, a, k in zip(ets[1:], ang, keep) if k and a > MAX_DEG]
    assert not bad, f"{chapter}: {len(bad)} of {len(ang)} frames turn over {MAX_DEG}°, e.g. {bad[:8]}"
