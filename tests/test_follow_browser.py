"""Follow a spacecraft in the web app (headless Chromium): a click on its label (or the list) and the camera keeps it
centred while the clock moves; its fine track comes from ``GET /vehicle_track`` one window at a time, each response
under 1 MB, the next window fetched before it is needed; bad requests get a 400 with one line.

The followed vehicle's screen position is its actor's drawn position (the translation of its vtk.js user matrix)
projected through the renderer's active camera.
"""

from __future__ import annotations

import json
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

import numpy as np
import pytest
from test_story_browser import drag_stage
from test_ui_browser import Page

from viewer.epochs import et_from_utc

MAX_BYTES = 1_000_000
CENTRE_TOL = 0.03  # fraction of the canvas size

# the followed actor's drawn position (its user matrix) projected to the canvas, as fractions of its size
DRAWN_JS = """(actor) => {
  const c = window.__ce6, b = c.bound, list = b.actors[actor];
  const m = list[0].getUserMatrix(), [W, H] = b.renWin.getRenderWindow().getViews()[0].getSize();
  const nd = b.ren.worldToNormalizedDisplay(m[12], m[13], m[14], W / H);
  const cam = b.ren.getActiveCamera(), p = cam.getPosition();
  return {x: nd[0], y: nd[1], visible: list[0].getVisibility(), et: c.clock.et, actor: c.follow.actor,
          distance: Math.hypot(p[0] - m[12], p[1] - m[13], p[2] - m[14]), fine: c.follow.state.fineUsed,
          story: c.story.following, windows: c.follow.windows, requests: c.follow.state.requests};
}"""


def _get(base: str, **query) -> tuple[int, str]:
    try:
        with urlopen(base + "vehicle_track?" + urlencode(query), timeout=60) as r:
            return r.status, r.read().decode()
    except HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def follow_page(browser, server):  # noqa: F811 - the shared server fixture
    pages = []

    def open_(query: str) -> Page:
        p = Page(browser, server + query)
        p.page.wait_for_function("() => !!(window.__ce6.story.state.lastPose)", timeout=60_000)
        p.settle(800)
        pages.append(p)
        return p

    yield open_
    for p in pages:
        p.close()


def _wait_following(pg, actor: str) -> dict:
    pg.wait_for_function(
        "(a) => { const f = window.__ce6.follow; return f.actor === a && f.state.following &&"
        " f.state.following.centredAt !== null; }",
        arg=actor,
        timeout=10_000,
    )
    pg.wait_for_timeout(1200)  # the camera's ease to its distance
    return pg.evaluate(DRAWN_JS, actor)


def _centred(d: dict) -> bool:
    return abs(d["x"] - 0.5) < CENTRE_TOL and abs(d["y"] - 0.5) < CENTRE_TOL


def test_clicking_a_label_follows_the_vehicle_over_scrub_steps(follow_page):
    page = follow_page("?t=2024-06-06T03:00:00Z")  # the ascender closing on the orbiter, lunar view
    pg = page.page
    label = pg.locator('.mv-label[data-actors~="orbiter"]').first
    label.wait_for(state="visible", timeout=10_000)
    label.click()
    first = _wait_following(pg, "orbiter")
    assert _centred(first), first
    assert not first["story"]  # the story let go of the camera
    assert pg.locator(".story-back").is_visible()
    seen = []
    for k in range(6):  # scrub: the orbiter moves ~1,000 km per step, the camera with it
        pg.keyboard.press("Shift+ArrowRight")
        pg.wait_for_timeout(500)
        d = pg.evaluate(DRAWN_JS, "orbiter")
        seen.append(d)
        assert d["actor"] == "orbiter" and d["visible"], d
        assert _centred(d), (k, d)
    assert seen[-1]["et"] - first["et"] > 5000
    assert seen[-1]["fine"] > first["fine"] > 0  # drawn on the fine track
    assert abs(seen[-1]["distance"] / first["distance"] - 1) < 0.01  # at the distance it took
    for r in seen[-1]["requests"]:
        assert r["status"] == 200 and r["bytes"] <= MAX_BYTES, r


def test_the_next_window_is_fetched_before_it_is_needed(follow_page):
    page = follow_page("?t=2024-05-20T00:00:00Z")
    pg = page.page
    pg.locator(".follow-pick").select_option("orbiter")
    d = _wait_following(pg, "orbiter")
    assert _centred(d)
    win = [w for w in d["windows"] if w["t0"] <= d["et"] <= w["t1"]][0]
    mid = win["t0"] + 0.6 * (win["t1"] - win["t0"])
    pg.evaluate("(et) => window.__ce6.setTime(et)", mid)
    pg.wait_for_timeout(1500)
    after = pg.evaluate(DRAWN_JS, "orbiter")
    nxt = [w for w in after["windows"] if w["t0"] == win["t1"]]
    assert nxt and nxt[0]["status"] == "ready", after["windows"]
    pg.evaluate("(et) => window.__ce6.setTime(et)", win["t1"] + 10.0)
    pg.wait_for_timeout(400)
    inside = pg.evaluate(DRAWN_JS, "orbiter")
    assert _centred(inside)
    assert len(inside["requests"]) == len(after["requests"])  # nothing new was needed: it was there already
    assert all(r["bytes"] <= MAX_BYTES for r in inside["requests"])


