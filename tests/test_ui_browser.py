"""The web app in headless Chromium (Debian's, launched by path): the web app's acceptance list.

One server (``python app.py`` in a subprocess on a free 127.0.0.1 port: ``conftest.py``'s session fixture ``server``,
shared with the other browser modules) and one browser serve the whole module.
These tests also pin Panel's VTK-pane internals the browser animation relies on (``renderer_el``,
``getActors(ptr)``): if a Panel upgrade changes them, the scene stops moving and these tests fail.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from app_server import REPO, ServedApp, free_port, serve_app, stop_process  # noqa: F401 - used by other test modules

READY_JS = "() => !!(window.__ce6 && window.__ce6.bound)"


class Page:
    """A loaded app page with its console errors and every request URL."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_function(READY_JS, timeout=90_000)
        self.settle()

    def settle(self, ms: int = 600) -> None:
        self.page.wait_for_timeout(ms)

    def canvas(self) -> np.ndarray:
        """Pixels of the 3D view (a clip screenshot: vtk.js may replace its canvas element)."""
        import io

        from PIL import Image

        box = self.page.locator(".mv-stage").bounding_box()
        png = self.page.screenshot(clip=box)
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)

    def utc(self) -> str:
        return self.page.locator(".mv-utc").inner_text()

    def wait_utc(self, predicate, timeout_ms: int = 15_000) -> str:
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            text = self.utc()
            if predicate(text):
                return text
            self.page.wait_for_timeout(100)
        return self.utc()

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def app_page(browser, server):
    pages = []

    def open_(query: str = "") -> Page:
        p = Page(browser, server + query)
        pages.append(p)
        return p

    yield open_
    for p in pages:
        p.close()


def _changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).sum(axis=2) > 24).mean())


def test_page_loads_offline_without_errors_and_draws(app_page, server):
    p = app_page()
    assert p.errors == []
    host = server.split("/")[2]
    outside = [u for u in p.requests if not u.startswith(("data:", "blob:")) and u.split("/")[2] != host]
    assert outside == [], f"requests left {host}: {outside[:5]}"
    img = p.canvas()
    lit = (img.sum(axis=2) > 60).mean()  # the default view is mostly space: stars, trails, two small bodies
    assert lit > 0.002 and len(np.unique(img.reshape(-1, 3), axis=0)) > 200, (lit, img.std())
    # the visible mission note and the grade badges
    assert "no public ephemeris" in p.page.locator(".ce6-note").inner_text()
    assert p.page.locator(".ce6-badge").count() >= 1


def test_slider_drag_moves_the_scene_and_the_utc_readout(app_page):
    p = app_page("?t=2024-06-05T00:00:00Z&view=lunar")
    before_img, before_utc = p.canvas(), p.utc()
    slider = p.page.locator(".mv-slider")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    x0 = box["x"] + box["width"] * 0.80
    p.page.mouse.move(x0, y)
    p.page.mouse.down()
    p.page.mouse.move(x0 + 12, y, steps=4)
    p.page.mouse.up()
    after_utc = p.wait_utc(lambda s: s != before_utc)
    p.settle(400)
    assert after_utc != before_utc
    assert _changed_fraction(before_img, p.canvas()) > 0.001


def _open_link_time(view: str = "lunar") -> str:
    """A UTC time inside the view's span when a relay link between two vehicles of the scene is open."""
    from viewer import kernels, links
    from viewer.epochs import et_from_utc, utc_from_et
    from viewer.scene.views import get_view

    kernels.furnish()
    v = get_view(view)
    lo, hi = et_from_utc(v.tracks_start), et_from_utc(v.tracks_end)
    for lid, link in links.links().items():
        if link.kind not in ("surface", "station", "space"):
            continue
        for a, b in links.windows(lid):
            a, b = max(a, lo), min(b, hi)
            if b - a > 1800:
                return utc_from_et(0.5 * (a + b))
    pytest.fail("no relay link is open in the lunar view's span: the link model or the kernels changed")


