"""The mission scene on screen (offscreen EGL): placement against SPICE, sunlight on the terrain, stability at the
site, stacks and labels, layers and languages, and the screenshot CLI.

Small windows keep this file fast. Where the built kernels do not cover a time yet, the test skips with the reason
(and fails under ``VIEWER_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REQUIRE_ALL = os.environ.get("VIEWER_REQUIRE_ALL") == "1"
REPO = Path(__file__).resolve().parent.parent
W, H = 480, 270
SCREEN_TEXTS = (
    "clock",
    "title",
    "note:scale",
    "badge:grade",
    "site:sun",
    "site:earth",
    "note:terrain",
    "note:distance",
)
# key times: (label, mission event, offset s)
KEY_TIMES = [
    ("launch+1h", "launch", 3600.0),
    ("LOI", "loi", 300.0),
    ("descent", "descent_start", 300.0),
    ("surface", "touchdown", 3600.0),
    ("docking", "docking", 0.0),
    ("re-entry", "entry_interface", 0.0),
]
# the object each view is about, and when to look at it
FOCUS = {
    "system": ("EARTH", "LOI"),
    "lunar": ("MOON", "LOI"),
    "site": ("CHANGE6_LANDER", "surface"),
    "return": ("EARTH", "re-entry"),
    "follow": ("CHANGE6_ORBITER", "LOI"),
}


def _missing(reason):
    if REQUIRE_ALL:
        pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def times(kernels_loaded):
    from viewer.mission import load_mission

    ev = {e.id: e.et for e in load_mission().events}
    return {label: ev[event] + off for label, event, off in KEY_TIMES}


@pytest.fixture(scope="module")
def scene(kernels_loaded):
    from viewer.scene.scene import MissionScene

    s = MissionScene("system", web=True, window_size=(W, H))
    yield s
    s.close()


def _covered(name, et) -> bool:
    from viewer.scene.kinematics import coverage

    if name in ("EARTH", "MOON", "SUN"):
        return True
    cov = coverage(name)
    return cov is not None and cov[0] <= et <= cov[1]


def _need(name, et):
    if not _covered(name, et):
        from viewer.epochs import utc_from_et

        _missing(f"the built kernels do not cover {name} at {utc_from_et(et)} (run `python -m viewer kernels build`)")


class only:
    """Show only ``names`` (flat-lit: ambient 1, diffuse 0, no texture) for one render; restore afterwards."""

    def __init__(self, scene, names, flat=True):
        self.scene, self.names, self.flat = scene, set(names), flat

    def __enter__(self):
        self.saved = {}
        for name, prop in self.scene.actors.items():
            self.saved[name] = (prop.GetVisibility(), None)
            prop.SetVisibility(name in self.names and bool(prop.GetVisibility()))
            if self.flat and name in self.names and hasattr(prop, "GetProperty") and hasattr(prop, "GetTexture"):
                p = prop.GetProperty()
                self.saved[name] = (self.saved[name][0], (p.GetAmbient(), p.GetDiffuse(), prop.GetTexture()))
                p.SetAmbient(1.0)
                p.SetDiffuse(0.0)
                prop.SetTexture(None)
        return self

    def __exit__(self, *exc):
        for name, (vis, look) in self.saved.items():
            prop = self.scene.actors[name]
            prop.SetVisibility(vis)
            if look is not None:
                prop.GetProperty().SetAmbient(look[0])
                prop.GetProperty().SetDiffuse(look[1])
                prop.SetTexture(look[2])


def _actors_2d(scene) -> list:
    """Every 2D actor (texts, markers) of the scene's renderers."""
    out = []
    rens = scene.plotter.ren_win.GetRenderers()
    rens.InitTraversal()
    for _ in range(rens.GetNumberOfItems()):
        ren = rens.GetNextItem()
        a2 = ren.GetActors2D()
        a2.InitTraversal()
        out += [a2.GetNextItem() for _ in range(a2.GetNumberOfItems())]
    return out


def _mask(img, level=8):
    return img.max(axis=2) > level


