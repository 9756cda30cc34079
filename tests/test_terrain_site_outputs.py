"""With the landing-site window fetched (from the local Range server's synthetic volume), every output stands on it
and names it: the web app's site mesh, the kiosk's header, a flat still and a dome still of the site view, and the
terrain horizon line of ``links report``."""

from __future__ import annotations

import numpy as np
import pytest
from test_terrain_site import volume  # noqa: F401  (the fixture: server, cache and archive address in tmp)

from viewer.terrain import site

PRODUCT = "LOLA 512 px/deg, 59 m"
SITE_UTC = "2024-06-01T23:00:00Z"  # the lander on the ground, the Sun up


@pytest.fixture()
def fetched(volume):  # noqa: F811
    """The site window fetched into the tmp cache; the web app's cached ground forgotten before and after."""
    from viewer.ui import shared

    shared.ground.cache_clear()
    site.fetch_site(60, progress=False)
    yield volume
    shared.ground.cache_clear()


def test_web_app_site_mesh_and_kiosk_header_use_the_site_product(fetched):
    from viewer.mission import load_mission
    from viewer.terrain import meshes, select_dem
    from viewer.terrain.synthetic import IllustrativeRelief
    from viewer.ui import kiosk, shared

    dem = select_dem()
    assert isinstance(dem, site.SiteDem)
    # the meshes the web app sends: the site patch is the window's, at the browser budget
    terrain = shared.web_bodies().terrain
    want = meshes.site_data("browser", dem=dem)
    relief = meshes.site_data("browser", dem=IllustrativeRelief(), use_cache=False)
    assert str(terrain.field_data["source_label"][0]) == PRODUCT
    np.testing.assert_allclose(np.asarray(terrain.point_data["height_m"]), want.heights_m)
    assert np.abs(want.heights_m - relief.heights_m).max() > 50.0  # not the illustrative relief's heights
    assert terrain.n_cells == len(relief.faces) == 28_800
    # the kiosk's header says what the ground is, in both languages
    m = load_mission()
    assert kiosk.header_words(m, "en")["note"] == f"{m.note.en}  ·  Ground: {PRODUCT}"
    assert "LOLA 实测地形 512 像素/度，59 米" in kiosk.header_words(m, "zh")["note"]


def test_flat_and_dome_stills_of_the_site_view_use_and_name_it(fetched, kernels_loaded):
    from viewer.epochs import et_from_utc
    from viewer.export import camera_paths as cp
    from viewer.export.panorama import make_projection
    from viewer.export.panorama_source import PanoramaSource, panorama_still
    from viewer.scene.scene import MissionScene
    from viewer.terrain import meshes, select_dem

    et = et_from_utc(SITE_UTC)
    scene = MissionScene("site", window_size=(320, 180), off_screen=True, quality="fast")
    try:
        scene.set_view("site", et=et)
        scene.screenshot()
        assert scene.bodies.terrain_label == PRODUCT
        assert scene.labels.texts["note:terrain"].GetInput().startswith(PRODUCT)
        heights = np.asarray(scene.bodies.terrain.point_data["height_m"])
        lod = "export" if len(heights) > 121 * 121 else "browser"
        np.testing.assert_allclose(heights, meshes.site_data(lod, dem=select_dem()).heights_m)
    finally:
        scene.close()
    # a video frame of the site view keeps the scene's ground note; the closing credits name the ground too
    from viewer.export.overlays import content_from_mission
    from viewer.export.scene_source import SceneSource
    from viewer.mission import load_mission

    video = SceneSource((320, 180), [cp.Segment(et, et + 1.0, "site", "preset")], ets=np.array([et]))
    try:
        video.render_frame(et)
        note = video.scene.labels.texts["note:terrain"]
        assert note.GetVisibility() and note.GetInput().startswith(PRODUCT)
    finally:
        video.close()
    assert content_from_mission(load_mission(), "en").data_credits[-1] == f"Ground: {PRODUCT}"
    assert "LOLA 实测地形 512 像素/度" in content_from_mission(load_mission(), "zh").data_credits[-1]
    # a dome still: the scene's notes (the ground among them) burnt into the viewing band, inside the circle
    n = 384
    fisheye = make_projection("fisheye")
    src = PanoramaSource((n, n), [cp.Segment(et, et + 1.0, "site", "preset")], fisheye, ets=np.array([et]))
    try:
        bare = src.render_frame(et)
        notes = src.notes_at(et)
    finally:
        src.close()
    assert any(note.startswith(PRODUCT) for note in notes), notes
    still = panorama_still(et, "site", (n, n), fisheye, aa=False)
    y, x = np.mgrid[0:n, 0:n]
    changed = np.abs(still.astype(int) - bare.astype(int)).max(axis=2) > 40
    band = (y > 0.55 * n) & (y < 0.92 * n)
    assert changed[band].sum() > 200 and changed.sum() < 1.5 * changed[band].sum() + 400  # mostly in the band
    outside = (x + 0.5 - n / 2) ** 2 + (y + 0.5 - n / 2) ** 2 > (n / 2) ** 2
    assert still[outside].max() == 0


def test_links_report_horizon_follows_the_site_product(volume, tmp_path):  # noqa: F811
    import os
    import subprocess
    import sys
    from pathlib import Path

    from viewer.links.project import site_horizon
    from viewer.terrain.synthetic import IllustrativeRelief

    site.fetch_site(60, progress=False)
    env = dict(os.environ, VIEWER_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "viewer", "links", "report"], cwd=Path(__file__).resolve().parents[1],
                       env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if "terrain horizon at the site from" in x]
    after = site_horizon()  # the DEM in use: the site windows
    before = site_horizon(IllustrativeRelief())
    assert f"from {PRODUCT}: {after.elevations_deg.min():.2f}° … {after.elevations_deg.max():.2f}°" in line, line
    assert np.abs(after.elevations_deg - before.elevations_deg).max() > 0.5
    assert f"{before.elevations_deg.max():.2f}°" not in line