def test_relay_toggle_hides_and_shows_link_lines(app_page):
    p = app_page(f"?t={_open_link_time()}&view=lunar")
    shown = p.canvas()
    visible = p.page.evaluate(
        "() => Object.entries(window.__ce6.bound.actors).filter(([n, l]) => "
        "n.startsWith('link:') && l[0].getVisibility()).length"
    )
    assert visible >= 1
    switch = p.page.locator(".bk-Checkbox").filter(has_text="Relay links").locator("input")
    switch.click()
    p.page.wait_for_function(
        "() => Object.entries(window.__ce6.bound.actors).every(([n, l]) => "
        "!n.startsWith('link:') || !l[0].getVisibility())",
        timeout=10_000,
    )
    p.settle(300)
    hidden = p.canvas()
    assert _changed_fraction(shown, hidden) > 0.0005
    switch.click()
    p.page.wait_for_function(
        "() => Object.entries(window.__ce6.bound.actors).some(([n, l]) => "
        "n.startsWith('link:') && l[0].getVisibility())",
        timeout=10_000,
    )
    p.settle(300)
    assert _changed_fraction(shown, p.canvas()) < _changed_fraction(shown, hidden)


def test_phase_buttons_jump_to_the_phase_start(app_page):
    from viewer.epochs import utc_label
    from viewer.mission import load_mission

    p = app_page()
    for phase_id in ("powered_descent", "ascent", "cruise"):
        phase = load_mission().item(phase_id)
        want = utc_label(phase.start_et)
        p.page.get_by_role("button", name=phase.title.en, exact=True).click()
        assert p.wait_utc(lambda s, want=want: s == want) == want


def test_language_switch_turns_captions_chinese(app_page):
    p = app_page("?t=2024-06-02T03:00:00Z")
    cap = p.page.locator(".ce6-phase-title")
    assert not re.search(r"[\u4e00-\u9fff]", cap.inner_text())
    p.page.get_by_text("中文", exact=True).click()
    p.page.wait_for_function("() => true")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not re.search(r"[\u4e00-\u9fff]", cap.inner_text()):
        p.settle(100)
    assert re.search(r"[\u4e00-\u9fff]", cap.inner_text())
    assert re.search(r"[\u4e00-\u9fff]", p.page.locator(".mv-phase-name").inner_text())


def test_url_with_time_and_view_opens_there_and_keys_drive_time(app_page):
    p = app_page("?t=2024-06-04T12:00:00Z&view=lunar&lang=zh")
    assert p.utc() == "2024-06-04 12:00:00 UTC"
    assert p.page.evaluate("() => window.__ce6.tracks.raw.view") == "lunar"
    assert re.search(r"[\u4e00-\u9fff]", p.page.locator(".ce6-phase-title").inner_text())
    # keyboard: an arrow steps one playback second (x1,000 by default), space plays and pauses
    p.page.locator(".mv-stage").click()
    p.page.keyboard.press("ArrowRight")
    assert p.wait_utc(lambda s: s != "2024-06-04 12:00:00 UTC") == "2024-06-04 12:16:40 UTC"
    # the URL follows the state (shareable)
    p.page.wait_for_function("() => /t=2024-06-04T12(%3A|:)16(%3A|:)40Z/.test(location.search)", timeout=10_000)
    p.page.keyboard.press(" ")
    p.page.wait_for_timeout(800)
    p.page.keyboard.press(" ")
    assert not p.page.evaluate("() => window.__ce6.clock.playing")
    assert p.utc() > "2024-06-04 12:16:40 UTC"


def test_screenshot_button_downloads_a_png_of_the_view(app_page, tmp_path):
    from PIL import Image

    p = app_page("?t=2024-05-20T06:00:00Z&view=lunar")
    p.page.get_by_role("button", name="Screenshot (PNG)").click()
    link = p.page.get_by_role("button", name=re.compile(r"^Download change6_lunar_20240520T060000Z\.png"))
    link.wait_for(timeout=120_000)
    with p.page.expect_download(timeout=30_000) as dl:
        link.click()
    path = tmp_path / "shot.png"
    dl.value.save_as(path)
    img = Image.open(path)
    assert img.format == "PNG" and img.size == (1920, 1080)
    assert np.asarray(img.convert("L")).std() > 5