# ------------------------------------------------------------------------------------------------ placement
@pytest.mark.parametrize("view", ["system", "lunar", "site", "return", "follow"])
def test_six_key_times_render_non_blank(scene, times, view):
    shown = 0
    for label, et in times.items():
        if not _covered("CHANGE6_ORBITER", et) and not _covered("CHANGE6_RETURNER", et):
            continue
        scene.set_view(view, et=et)
        with only(scene, [n for n in scene.actors if n not in SCREEN_TEXTS and n != "stars"], flat=False):
            img = scene.screenshot()
        frac = _mask(img).mean()
        assert frac > 0.002, f"{view} at {label}: only {frac:.4%} of the picture is not black"
        shown += 1
    if shown < len(times):
        _missing(f"the built kernels cover {shown} of the {len(times)} key times")


def _spice_world_point(scene, target, et):
    """Where SPICE puts ``target`` in the scene's render coordinates (independently of the scene's code)."""
    from viewer import ephemeris

    view, kin = scene.view, scene.model.kin
    frame = view.frame
    rel = ephemeris.positions(target, [et], observer=kin.center, frame=frame)[0]
    if kin.follow:
        rel = rel - ephemeris.positions(kin.follow, [et], observer=kin.center, frame=frame)[0]
    return rel * view.units_per_km


@pytest.mark.parametrize("view", list(FOCUS))
def test_focus_object_pixels_lie_where_spice_puts_it(scene, times, view):
    target, when = FOCUS[view]
    et = times[when]
    _need(target, et)
    actor = {"EARTH": "earth", "MOON": "moon"}.get(target) or scene.vehicle_actor[target]
    scene.set_view(view, et=et)
    scene.render()  # labels, markers and relay words are placed for this camera; then only the focus object
    with only(scene, [actor]):
        hidden_2d = [a for a in _actors_2d(scene) if a.GetVisibility()]
        for a in hidden_2d:
            a.SetVisibility(False)
        img = scene.plotter.screenshot(return_img=True)[..., :3]
        for a in hidden_2d:
            a.SetVisibility(True)
    mask = _mask(img, level=2)
    assert mask.sum() >= 3, f"{view}: the focus object {target} is not on screen"
    x, y = scene.project(_spice_world_point(scene, target, et))[0]
    assert 0 <= x < W and 0 <= y < H, f"{view}: {target} projects off screen at ({x:.0f}, {y:.0f})"
    ys, xs = np.nonzero(mask)
    radius = max(3.0, 0.5 * (xs.max() - xs.min() + ys.max() - ys.min()) / 2 + 2)
    cx, cy = xs.mean(), ys.mean()
    assert np.hypot(cx - x, cy - y) <= radius, (
        f"{view}: {target}'s pixels centre ({cx:.1f}, {cy:.1f}) but SPICE puts it at ({x:.1f}, {y:.1f})"
    )
    if target in ("EARTH", "MOON"):  # a body's projected centre is inside its disc
        assert mask[int(round(y)), int(round(x))]


def _matrix(actor) -> np.ndarray:
    m = actor.GetUserMatrix()
    return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])


def test_bodies_turn_with_their_spice_frames_and_the_sun_lights_the_scene(scene, times):
    from viewer import ephemeris

    et = times["LOI"]
    scene.set_view("system", et=et)
    earth = _matrix(scene.actors["earth"])
    assert np.allclose(earth[:3, :3], ephemeris.rotation("ITRF93", "J2000", [et])[0], atol=1e-6)
    moon = _matrix(scene.actors["moon"])
    assert np.allclose(moon[:3, :3], ephemeris.rotation("MOON_ME", "J2000", [et])[0], atol=1e-6)
    # the near side (MOON_ME +x, longitude 0) faces the Earth within the libration (< 10°)
    to_earth = ephemeris.positions("EARTH", [et], observer="MOON")[0]
    assert float(moon[:3, 0] @ to_earth / np.linalg.norm(to_earth)) > np.cos(np.radians(10))
    sun = ephemeris.positions("SUN", [et], observer="EARTH")[0]
    light = np.asarray(scene.sun.position) - np.asarray(scene.sun.focal_point)
    assert float(light @ sun / np.linalg.norm(light) / np.linalg.norm(sun)) > 0.99999
    assert not scene.sun.positional


