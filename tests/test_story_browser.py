"""The story camera in the web app, in headless Chromium: ``?t=`` alone frames the moment's subject, on the lit
side near a body; the visitor takes the camera and gives it back; the page and the offscreen still agree.

The subject's screen position is read from the page: its drawn position (the same track interpolation that moves
its actor) projected through the vtk.js renderer's active camera.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_ui_browser import REPO, Page

STORY_READY_JS = "() => !!(window.__ce6 && window.__ce6.bound && window.__ce6.story.state.lastPose)"

# one moment inside each kind of shot (system, stand-in system views, lunar, site, return)
MOMENTS = [
    "2024-03-21T12:00:00Z",  # Queqiao-2 cruise
    "2024-03-28T06:00:00Z",  # Queqiao-2 orbit adjustment (a lunar shot shown in the Earth-Moon view)
    "2024-04-20T00:00:00Z",  # Queqiao-2 in its mission orbit
    "2024-05-03T09:50:00Z",  # launch and ascent
    "2024-05-05T00:00:00Z",  # cruise
    "2024-05-13T00:00:00Z",  # lunar orbit
    "2024-05-30T06:00:00Z",  # lander-ascender separation
    "2024-06-01T22:12:00Z",  # powered descent, chase
    "2024-06-01T22:23:00Z",  # the last minute of the descent, site view
    "2024-06-02T12:00:00Z",  # surface work
    "2024-06-03T23:40:00Z",  # liftoff
    "2024-06-04T12:00:00Z",  # ascender in lunar orbit
    "2024-06-06T10:00:00Z",  # docking
    "2024-06-12T00:00:00Z",  # orbiter waiting in lunar orbit
    "2024-06-22T00:00:00Z",  # trans-Earth coast
    "2024-06-25T05:00:00Z",  # capsule separation
    "2024-06-25T05:45:00Z",  # entry
    "2024-06-25T06:02:00Z",  # parachute
]
# Near the Earth, the director's own camera (the offscreen still as well) shows the night side at these moments:
# the page must frame them like the still, but they are not held to the lit share (a director change, not the app's)
DIRECTOR_DARK = {
    "2024-05-03T09:50:00Z": "launch chase: the Earth is behind the camera",
    "2024-06-25T05:00:00Z": "capsule separation side-on: the Earth's night side",
}
NEAR_RADII = 4.0  # near a body: within this many radii of its centre (as in viewer.director.rules)
LIT_LUMINANCE = 30
MIN_LIT = 0.08

PROBE_JS = (
    """() => {
  const c = window.__ce6, lp = c.story.state.lastPose, b = c.bound, raw = c.tracks.raw;
  const ps = c.pose(c.tracks.actors[lp.actor], c.clock.et);
  const [W, H] = b.renWin.getRenderWindow().getViews()[0].getSize();
  const nd = b.ren.worldToNormalizedDisplay(ps.p[0], ps.p[1], ps.p[2], W / H);
  let near = raw.view === "site";
  for (const [body, rkm] of Object.entries(raw.body_radii_km || {})) {
    const a = c.tracks.actors[body], bp = a ? c.pose(a, c.clock.et) : null;
    if (!bp || !(raw.bodies || []).includes(body)) continue;
    const d = Math.hypot(ps.p[0] - bp.p[0], ps.p[1] - bp.p[1], ps.p[2] - bp.p[2]);
    if (d < """
    + str(NEAR_RADII)
    + """ * rkm * raw.units_per_km) near = true;
  }
  const cam = b.ren.getActiveCamera();
  return {view: raw.view, subject: lp.subject, shot: lp.shot, nd, near, following: c.story.following,
          position: cam.getPosition(), focal: cam.getFocalPoint(), url: location.search};
}"""
)


@pytest.fixture
def story_browser(browser, server):  # noqa: F811 - the shared server fixture
    return browser, server


def _open(story_browser, query: str) -> Page:
    browser, url = story_browser
    page = Page(browser, url + query)
    page.page.wait_for_function(STORY_READY_JS, timeout=60_000)
    page.settle(800)
    return page


def lit_share(grey: np.ndarray) -> float:
    """Share of 5×5-pixel blocks whose mean luminance is above LIT_LUMINANCE."""
    h, w = (grey.shape[0] // 5) * 5, (grey.shape[1] // 5) * 5
    blocks = grey[:h, :w].reshape(h // 5, 5, w // 5, 5).mean(axis=(1, 3))
    return float((blocks > LIT_LUMINANCE).mean())


def _grey(page: Page) -> np.ndarray:
    """The vtk.js canvas in grey levels (as ../shared/tools/contact_sheet.py captures it)."""
    png = page.page.locator("canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), float) @ np.array([0.299, 0.587, 0.114])


def _thumb(grey: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(grey.astype(np.uint8)).resize((64, 36), Image.BILINEAR), float).ravel()


def test_t_alone_frames_the_subject_in_the_centre_and_on_the_lit_side(story_browser):
    rows, bad = [], []
    for utc in MOMENTS:
        page = _open(story_browser, f"?t={utc}")
        try:
            info = page.page.evaluate(PROBE_JS)
            lit = lit_share(_grey(page))
            assert page.errors == [], (utc, page.errors[:3])
        finally:
            page.close()
        x, y, z = info["nd"]
        central = 0.2 <= x <= 0.8 and 0.2 <= y <= 0.8 and 0 < z < 1
        rows.append((utc, info["view"], info["subject"], round(x, 3), round(y, 3), info["near"], round(lit, 3)))
        assert info["following"] and "view=" not in info["url"], (utc, info)
        if not central or (info["near"] and lit < MIN_LIT and utc not in DIRECTOR_DARK):
            bad.append(rows[-1])
    print("\n".join(map(str, rows)))
    assert len(rows) >= 12
    assert bad == [], f"off-centre or dark story frames (utc, view, subject, x, y, near, lit): {bad}"


def test_view_opens_a_preset_and_t_alone_the_story_view(story_browser):
    page = _open(story_browser, "?t=2024-06-02T12:00:00Z")
    try:
        assert page.page.evaluate("() => window.__ce6.tracks.raw.view") == "site"
    finally:
        page.close()
    browser, url = story_browser
    page = Page(browser, url + "?t=2024-06-02T12:00:00Z&view=lunar")
    try:
        page.settle(800)
        got = page.page.evaluate("() => [window.__ce6.tracks.raw.view, window.__ce6.story.following]")
        assert got == ["lunar", False]
    finally:
        page.close()


def drag_stage(pg, fx: float, dx: float, dy: float, steps: int) -> None:
    """A mouse drag on the 3D view from ``fx`` of its width (half its height) by (dx, dy) pixels."""
    box = pg.locator(".mv-stage").bounding_box()
    cx, cy = box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5
    pg.mouse.move(cx, cy)
    pg.mouse.down()
    pg.mouse.move(cx + dx, cy + dy, steps=steps)
    pg.mouse.up()


def test_drag_detaches_and_back_to_the_story_eases_back(story_browser):
    page = _open(story_browser, "?t=2024-05-13T00:00:00Z")
    try:
        pg = page.page
        story_pose = pg.evaluate(PROBE_JS)
        drag_stage(pg, 0.5, 160, 40, steps=8)
        page.settle(500)
        moved = pg.evaluate(PROBE_JS)
        assert not moved["following"]
        assert np.linalg.norm(np.subtract(moved["position"], story_pose["position"])) > 100  # km: the visitor's
        back = pg.locator(".story-back")
        assert back.is_visible() and back.inner_text() == "Back to the story"
        back.click()
        page.settle(300)
        halfway = pg.evaluate(PROBE_JS)
        pg.wait_for_function("() => window.__ce6.story.state.lastPose && !window.__ce6.story.state.lastPose.blending")
        page.settle(300)
        home = pg.evaluate(PROBE_JS)
        assert home["following"] and not back.is_visible()
        d_half = np.linalg.norm(np.subtract(halfway["position"], story_pose["position"]))
        d_home = np.linalg.norm(np.subtract(home["position"], story_pose["position"]))
        assert d_home < 1.0 and d_half > 1.0, (d_half, d_home)  # km: eased back, not snapped
    finally:
        page.close()


@pytest.mark.parametrize("utc", ["2024-05-13T00:00:00Z", "2024-06-02T12:00:00Z", "2024-06-25T05:45:00Z"])
def test_page_and_offscreen_still_agree(story_browser, utc):
    page = _open(story_browser, f"?t={utc}")
    try:
        web = _grey(page)
    finally:
        page.close()
    h, w = (web.shape[0] // 2) * 2, (web.shape[1] // 2) * 2
    web = web[:h, :w]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "still.png"
        argv = [sys.executable, "-m", "viewer", "screenshot", "--time", utc, "--size", f"{w}x{h}", "--quality", "fast"]
        r = subprocess.run([*argv, str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        still = np.asarray(Image.open(io.BytesIO(out.read_bytes())).convert("L"), float)
    corr = float(np.corrcoef(_thumb(web), _thumb(still))[0, 1])
    print(utc, "corr", round(corr, 3))
    if corr < 0.8:  # keep both pictures for a look
        pair = np.concatenate([web, still[: web.shape[0], : web.shape[1]]], axis=1).astype(np.uint8)
        keep = Path(tempfile.gettempdir()) / f"story-compare-{utc.replace(':', '')}.png"
        Image.fromarray(pair).save(keep)
    assert corr >= 0.8, (utc, corr, "page | still in", str(keep))


def _poll(pg, seconds: float, every_ms: int = 100) -> list[dict]:
    """The story's state every ``every_ms`` for ``seconds`` of wall time, with the wall time in ``wall``."""
    return pg.evaluate(
        """([ms, every]) => new Promise(res => { const out = [], t0 = performance.now();
          const tick = () => { const c = window.__ce6, s = c.story, lp = s.state.lastPose;
            out.push({wall: (performance.now() - t0) / 1000, et: c.clock.et, view: c.tracks.raw.view,
                      shot: lp && lp.shot, blending: !!(lp && lp.blending), pending: !!s.pending});
            if (performance.now() - t0 < ms) setTimeout(tick, every); else res(out); };
          tick(); })""",
        [seconds * 1000, every_ms],
    )


