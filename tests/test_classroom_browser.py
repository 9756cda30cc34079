"""A teacher leads, the class follows, in real Chromium with separate browser contexts: the leader opens a room with
the teacher PIN, a follower joins by the room's URL, the leader jumps and the follower's frame shows the same moment
within a second; look around and rejoin; a wrong PIN is refused and limited; a follower cannot drive the room."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from test_ui_browser import READY_JS, serve_app

PIN = "468213"


@pytest.fixture(scope="module")
def server(request):
    request.getfixturevalue("mission_kernels")  # the web app test's check that the mission kernels are built
    with serve_app("class", VIEWER_TEACHER_PIN=PIN) as url:
        yield url


def _open(browser, url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(READY_JS, timeout=90_000)
    page.wait_for_timeout(800)
    return ctx, page, errors


def _canvas(page) -> np.ndarray:
    import io

    from PIL import Image

    box = page.locator(".mv-stage").bounding_box()
    png = page.screenshot(clip=box)
    img = Image.open(io.BytesIO(png)).convert("L").resize((64, 36), Image.BILINEAR)
    return np.asarray(img, float).ravel()


def _corr(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def _lead(page, pin=PIN) -> str:
    page.locator("input[type=password]").fill(pin)
    page.get_by_role("button", name="Lead a class").click()
    page.wait_for_timeout(1200)
    return page.locator(".ce6-class-code, .ce6-class-error").first.inner_text()


def _wait(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_follower_mirrors_the_leader_and_can_look_around(browser, server):
    lctx, leader, lerr = _open(browser, server + "?t=2024-05-20T03:00:00Z")  # the story camera, as a class sees it
    text = _lead(leader)
    m = re.search(r"Room ([A-Z2-9]{6})", text)
    assert m, text
    code = m.group(1)
    assert leader.locator("svg").count() >= 1  # the QR code
    fctx, follower, ferr = _open(browser, server + f"?follow={code}")
    try:
        assert _wait(lambda: follower.locator(".mv-utc").inner_text() == leader.locator(".mv-utc").inner_text())
        # the leader jumps to a phase: the follower shows the same moment within a second
        leader.get_by_role("button", name=re.compile("Landing|Powered descent")).first.click()
        t0 = time.monotonic()
        assert _wait(
            lambda: (
                follower.locator(".mv-utc").inner_text() == leader.locator(".mv-utc").inner_text()
                and leader.locator(".mv-utc").inner_text().startswith("2024-06-01")
            ),
            5.0,
        )
        lag = time.monotonic() - t0
        leader.wait_for_timeout(2500)
        follower.wait_for_timeout(500)
        assert _corr(_canvas(leader), _canvas(follower)) >= 0.8
        assert lag < 3.0, f"the follower took {lag:.1f} s"
        # a follower's crafted messages change only its own session, never the room or the leader
        lead_utc = leader.locator(".mv-utc").inner_text()
        follower.evaluate("() => { const m = window.__ce6.model; m.et = m.et + 86400 * 3; m.playing = true; }")
        follower.wait_for_timeout(1500)
        assert leader.locator(".mv-utc").inner_text() == lead_utc
        follower.evaluate("() => { window.__ce6.model.playing = false; }")
        # look around: the leader moves on, the follower stays; rejoin: back to the leader's moment
        follower.get_by_role("button", name="Look around").click()
        follower.wait_for_timeout(500)
        before = follower.locator(".mv-utc").inner_text()
        leader.get_by_role("button", name=re.compile("Coasting home|Trans-Earth|Earth return")).first.click()
        leader.wait_for_timeout(2000)
        assert follower.locator(".mv-utc").inner_text() == before
        follower.get_by_role("button", name="Rejoin the class").click()
        assert _wait(lambda: follower.locator(".mv-utc").inner_text() == leader.locator(".mv-utc").inner_text())
        # the leader leaves: the follower is told the lesson has paused and keeps the view
        lctx.close()
        assert _wait(lambda: "The lesson has paused" in follower.locator(".ce6-class-status").inner_text(), 30.0)
        assert ferr == [] and lerr == []
    finally:
        fctx.close()


def test_wrong_pin_is_refused_and_limited(browser, server):
    ctx, page, _ = _open(browser, server)
    try:
        answers = [_lead(page, "000000") for _ in range(6)]
        assert "Wrong PIN" in answers[0]
        assert any("Too many wrong PINs" in a for a in answers[4:]), answers
        assert page.locator(".ce6-class-code").count() == 0
    finally:
        ctx.close()


def test_unknown_room_says_so(browser, server):
    ctx, page, _ = _open(browser, server + "?follow=ZZZZZZ")
    try:
        assert "There is no class with that code" in page.locator(".ce6-class-error").inner_text()
    finally:
        ctx.close()