# ---------------------------------------------------------------------------------------------- frames and words
VIEW_NAMES = {
    "system": "Earth–Moon system",
    "lunar": "Lunar orbit",
    "site": "Landing site",
    "return": "Earth return and re-entry",
}


def _thumb(img: np.ndarray) -> np.ndarray:
    from PIL import Image

    grey = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("L").resize((64, 36), Image.BILINEAR)
    return np.asarray(grey, float).ravel()


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    x, y = _thumb(a), _thumb(b)
    x, y = x - x.mean(), y - y.mean()
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-9))


def _drawn(p: Page) -> None:
    """Wait until the browser has drawn the state it holds (no pending change), then a little longer."""
    p.settle(400)
    p.page.wait_for_function("() => window.__ce6 && window.__ce6.bound && !window.__ce6.clock.dirty", timeout=30_000)
    p.settle(1500)


def test_random_view_switches_and_jumps_end_on_the_frame_of_a_fresh_load(app_page):
    import random

    rng = random.Random(2026)
    p = app_page()
    buttons = p.page.locator(".ce6-phase-btn button")
    n = buttons.count()
    assert n >= 5
    actions = []
    for _ in range(24):
        if rng.random() < 0.5:
            k = rng.randrange(n)
            buttons.nth(k).click()
            actions.append(f"phase button {k}")
        else:
            view = rng.choice(list(VIEW_NAMES.values()))
            p.page.get_by_role("button", name=view, exact=True).click()
            actions.append(view)
        p.page.wait_for_timeout(rng.choice([50, 300, 1200]))
    _drawn(p)
    p.page.wait_for_function("() => /[?&]t=/.test(location.search)", timeout=10_000)
    p.settle(1000)
    url = p.page.url
    walked = p.canvas()
    fresh = app_page("?" + url.split("?", 1)[1])
    _drawn(fresh)
    corr = _correlation(walked, fresh.canvas())
    assert corr >= 0.95, f"after {', '.join(actions)}: frame vs a fresh load of {url}: correlation {corr:.3f}"
    # the Sun light is the one the tracks give for this time, and the only light
    state = p.page.evaluate(
        """() => { const c = window.__ce6, r = c.bound.ren;
                   return {n: r.getLights().length, auto: r.getAutomaticLightCreation()}; }"""
    )
    assert state == {"n": 1, "auto": False}