# ------------------------------------------------------------------------------------------------ sunlight
def test_site_terrain_is_brighter_on_slopes_facing_the_sun(scene, times):
    from viewer import ephemeris
    from viewer.mission import load_mission

    et = {e.id: e.et for e in load_mission().events}["touchdown"]
    _need("CHANGE6_SITE", et)
    scene.set_view("site", et=et)
    cam = scene.plotter.camera
    cam.focal_point = (0.0, 0.0, 0.0)
    cam.position = (0.0, 0.0, 400_000.0)  # straight down from 400 km: the whole patch
    cam.up = (0.0, 1.0, 0.0)
    cam.view_angle = 45.0
    scene.clip()
    with only(scene, ["terrain"], flat=False):
        img = scene.screenshot().astype(float).mean(axis=2)
    sun = ephemeris.positions("SUN", [et], observer="CHANGE6_SITE", frame="CHANGE6_TOPO")[0]
    az = np.arctan2(sun[0], sun[1])  # clockwise from north
    mesh = scene.site.mesh
    n = np.asarray(mesh.point_data["Normals"], float)
    slope = np.degrees(np.arccos(np.clip(n[:, 2], -1, 1)))
    horiz = n[:, :2] / np.maximum(np.linalg.norm(n[:, :2], axis=1, keepdims=True), 1e-12)
    facing = horiz @ np.array([np.sin(az), np.cos(az)])
    pts = np.asarray(mesh.points, float)
    pick = np.flatnonzero(slope > 4.0)
    xy = scene.project(pts[pick])
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < W) & (xy[:, 1] >= 0) & (xy[:, 1] < H)
    pick, xy = pick[inside], xy[inside].astype(int)
    grey = img[xy[:, 1], xy[:, 0]]
    toward, away = grey[facing[pick] > 0.7], grey[facing[pick] < -0.7]
    assert len(toward) > 30 and len(away) > 30, (len(toward), len(away))
    assert toward.mean() > away.mean() + 10, f"sun-facing {toward.mean():.1f} vs away {away.mean():.1f}"


# ------------------------------------------------------------------------------------------------ precision
def test_lander_vertices_stay_within_a_centimetre_between_frames(scene, times):
    et = times["surface"]
    _need("CHANGE6_LANDER", et)
    scene.set_view("site", et=et)
    from viewer.scene import models

    pts = np.c_[np.asarray(models.lander().points, float), np.ones(models.lander().n_points)]
    prev = None
    for k in range(10):
        scene.update(et + k / 30.0)
        m = np.array([[scene.actors["lander"].GetUserMatrix().GetElement(i, j) for j in range(4)] for i in range(4)])
        world = (pts @ m.T)[:, :3]
        if prev is not None:
            assert np.abs(world - prev).max() < 0.01  # metres
        prev = world
    assert scene.actors["lander"].GetVisibility()


# ------------------------------------------------------------------------------------------------ stacks, labels
def test_one_label_for_the_stack_then_two_after_separation(scene):
    from viewer.mission import load_mission

    sep = {e.id: e.et for e in load_mission().events}["separation_la_or"]
    _need("CHANGE6_LANDER", sep + 7200)
    labels = scene.labels.labels
    scene.set_view("lunar", et=sep - 7200)
    shown = [k for k in ("CHANGE6_ORBITER", "CHANGE6_LANDER") if labels[k].GetVisibility()]
    assert shown == ["CHANGE6_ORBITER"] and "(4 modules)" in labels["CHANGE6_ORBITER"].GetInput()
    scene.set_view("lunar", et=sep + 7200)
    assert labels["CHANGE6_LANDER"].GetInput().startswith("Lander")
    assert "Lander" not in labels["CHANGE6_ORBITER"].GetInput()


def test_layers_and_language(scene, times):
    et = times["LOI"]
    _need("CHANGE6_ORBITER", et)
    scene.set_view("lunar", et=et)
    scene.set_language("zh")
    try:
        assert scene.labels.labels["CHANGE6_ORBITER"].GetInput().startswith("嫦娥六号")
        img = scene.screenshot()
        assert _mask(img).any()
    finally:
        scene.set_language("en")
    for layer, prefix in (("trails", "trail"), ("labels", "label:"), ("links", "link:")):
        scene.set_layer(layer, False)
        assert not any(p.GetVisibility() for n, p in scene.actors.items() if n.startswith(prefix))
        scene.set_layer(layer, True)
    assert any(p.GetVisibility() for n, p in scene.actors.items() if n.startswith("trail"))


