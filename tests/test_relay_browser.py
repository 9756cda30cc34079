"""The relay chain in the web app, in real Chromium, read from the page: every drawn link line (the vtk.js actor's
points, projected through the page's own vtk.js camera) has both ends on screen, and an end the frame cuts off sits
at the frame edge under a marker (a DOM element) that names it; an end not at the edge is the vehicle it names.

Every web preset view, at several moments (the follow view is not in the web app). The app is started as in
``tests/test_ui_browser.py`` (its fixtures).
"""

from __future__ import annotations

import pytest
from test_relay_scene import MOMENTS
from test_ui_browser import app_page  # noqa: F401 - a fixture (on conftest's shared server)

WEB_VIEWS = ("system", "lunar", "site", "return")
MERGE_PX = 28  # viewer.scene.relay.MERGE_PX: ends leaving the frame this close share one marker

READ_JS = """(et) => {
  const ce = window.__ce6, b = ce.bound, ren = b.ren, tr = ce.tracks;
  const layer = ce.relayLayer;
  const box = layer.getBoundingClientRect(), W = box.width, H = box.height;
  const px = (p) => { const n = ren.worldToNormalizedDisplay(p[0], p[1], p[2], W / H); return [n[0] * W, (1 - n[1]) * H, n[2]]; };
  const lines = [];
  for (const [name, list] of Object.entries(b.actors)) {
    if (!name.startsWith('link:') || !list[0].getVisibility()) continue;
    const pts = list[0].getMapper().getInputData().getPoints().getData(), n = pts.length / 3;
    const a = [pts[0], pts[1], pts[2]], z = [pts[3 * n - 3], pts[3 * n - 2], pts[3 * n - 1]];
    const leg = tr.chain.legs[name], lang = ce.model.language;
    const ends = [leg.from, leg.to].map(k => {
      const t = tr.actors[k];
      const ps = t ? ce.pose(t, et) : null;
      return ps ? px(ps.p) : null;
    });
    lines.push({id: name, xy: [px(a), px(z)], names: [leg.from_name[lang], leg.to_name[lang]], ends,
                stub: !ce.relay.lines.find(l => l.id === name).open});
  }
  const markers = [...layer.querySelectorAll('.mv-relay-marker')].map(m => ({
    x: +m.dataset.x, y: +m.dataset.y, name: m.dataset.name, text: m.textContent,
    shown: m.querySelector('span').getBoundingClientRect().width > 0}));
  return {W, H, lines, markers};
}"""


def _check(page_data, what) -> tuple[int, int]:
    W, H = page_data["W"], page_data["H"]
    for line in page_data["lines"]:
        for k, (x, y, z) in enumerate(line["xy"]):
            where = f"{what} {line['id']} end {k} at ({x:.1f}, {y:.1f})"
            assert -1.5 <= x <= W + 1.5 and -1.5 <= y <= H + 1.5 and 0 < z < 1, f"{where}: off-screen"
            at_edge = min(x, W - x, y, H - y) <= 6.0
            name = line["names"][k]
            if at_edge:
                hits = [
                    m
                    for m in page_data["markers"]
                    if max(abs(m["x"] - x), abs(m["y"] - y)) < MERGE_PX + 2 and name in m["name"] and m["shown"]
                ]
                assert hits, f"{where}: at the frame edge without a marker naming {name!r}: {page_data['markers']}"
                assert name in hits[0]["text"]
            elif line["ends"][k] is not None and not line["stub"]:  # a stub may start in mid-air
                ex, ey, _ = line["ends"][k]
                assert abs(ex - x) < 2.0 and abs(ey - y) < 2.0, f"{where}: not at {name} ({ex:.1f}, {ey:.1f})"
    return len(page_data["lines"]), len(page_data["markers"])


@pytest.mark.parametrize("view", WEB_VIEWS)
def test_browser_link_lines_end_on_screen_or_in_a_named_edge_marker(app_page, view):  # noqa: F811
    from viewer.epochs import et_from_utc

    moments = MOMENTS[view]
    p = app_page(f"?t={moments[0]}&view={view}")
    t0, t1 = p.page.evaluate("() => [window.__ce6.model.t0, window.__ce6.model.t1]")
    lines = markers = 0
    for utc in moments:
        et = et_from_utc(utc)
        if not t0 <= et <= t1:
            continue
        p.page.evaluate("(et) => window.__ce6.setTime(et)", et)
        p.settle(300)
        n, m = _check(p.page.evaluate(READ_JS, et), f"{view} {utc}")
        lines, markers = lines + n, markers + m
    assert lines >= 2, f"{view}: hardly any link line drawn in the browser ({lines})"
    if view in ("lunar", "site"):
        assert markers >= 1, f"{view}: no edge marker in the browser"
    assert p.errors == [], p.errors[:3]
