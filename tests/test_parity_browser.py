"""The browser frame and the offscreen still are the same picture (real Chromium, ``python -m viewer screenshot
--quality fast``): for moments spread over every phase and every preset view, the 3D canvas of a fresh load of
``?t=<moment>&view=<view>`` and the still of the same moment, view (its preset camera) and size give 64×36 grey
thumbnails that correlate at ≥ 0.8 and lit shares within 25 % of each other, the figures of
``../shared/tools/contact_sheet.py`` (``tests/parity.py``). The correlation leaves out the corners where only one
picture puts words by design (the still's title, clock and notes; ``parity.SCREEN_TEXT``): in a dark frame those
words outweigh the scene; the lit share is measured on the whole frames.
"""

from __future__ import annotations

import io
import subprocess
import sys

import parity
from PIL import Image
from test_ui_browser import READY_JS, REPO, app_page  # noqa: F401 - app_page: a fixture (on conftest's shared server)

# (phase, view, moment): every phase of assets/mission.yaml, in the view the story shows it in
MOMENTS = [
    ("queqiao2_cruise", "system", "2024-03-22T00:00:00Z"),
    ("queqiao2_orbit_adjustment", "system", "2024-03-28T00:00:00Z"),
    ("queqiao2_mission_orbit", "system", "2024-04-05T00:00:00Z"),
    ("launch_ascent", "system", "2024-05-03T09:45:00Z"),
    ("cruise", "system", "2024-05-05T12:00:00Z"),
    ("lunar_orbit", "lunar", "2024-05-20T00:00:00Z"),
    ("orbit_lowering", "lunar", "2024-05-30T12:00:00Z"),
    ("powered_descent", "site", "2024-06-01T22:15:00Z"),
    ("surface_operations", "site", "2024-06-01T23:00:00Z"),
    ("drilling", "site", "2024-06-02T03:00:00Z"),
    ("scooping", "site", "2024-06-03T12:00:00Z"),
    ("ascent", "site", "2024-06-03T23:40:00Z"),
    ("rendezvous", "lunar", "2024-06-05T00:00:00Z"),
    ("lunar_orbit_wait", "lunar", "2024-06-12T00:00:00Z"),
    ("trans_earth_coast", "system", "2024-06-22T12:00:00Z"),
    ("trans_earth_coast", "return", "2024-06-24T12:00:00Z"),
    ("reentry", "return", "2024-06-25T05:45:00Z"),
    ("recovery", "return", "2024-06-25T06:30:00Z"),
]
MIN_CORRELATION, LIT_TOLERANCE = 0.8, 0.25
DRAWN_JS = """(view) => { const c = window.__ce6;
  return !!(c && c.bound && c.tracks.raw.view === view && !c.clock.dirty && c.labels); }"""


def _browser(app_page, view: str, utc: str) -> Image.Image:  # noqa: F811
    p = app_page(f"?t={utc}&view={view}")
    p.page.wait_for_function(DRAWN_JS, arg=view, timeout=60_000)
    p.settle(1500)
    p.page.wait_for_function(DRAWN_JS, arg=view, timeout=30_000)
    web = Image.open(io.BytesIO(p.page.locator("canvas").first.screenshot())).convert("RGB")
    assert p.errors == [], p.errors[:3]
    p.close()
    return web.crop((0, 0, web.width // 2 * 2, web.height // 2 * 2))  # the still's sides are even


def _still(view: str, utc: str, size: tuple[int, int], out) -> Image.Image:
    cmd = [sys.executable, "-m", "viewer", "screenshot", "--time", utc, "--view", view, "--size", "%dx%d" % size]
    r = subprocess.run([*cmd, "--quality", "fast", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return Image.open(out).convert("RGB")


def test_phases_in_all_views_covered():
    from viewer.mission import load_mission
    from viewer.ui.state import web_views

    phases = {p.id for p in load_mission().phases}
    assert phases <= {m[0] for m in MOMENTS}, phases - {m[0] for m in MOMENTS}
    assert set(web_views()) <= {m[1] for m in MOMENTS}


def test_browser_frame_and_still_are_the_same_picture(app_page, tmp_path):  # noqa: F811
    rows, bad = [], []
    for phase, view, utc in MOMENTS:
        web = _browser(app_page, view, utc)
        still = _still(view, utc, web.size, tmp_path / f"{view}-{utc[:13]}.png")
        gw, gs = parity.grey(web), parity.grey(still)
        lw, ls = parity.lit(gw), parity.lit(gs)
        corr = parity.correlation(parity.without_screen_text(gw), parity.without_screen_text(gs))
        whole = parity.correlation(gw, gs)
        row = f"{utc} {view:6s} {phase:22s} lit {lw:6.2%} / {ls:6.2%}  corr {corr:.2f} (whole frames {whole:.2f})"
        rows.append(row)
        if corr < MIN_CORRELATION or abs(lw - ls) > LIT_TOLERANCE * max(lw, ls):
            bad.append(row)
    print("\n".join(["browser vs still:", *rows]))
    assert not bad, "browser frame and still differ:\n" + "\n".join(bad) + "\nall:\n" + "\n".join(rows)