def test_the_visitor_orbits_the_followed_vehicle_and_goes_back_to_the_story(follow_page):
    page = follow_page("?t=2024-05-13T00:00:00Z")
    pg = page.page
    pg.locator(".follow-pick").select_option("orbiter")
    before = _wait_following(pg, "orbiter")
    cam0 = pg.evaluate("() => window.__ce6.bound.ren.getActiveCamera().getDirectionOfProjection()")
    for _ in range(3):  # (headless, vtk.js turns the camera on a drag's first move only)
        drag_stage(pg, 0.3, 60, 10, steps=1)
        pg.wait_for_timeout(200)
    pg.keyboard.press("ArrowRight")
    pg.wait_for_timeout(600)
    after = pg.evaluate(DRAWN_JS, "orbiter")
    cam1 = pg.evaluate("() => window.__ce6.bound.ren.getActiveCamera().getDirectionOfProjection()")
    turned = np.degrees(np.arccos(np.clip(np.dot(cam0, cam1), -1, 1)))
    assert turned > 15 and _centred(after) and after["actor"] == "orbiter", (turned, after)
    assert abs(after["distance"] / before["distance"] - 1) < 0.05
    pg.locator(".story-back").click()
    pg.wait_for_function("() => window.__ce6.follow.actor === null && window.__ce6.story.following")
    assert pg.locator(".follow-pick").input_value() == ""


def test_the_list_is_in_the_page_language(follow_page):
    page = follow_page("?t=2024-05-13T00:00:00Z&lang=zh")
    texts = page.page.locator(".follow-pick option").all_inner_texts()
    assert texts[0] == "跟随一个航天器…" and "轨道器" in texts and "鹊桥二号" in texts, texts


def test_bad_requests_answer_400_with_one_line(server):  # noqa: F811
    et = et_from_utc("2024-05-20T00:00:00Z")
    cases = [
        {"view": "lunar", "vehicle": "VOYAGER_1", "t0": et, "t1": et + 600},
        {"view": "lunar", "vehicle": "CHANGE6_ORBITER", "t0": 0, "t1": 600},
        {"view": "lunar", "vehicle": "CHANGE6_ORBITER", "t0": et, "t1": et + 1e8},
        {"view": "lunar", "vehicle": "CHANGE6_ORBITER", "t0": "soon", "t1": et},
        {"view": "lunar", "vehicle": "CHANGE6_ORBITER", "t0": et, "t1": et - 5},
        {"view": "nowhere", "vehicle": "CHANGE6_ORBITER", "t0": et, "t1": et + 600},
        {"view": "lunar", "vehicle": "CHANGE6_ORBITER"},
    ]
    for q in cases:
        status, body = _get(server, **q)
        assert status == 400, (q, status, body)
        lines = body.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in body and len(lines[0]) < 300, (q, body)
    assert "VOYAGER_1" in _get(server, **cases[0])[1]
    assert "ask for at most" in _get(server, **cases[2])[1]


def test_the_worst_case_window_is_under_1_mb_and_holds_every_module_nearby(server):  # noqa: F811
    from viewer.scene.tracks import decode

    # the longest window the browser asks for, while all four Chang'e-6 modules fly together (all come along)
    t0 = 604800.0 * np.floor(et_from_utc("2024-05-05T00:00:00Z") / 604800.0)
    status, body = _get(server, view="system", vehicle="CHANGE6_ORBITER", t0=t0, t1=t0 + 604800.0)
    assert status == 200, body
    assert len(body.encode()) <= MAX_BYTES
    w = json.loads(body)
    assert {"orbiter", "lander", "ascender", "returner"} <= set(w["actors"]) and "queqiao2" not in w["actors"]
    # a short window is sampled every half second, and the orbiter moves at lunar-orbit speed along it
    a = et_from_utc("2024-05-20T00:00:00Z")
    status, body = _get(server, view="lunar", vehicle="CHANGE6_ORBITER", t0=a, t1=a + 299.5)
    fine = json.loads(body)
    t, p = decode(fine["t"]), decode(fine["actors"]["orbiter"]["p"])
    assert fine["n"] == 600 and np.allclose(np.diff(t), 0.5)
    speed = np.linalg.norm(np.diff(p, axis=0), axis=1) / np.diff(t)  # km/s
    assert 1.4 < speed.min() and speed.max() < 2.0, (speed.min(), speed.max())