def _disc_pixels(img: np.ndarray, x: float, y: float, r: float) -> float:
    """Mean grey of a small patch (radius ≥ 1 px) at (x, y)."""
    grey = img.mean(axis=2)
    h, w = grey.shape
    k = max(1, int(r))
    x0, x1, y0, y1 = int(x) - k, int(x) + k + 1, int(y) - k, int(y) + k + 1
    patch = grey[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    return float(patch.mean()) if patch.size else float("nan")


# (view, time, focus bodies): moments when the camera sees part of the focus body's day side
FOCUS = [
    ("system", "2024-05-20T00:00:00Z", ("earth", "moon")),
    ("lunar", "2024-05-20T00:00:00Z", ("moon",)),
    ("return", "2024-06-25T05:41:00Z", ("earth",)),
]


@pytest.mark.parametrize("view, utc, bodies", FOCUS, ids=[f[0] for f in FOCUS])
def test_each_preset_draws_its_focus_body_lit_on_the_day_side(app_page, view, utc, bodies):
    p = app_page(f"?t={utc}&view={view}")
    _drawn(p)
    p.page.get_by_text("Labels", exact=True).click()  # labels off: they must not hide the disc's pixels
    _drawn(p)
    img = p.canvas()
    sky = float(np.median(img.mean(axis=2)))
    for body in bodies:
        d = p.page.evaluate("(b) => window.__ce6.bodyDisc(b)", body)
        assert d is not None, f"{body} has no pose in the {view} view at {utc}"
        assert 0 <= d["x"] < img.shape[1] and 0 <= d["y"] < img.shape[0], f"{body} is off screen: {d}"
        if d["r"] < 20:  # a small disc (under 12 px a ring just outside it): the brightest pixel there stands out
            k = int(max(d["r"], 5.0)) + 4
            x, y = int(d["x"]), int(d["y"])
            patch = img.mean(axis=2)[max(0, y - k) : y + k + 1, max(0, x - k) : x + k + 1]
            assert patch.max() > sky + 60, f"{body} in {view}: nothing visible at its place ({d})"
        else:
            centre = _disc_pixels(img, d["x"], d["y"], 0.35 * d["r"])
            assert centre > sky + 8, (
                f"{body} in {view}: its disc ({centre:.0f}) does not stand out from the sky ({sky:.0f})"
            )
        if d["r"] >= 20 and d["sun"] is not None:
            s = np.asarray(d["sun"], float)
            # the Sun's direction projected on the screen is s = r·sin φ (φ: Sun to camera); near the sunward limb
            # the disc is lit and near the opposite limb dark whether the camera sees the day or the night side,
            # as long as the crescent is wider than a tenth of the radius (sin φ > 0.45)
            if np.linalg.norm(s) > 0.45 * d["r"]:
                u = s / np.linalg.norm(s)
                day = _disc_pixels(img, d["x"] + 0.9 * d["r"] * u[0], d["y"] + 0.9 * d["r"] * u[1], 3)
                night = _disc_pixels(img, d["x"] - 0.9 * d["r"] * u[0], d["y"] - 0.9 * d["r"] * u[1], 3)
                assert day > sky + 20 and day > night + 15, (
                    f"{body} in {view}: day side {day:.0f}, night side {night:.0f}"
                )
                assert night > sky, f"{body} in {view}: the night side ({night:.0f}) is as black as the sky"


def test_the_moon_is_drawn_in_the_lunar_view_before_the_lander_arrives(app_page):
    p = app_page("?t=2024-04-05T00:00:00Z&view=lunar")
    _drawn(p)
    d = p.page.evaluate("() => window.__ce6.bodyDisc('moon')")
    assert d is not None and d["r"] > 50
    img = p.canvas()
    sky = float(np.median(img.mean(axis=2)))
    assert _disc_pixels(img, d["x"], d["y"], 0.4 * d["r"]) > sky + 5  # the night side reads against the sky


def test_site_view_terrain_is_lit(app_page):
    p = app_page("?t=2024-06-02T12:00:00Z&view=site")
    _drawn(p)
    grey = p.canvas().mean(axis=2)
    assert (grey > 30).mean() > 0.5


def test_chinese_side_panel_has_no_latin_words_but_proper_names(app_page):
    from kiosk_dom import latin_words, visible_text

    from viewer.mission import load_mission

    mission = load_mission()
    p = app_page("?lang=zh&t=2024-06-01T22:23:16Z")
    _drawn(p)
    buttons = p.page.locator(".ce6-phase-btn button")
    seen, originals = [], []
    for k in range(buttons.count()):
        buttons.nth(k).click()
        p.settle(700)
        texts, foreign = visible_text(p.page, "zh", "ce6-side")
        seen += texts
        originals += foreign
    bad = latin_words(seen, mission.proper_names)
    assert not bad, "Latin words in the Chinese side panel:\n" + "\n".join(sorted(set(bad))[:40])
    assert len(set(seen)) > 40
    # each source keeps its original title (marked English) next to its Chinese gloss
    assert originals and any("Xinhua" in t or "Wikipedia" in t for t in originals)


@pytest.mark.parametrize("width", [1280, 1600, 2560])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_title_stays_on_one_line(browser, server, width, lang):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{server}?lang={lang}")
        page.wait_for_function(READY_JS, timeout=90_000)
        box = page.locator(".ce6-title").evaluate(
            "(el) => ({rects: el.getClientRects().length, h: el.getBoundingClientRect().height, "
            "lh: parseFloat(getComputedStyle(el).lineHeight) || 1.4 * parseFloat(getComputedStyle(el).fontSize)})"
        )
        assert box["rects"] == 1 and box["h"] < 1.6 * box["lh"], f"the title wraps at {width} px ({lang}): {box}"
    finally:
        page.close()


def _sun_enu(az_deg: float, el_deg: float) -> list[float]:
    az, el = np.radians(az_deg), np.radians(el_deg)
    return [float(np.sin(az) * np.cos(el)), float(np.cos(az) * np.cos(el)), float(np.sin(el))]


def test_site_view_casts_the_stills_shadows_in_the_browser(app_page):
    """The browser shades the site patch from its horizon bytes (static/site_shadows.js) as the stills shade it
    from the terrain (viewer.scene.shadows.lit_fraction): for low Suns from four sides and for the moment's own
    Sun, the browser and the still put >= 97 % of the patch's vertices on the same side of half light, their greys
    differ by <= 12 levels on average, and their shadowed shares agree."""
    from viewer.scene import shadows
    from viewer.scene.kinematics import scene_config
    from viewer.terrain import meshes

    p = app_page("?t=2024-06-02T12:00:00Z&view=site")
    _drawn(p)
    patch = meshes.site_data("browser")
    fill = float(scene_config()["shadow_fill"])
    still = shadows.PatchShadows(patch.points, float(patch.meta["size_km"]) * 1000.0)
    suns = [_sun_enu(az, el) for az, el in ((100.0, 4.0), (200.0, 6.0), (290.0, 3.0), (20.0, 8.0))]
    moment = p.page.evaluate(
        "() => { const s = window.__ce6.tracks.sun, et = window.__ce6.clock.et; let i = 0;"
        " while (i + 1 < s.t.length && s.t[i + 1] <= et) i++; return [s.d[3 * i], s.d[3 * i + 1], s.d[3 * i + 2]]; }"
    )
    for sun in [*suns, moment]:
        web = p.page.evaluate("(s) => window.__ce6.shadeSiteAt(s)", sun)
        assert web is not None, "the browser did not shade the site patch"
        web = np.asarray(web, float).reshape(-1, 3)[:, 0]
        want = 255.0 * (fill + (1.0 - fill) * still.lit(np.asarray(sun)))
        assert len(web) == len(want)
        dark_web, dark_still = web < 128, want < 128
        agree, diff = float(np.mean(dark_web == dark_still)), float(np.abs(web - want).mean())
        assert agree >= 0.97, f"Sun {np.round(sun, 3)}: shadow and light agree at {agree:.1%} of the vertices"
        assert diff <= 12.0, f"Sun {np.round(sun, 3)}: the greys differ by {diff:.1f} levels on average"
        dark_web, dark_still = float(dark_web.mean()), float(dark_still.mean())
        assert abs(dark_web - dark_still) <= 0.02 + 0.1 * dark_still, (sun, dark_web, dark_still)
        if sun is not moment:
            assert dark_still > 0.05, f"a Sun {np.round(sun, 3)} this low should shade the patch"


def test_the_page_reconnects_after_a_server_restart_and_keeps_its_state(browser, mission_kernels):
    """Stop the server under an open page: the page says it is reconnecting (in its language), then reloads itself
    once a server answers on the same port again, and opens on the same view and time (its URL)."""
    port = free_port()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        with serve_app("reconnect", port=port) as url:
            page.goto(f"{url}?view=lunar&t=2024-05-13T12:49:00Z&lang=zh")
            page.wait_for_function(READY_JS, timeout=90_000)
            page.wait_for_function("() => location.search.includes('view=lunar')", timeout=30_000)
            origin = page.evaluate("() => performance.timeOrigin")
        note = page.locator(".mv-reconnect")
        note.wait_for(state="visible", timeout=30_000)
        assert "重新连接" in note.inner_text()
        with serve_app("reconnect", port=port):
            page.wait_for_function(
                "(t) => performance.timeOrigin !== t && window.__ce6 && window.__ce6.bound", arg=origin, timeout=120_000
            )
            page.wait_for_timeout(1000)
            assert page.evaluate("() => window.__ce6.tracks.raw.view") == "lunar"
            assert page.locator(".mv-utc").inner_text().startswith("2024-05-13 12:49")
            assert not page.locator(".mv-reconnect").is_visible()
    finally:
        page.close()