def test_link_lines_draw_the_relay_chain(scene, times):
    from viewer import links

    et = times["descent"]
    _need("CHANGE6_LANDER", et)
    scene.set_view("lunar", et=et)
    chain = {leg["id"]: leg for leg in links.relay_chain(et)["legs"] if leg["show"]}
    checked = 0
    for lid, item in scene.link_lines.items.items():
        a = item["actor"]
        if not a.GetVisibility():
            continue
        assert lid in chain, f"{lid} drawn but not a shown leg of the relay chain"
        colour = np.array(a.GetProperty().GetColor())
        want = scene.cfg["links"]["open" if chain[lid]["open"] else "blocked"]["colour"]
        assert np.allclose(colour * 255, [int(want[i : i + 2], 16) for i in (1, 3, 5)], atol=1), lid
        checked += 1
    assert checked >= 1


def test_terrain_exaggeration_scales_relief_about_the_site(scene, times):
    scene.set_view("site", et=times["LOI"])
    z0 = np.asarray(scene.site.mesh.points)[:, 2].copy()
    near = np.linalg.norm(np.asarray(scene.site.mesh.points)[:, :2], axis=1) < 20_000  # 20 km: curvature small
    scene.set_terrain_exaggeration(3.0)
    try:
        z3 = np.asarray(scene.site.mesh.points)[:, 2]
        assert np.ptp(z3[near]) == pytest.approx(3 * np.ptp(z0[near]), rel=0.1)
        assert abs(z3[np.argmin(np.linalg.norm(np.asarray(scene.site.mesh.points), axis=1))]) < 1.0
        assert "×3" in scene.labels.texts["note:terrain"].GetInput()
    finally:
        scene.set_terrain_exaggeration(1.0)


def test_spacecraft_scale_note(scene, times):
    scene.set_view("lunar", et=times["LOI"])
    assert "40,000" in scene.labels.texts["note:scale"].GetInput()
    scene.set_spacecraft_scale(1)
    assert scene.labels.texts["note:scale"].GetInput() == ""
    scene._scale_override = None
    scene.set_view("lunar")


# ------------------------------------------------------------------------------------------------ CLI
def _cli(*args):
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow")
    return subprocess.run(
        [sys.executable, "-m", "viewer", "screenshot", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_screenshot_cli_writes_a_png_atomically(tmp_path, times):
    from PIL import Image

    from viewer.epochs import utc_from_et

    out = tmp_path / "site.png"
    r = _cli("--time", utc_from_et(times["LOI"]), "--view", "lunar", "--size", "320x180", "--quality", "fast", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (320, 180) and im.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.png"]  # no temp file left


@pytest.mark.parametrize(
    "args, words",
    [
        (["--size", "1921x1080"], "odd"),
        (["--size", "4000x3000"], "larger than 3840x2160"),
        (["--time", "2019-01-01T00:00:00Z"], "cover"),
        (["--time", "yesterday"], "not a UTC ISO time"),
        (["--view", "moonbase"], "unknown view"),
    ],
)
def test_screenshot_cli_errors_are_one_line(tmp_path, args, words):
    base = {"--time": "2024-05-08T02:12:00Z", "--size": "320x180"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    flat = (
        [x for kv in base.items() for x in kv]
        + [a for a in args if a.startswith("--view")]
        + [args[i + 1] for i, a in enumerate(args) if a == "--view"]
    )
    r = _cli(*flat, str(tmp_path / "x.png"))
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], r.stderr
    assert not any(tmp_path.iterdir())


def test_chinese_mode_puts_no_english_words_on_screen(scene, times):
    import re

    scene.set_view("site", et=times["LOI"])
    scene.set_language("zh")
    try:
        shown = [t.GetInput() or "" for k, t in scene.labels.texts.items() if t.GetVisibility()]
        shown += [lab.GetInput() or "" for lab in scene.labels.labels.values() if lab.GetVisibility()]
        assert scene.labels.texts["note:terrain"].GetInput()  # the terrain's source is named
        words = {w for text in shown for w in re.findall(r"[A-Za-z]{2,}", text)}
        assert words <= {"UTC", "LOLA", "LDEM"}, (words, shown)
    finally:
        scene.set_language("en")
    assert scene.labels.texts["note:terrain"].GetInput() == scene.bodies.terrain_label