def _play(pg, speed: float) -> None:
    pg.evaluate(f"() => {{ const c = window.__ce6; c.clock.speed = {speed}; c.setPlaying(true); }}")


def test_a_move_between_shots_of_one_view_eases_over_two_wall_seconds(story_browser):
    # descent_start - 600 s: the separation's side-on shot hands over to the descent's chase, both in the lunar view
    page = _open(story_browser, "?t=2024-06-01T21:58:30Z")
    try:
        _play(page.page, 100)  # 10 s of mission time to the boundary; the descent's shot lasts 1,396 s
        states = _poll(page.page, 6.0)
    finally:
        page.close()
    moving = [s for s in states if s["blending"]]
    assert moving, "no eased move at the shot boundary"
    span = moving[-1]["wall"] - moving[0]["wall"]
    assert {s["view"] for s in states} == {"lunar"}
    assert span >= 1.8, f"the move lasted {span:.2f} wall seconds at x100"  # polled every 0.1 s: >= 2 s less a poll


def test_playing_into_another_views_shot_switches_the_view(story_browser):
    # slow_descent - 60 s: the lunar chase cuts to the site view
    page = _open(story_browser, "?t=2024-06-01T22:21:45Z")
    try:
        _play(page.page, 10)
        page.page.wait_for_function(
            "() => window.__ce6.tracks.raw.view === 'site' && window.__ce6.story.state.lastPose.shot === 9",
            timeout=30_000,
        )
        page.settle(800)
        assert page.page.evaluate("() => window.__ce6.story.following")
        assert "view=" not in page.page.url
        assert page.errors == []
    finally:
        page.close()
