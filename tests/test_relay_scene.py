"""The relay chain in the offscreen scene, read back through the real VTK camera: every drawn link line has both
ends on screen, each end is either the leg's own end or an edge marker at the frame edge that names it (a visible
text actor says the name), and a blocked leg's stub ends on its obstruction.

Moments in every preset view, chosen where the chain shows open legs, legs blocked by the Moon, the horizon and the
station mask, and ends that leave the frame.
"""

from __future__ import annotations

import numpy as np
import pytest

W, H = 640, 360
MOMENTS = {
    "system": ["2024-05-05T12:00:00Z", "2024-05-17T15:10:00Z", "2024-05-25T14:00:00Z", "2024-06-22T12:00:00Z"],
    "lunar": [
        "2024-05-08T02:30:00Z",
        "2024-05-17T15:10:00Z",
        "2024-05-21T23:40:00Z",
        "2024-06-02T12:00:00Z",
        "2024-06-05T03:20:00Z",
        "2024-05-14T12:00:00Z",
        "2024-05-25T07:30:00Z",
    ],
    "site": ["2024-06-01T22:23:30Z", "2024-06-03T15:00:00Z", "2024-06-03T23:39:00Z"],
    "return": ["2024-06-24T12:00:00Z", "2024-06-25T05:45:00Z"],
    "follow": ["2024-05-20T00:00:00Z", "2024-06-05T03:20:00Z"],
}
TOL_PX = 1.5


@pytest.fixture(scope="module")
def scene(kernels_loaded):
    from viewer.scene.scene import MissionScene

    s = MissionScene("lunar", window_size=(W, H), quality="fast")
    yield s
    s.close()


def _visible_texts(scene) -> list[tuple[str, np.ndarray]]:
    out = []
    for t in scene.link_lines.texts:
        if t.GetVisibility():
            x, y = t.GetPosition()
            out.append((t.GetInput(), np.array([x, H - 1 - y])))
    return out


def _check_end(scene, leg, t, xy, markers, texts, what):
    """A drawn end at fraction t of the leg, on screen at ``xy`` (VTK's projection)."""
    assert -TOL_PX <= xy[0] <= W + TOL_PX and -TOL_PX <= xy[1] <= H + TOL_PX, f"{what} ends off-screen at {xy}"
    end = leg.a_end if t == "a" else leg.b_end
    cut = scene.link_lines.cut[leg.id][0 if t == "a" else 1]
    if not cut:
        return
    near = min(xy[0], W - xy[0], xy[1], H - xy[1])
    assert near <= 6.0, f"{what} is cut at {xy}, {near:.1f} px from the frame edge"
    name = end.name[scene.language]
    from viewer.scene.relay import MERGE_PX  # ends leaving the frame this close share one marker

    hits = [m for m in markers if max(abs(m[0] - xy[0]), abs(m[1] - xy[1])) < MERGE_PX + 2 and name in m[4]]
    assert hits, f"{what} leaves the frame at {xy} without an edge marker naming {name!r}: {markers}"
    shown = [txt for txt, pos in texts if name in txt and np.hypot(*(pos - xy)) < 200]
    assert shown, f"{what}: the marker's name {name!r} is not on screen near {xy}: {texts}"


def _check_obstruction(scene, leg):
    """A blocked leg's stub ends on the obstruction (render units of the frame)."""
    from viewer import links

    f, k = scene.frame, scene.view.units_per_km
    model = links.default_model()
    link = model.links[leg.id]
    if leg.reason == "moon_limb":
        moon = f.poses.positions["MOON"][0]
        r = np.linalg.norm(leg.b - moon) / k
        assert r == pytest.approx(link.moon_radius_km, rel=1e-3), f"{leg.id}: stub ends {r:.1f} km from the Moon"
    elif leg.reason == "earth_limb":
        earth = f.poses.positions["EARTH"][0]
        r = np.linalg.norm(leg.b - earth) / k
        lo, hi = model.earth_radii_km[2], model.earth_radii_km[0]
        assert lo - 1 <= r <= hi + 1, f"{leg.id}: stub ends {r:.1f} km from the Earth's centre"
    elif leg.reason == "mask":
        station = [g for g in scene.frame.chain.legs if g.id == leg.id][0]
        assert station.b_end.key.startswith("reason:")


@pytest.mark.parametrize("view", list(MOMENTS))
def test_every_link_line_ends_on_screen_or_in_a_named_edge_marker(scene, view):
    from viewer.epochs import et_from_utc

    follow = "CHANGE6_ORBITER" if view == "follow" else None
    seen = {"lines": 0, "markers": 0, "stubs": 0}
    for utc in MOMENTS[view]:
        scene.set_view(view, follow=follow, et=et_from_utc(utc))
        scene.render()
        lay = scene.link_lines.layout
        texts = _visible_texts(scene)
        for leg, _t0, _t1 in lay.lines:
            item = scene.link_lines.items[leg.id]
            assert item["actor"].GetVisibility()
            pts = np.asarray(item["poly"].points)
            xy = scene.project(pts[[0, -1]])
            what = f"{view} {utc} {leg.id}"
            _check_end(scene, leg, "a", xy[0], lay.markers, texts, what)
            _check_end(scene, leg, "b", xy[1], lay.markers, texts, what)
            if not leg.open:
                _check_obstruction(scene, leg)
                seen["stubs"] += 1
            seen["lines"] += 1
        seen["markers"] += len(lay.markers)
        drawn = {leg.id for leg, _a, _b in lay.lines}
        for lid, item in scene.link_lines.items.items():
            assert item["actor"].GetVisibility() == (lid in drawn), f"{view} {utc}: {lid} visible but not laid out"
    assert seen["lines"] >= len(MOMENTS[view]) - 1, f"{view}: hardly any link line drawn ({seen})"
    if view in ("lunar", "site", "follow"):
        assert seen["markers"] >= 1, f"{view}: no edge marker at all ({seen})"
    if view == "lunar":
        assert seen["stubs"] >= 2, f"lunar: no blocked stub checked ({seen})"


def test_legend_and_station_names(scene):
    from viewer import words
    from viewer.epochs import et_from_utc

    scene.set_view("system", et=et_from_utc("2024-05-05T12:00:00Z"))
    scene.render()
    legend = {s: t.GetInput() for s, t in scene.link_lines.legend_texts.items() if t.GetVisibility()}
    assert legend == {s: words.word("links", f"legend_{s}", "en") for s in ("open", "blocked")}
    texts = [t for t, _ in _visible_texts(scene)]
    assert "Neuquén" in texts, texts
    scene.set_language("zh")
    try:
        texts = [t for t, _ in _visible_texts(scene)]
        assert "内乌肯" in texts, texts
        assert scene.link_lines.legend_texts["open"].GetInput() == words.word("links", "legend_open", "zh")
    finally:
        scene.set_language("en")
