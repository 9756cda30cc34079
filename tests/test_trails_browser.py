"""Smooth trails in the browser: the trail vertices vtk.js draws, read back from the page and projected through the
real vtk.js camera (``__ce6.project``) in a 1920×1080 page, turn by at most 2° between consecutive on-screen segments in
coasts, in every preset view of the web app, at the preset's zoom and after zooming in 4× on a trail. The same
moments and the same rule as the stills' test (``tests/test_scene_trails.py``): segments under a pixel are not
judged, nor vertices near a manoeuvre or in a powered, atmosphere or surface arc."""

from __future__ import annotations

import numpy as np
import pytest
from test_scene_trails import MAX_TURN_DEG, MOMENTS, REQUIRE_ALL, _corners, judged_turns
from test_ui_browser import READY_JS

W, H = 1920, 1080  # the page

# every drawn trail: its vertices (render units), their epochs, and their pixels through the vtk.js camera
DRAWN_JS = """() => {
  const c = window.__ce6, b = c.bound, out = [];
  for (const [name, times] of Object.entries(b.trailTimes)) {
    const act = (b.actors[name] || [])[0];
    if (!act || !act.getVisibility()) continue;
    const pts = Array.from(act.getMapper().getInputData().getPoints().getData());
    if (pts.length / 3 !== times.length) continue;
    const px = [];
    for (let k = 0; k < pts.length; k += 3) px.push(c.project([pts[k], pts[k + 1], pts[k + 2]]));
    out.push({name, times: Array.from(times), points: pts, px});
  }
  return out;
}"""

ZOOM_JS = """([p, zoom]) => {
  const b = window.__ce6.bound, cam = b.ren.getActiveCamera(), f = cam.getFocalPoint(), q = cam.getPosition();
  cam.setFocalPoint(p[0], p[1], p[2]);
  cam.setPosition(q[0] + p[0] - f[0], q[1] + p[1] - f[1], q[2] + p[2] - f[2]);
  cam.zoom(zoom);
  b.ren.resetCameraClippingRange();
  window.__ce6.clock.dirty = true;
}"""

VEHICLE = {"orbiter": "CHANGE6_ORBITER", "returner": "CHANGE6_RETURNER", "lander": "CHANGE6_LANDER",
           "ascender": "CHANGE6_ASCENDER", "queqiao2": "QUEQIAO_2"}  # fmt: skip


def _judged(drawn: list[dict], w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn (deg) at every judged vertex (``judged_turns``) and its point."""
    angles, where = [np.zeros(0)], [np.zeros((0, 3))]
    for d in drawn:
        q = np.asarray(d["px"], float)
        t = np.asarray(d["times"], float)
        pts = np.asarray(d["points"], float).reshape(-1, 3)
        if len(q) < 3:
            continue
        turn, ok = judged_turns(q, t, _corners(VEHICLE[d["name"].split(":")[1]]), (w, h))
        angles.append(turn[ok])
        where.append(pts[1:-1][ok])
    return np.concatenate(angles), np.concatenate(where)


def _wait_drawn(page) -> None:
    page.wait_for_function("() => window.__ce6 && window.__ce6.bound && !window.__ce6.clock.dirty", timeout=30_000)
    page.wait_for_timeout(300)


@pytest.mark.slow
@pytest.mark.parametrize("view, utc", [m for m in MOMENTS if m[0] != "follow"])  # no follow view on the web
def test_browser_trails_turn_at_most_2_degrees_on_screen(browser, server, view, utc):
    from viewer.epochs import et_from_utc
    from viewer.scene.kinematics import coverage

    cov = coverage("CHANGE6_ORBITER")
    if cov is None or not cov[0] <= et_from_utc(utc) <= cov[1]:
        msg = f"the built kernels do not cover the orbiter at {utc}"
        if REQUIRE_ALL:
            pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {msg}")
        pytest.skip(msg)
    page = browser.new_page(viewport={"width": W, "height": H})
    try:
        page.goto(f"{server}?view={view}&t={utc}")
        page.wait_for_function(READY_JS, timeout=90_000)
        _wait_drawn(page)
        box = page.locator(".mv-stage").bounding_box()
        size = (box["width"], box["height"])
        for zoom in (1.0, 4.0):
            if zoom != 1.0:
                pts = _judged(page.evaluate(DRAWN_JS), *size)[1]
                assert len(pts), f"{view} at {utc}: no trail vertex to zoom on"
                centre = np.array([box["width"] / 2, box["height"] / 2])
                q = np.asarray([page.evaluate("(p) => window.__ce6.project(p)", list(map(float, p))) for p in pts])
                target = pts[int(np.nanargmin(np.linalg.norm(q - centre, axis=1)))]
                page.evaluate(ZOOM_JS, [list(map(float, target)), zoom])
                _wait_drawn(page)
            drawn = page.evaluate(DRAWN_JS)
            assert drawn, f"{view} at {utc}, zoom {zoom:g}: no trail drawn"
            angles, _ = _judged(drawn, *size)
            assert len(angles) >= 10, f"{view} at {utc}, zoom {zoom:g}: only {len(angles)} trail vertices to judge"
            worst = float(angles.max())
            assert worst <= MAX_TURN_DEG + 0.05, f"{view} at {utc}, zoom {zoom:g}: a trail turns by {worst:.2f}°"
    finally:
        page.close()
