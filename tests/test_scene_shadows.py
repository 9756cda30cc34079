"""Cast shadows on the site patch: the horizon sweep on a synthetic crater, and on screen with the true Sun at the
site shortly after sunrise (Sun in the east) and shortly before sunset (Sun in the west)."""

from __future__ import annotations

import os

import numpy as np
import pytest

REQUIRE_ALL = os.environ.get("VIEWER_REQUIRE_ALL") == "1"
N, SPACING = 121, 250.0  # a 30 km patch
FLOOR_R, RIM_R, DEPTH = 3000.0, 6000.0, 600.0  # flat floor, walls of 11.3°
MORNING, EVENING = "2024-05-29T00:00:00Z", "2024-06-11T12:00:00Z"  # Sun el 4.5° az 84°; el 4.8° az 276°


def _crater_grid():
    yy, xx = np.mgrid[0:N, 0:N].astype(float)
    x, y = (xx - (N - 1) / 2) * SPACING, ((N - 1) / 2 - yy) * SPACING  # row 0 north, column 0 west
    r = np.hypot(x, y)
    z = np.where(r < FLOOR_R, -DEPTH, np.where(r < RIM_R, -DEPTH * (RIM_R - r) / (RIM_R - FLOOR_R), 0.0))
    return x, y, z


def _sun(az_deg, el_deg):
    az, el = np.radians(az_deg), np.radians(el_deg)
    return np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])


def test_sweep_shadows_the_floor_below_the_sunward_rim_and_flips_with_the_sun():
    from viewer.scene.shadows import lit_fraction

    x, y, z = _crater_grid()
    row = (N - 1) // 2

    def at(lit, xm):
        return lit[row, int(round(xm / SPACING + (N - 1) / 2))]

    east = lit_fraction(z, SPACING, _sun(90.0, 4.5))
    west = lit_fraction(z, SPACING, _sun(270.0, 4.5))
    # a ray from (±2.5 km, floor) towards the Sun at 4.5° passes the far rim 3.5 km away 275 m low: shadow;
    # from the other side of the floor it clears the rim 8.5 km away by 69 m: lit
    assert at(east, 2500) == 0 and at(east, -2500) == 1
    assert at(west, -2500) == 0 and at(west, 2500) == 1
    assert at(east, -5500) == 1 and at(west, 5500) == 1  # the walls facing the Sun
    assert np.all(east[:, :5] == 1) and np.all(east[np.hypot(x, y) > RIM_R + 3 * SPACING] == 1)  # flat plain
    # a high Sun (50°) leaves the 11° walls and the floor lit; a Sun below the horizon darkens everything
    assert np.all(lit_fraction(z, SPACING, _sun(90.0, 50.0)) == 1)
    assert np.all(lit_fraction(z, SPACING, _sun(90.0, -2.0))[:, :-3] == 0)
    # the penumbra: within the Sun's disc of the grazing angle the lit fraction is between 0 and 1
    grazing = np.degrees(np.arctan(DEPTH / (RIM_R + 2500)))  # from (-2.5 km, floor) to the east rim
    part = at(lit_fraction(z, SPACING, _sun(90.0, grazing)), -2500)
    assert 0 < part < 1


@pytest.fixture(scope="module")
def crater_scene(kernels_loaded):
    import pyvista as pv

    from viewer.epochs import et_from_utc
    from viewer.scene.kinematics import coverage
    from viewer.scene.scene import BodyMeshes, MissionScene, body_meshes

    cov = coverage("CHANGE6_SITE")
    if cov is None or not all(cov[0] <= et_from_utc(t) <= cov[1] for t in (MORNING, EVENING)):
        msg = "the built kernels do not cover CHANGE6_SITE in 2024-05-29 … 2024-06-11"
        if REQUIRE_ALL:
            pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {msg}")
        pytest.skip(msg)
    x, y, z = _crater_grid()
    from viewer.terrain.meshes import _grid_faces

    patch = pv.PolyData.from_regular_faces(np.c_[x.ravel(), y.ravel(), z.ravel()], _grid_faces(N, N, poles=False))
    patch.active_texture_coordinates = np.tile([0.3, 0.5], (N * N, 1)).astype(np.float32)  # one albedo everywhere
    patch.compute_normals(inplace=True, split_vertices=False)
    patch.field_data["size_km"] = [str((N - 1) * SPACING / 1000.0)]
    real = body_meshes("browser")
    bodies = BodyMeshes(
        moon=real.moon,
        moon_texture=np.full((8, 16, 3), 180, np.uint8),
        terrain=patch,
        earth=real.earth,
        earth_texture=real.earth_texture,
        terrain_label="test crater",
    )
    s = MissionScene("site", window_size=(320, 320), bodies=bodies)
    yield s
    s.close()


def _grey_at(scene, et, points):
    scene.set_view("site", et=et)
    cam = scene.plotter.camera
    cam.focal_point, cam.position, cam.up, cam.view_angle = (0, 0, 0), (0, 0, 40_000.0), (0, 1, 0), 45.0
    scene.clip()
    keep = {n: p.GetVisibility() for n, p in scene.actors.items()}
    for n, p in scene.actors.items():
        p.SetVisibility(n == "terrain")
    try:
        img = scene.screenshot().astype(float).mean(axis=2)
    finally:
        for n, p in scene.actors.items():
            p.SetVisibility(keep[n])
    xy = np.round(scene.project(np.asarray(points, float))).astype(int)
    return np.array([img[py - 1 : py + 2, px - 1 : px + 2].mean() for px, py in xy])


def test_crater_casts_its_shadow_away_from_the_sun_on_screen(crater_scene):
    from viewer.epochs import et_from_utc

    east_floor, west_floor = (2500.0, 0.0, -DEPTH), (-2500.0, 0.0, -DEPTH)
    west_wall, east_wall = (-5500.0, 0.0, -100.0), (5500.0, 0.0, -100.0)
    pts = [east_floor, west_floor, west_wall, east_wall]
    am = _grey_at(crater_scene, et_from_utc(MORNING), pts)  # Sun in the east
    pm = _grey_at(crater_scene, et_from_utc(EVENING), pts)  # Sun in the west
    # morning: the west wall faces the Sun and is lit; the floor below the east rim lies in the rim's shadow, while
    # the same flat floor 5 km west (same slope, same albedo) is lit
    assert am[2] > 20 and am[1] > 8, am
    assert am[0] < 0.3 * am[1], am
    # evening: the other way round
    assert pm[3] > 20 and pm[0] > 8, pm
    assert pm[1] < 0.3 * pm[0], pm
    # the darkening is the cast shadow, not VTK's slope shading: without shadows the two floor points match
    crater_scene.cfg["shadows"] = False
    try:
        flat = _grey_at(crater_scene, et_from_utc(MORNING), pts)
    finally:
        crater_scene.cfg["shadows"] = True
    assert abs(flat[0] - flat[1]) < 0.15 * flat[1], flat


def test_low_sun_exposure_brightens_the_terrain_only(crater_scene):
    from viewer.epochs import et_from_utc

    def lander_light(s):
        return s.sun.intensity * s.actors["lander"].GetProperty().GetDiffuse()

    crater_scene.set_view("site", et=et_from_utc("2024-06-01T22:23:16Z"))  # touchdown, Sun 37° high
    high = (crater_scene.sun.intensity, lander_light(crater_scene))
    assert crater_scene.exposure(crater_scene.frame.sun_dir) == 1.0
    crater_scene.set_view("site", et=et_from_utc(MORNING))  # Sun 4.5° high
    gain = crater_scene.exposure(crater_scene.frame.sun_dir)
    assert 2.0 < gain <= float(crater_scene.cfg["site_exposure"]["max_gain"])
    assert crater_scene.sun.intensity == pytest.approx(high[0] * gain)
    assert lander_light(crater_scene) == pytest.approx(high[1])  # the spacecraft keep their look
    crater_scene.set_view("lunar", et=et_from_utc(MORNING))  # no terrain: no exposure
    assert crater_scene.sun.intensity == pytest.approx(high[0])


def test_fast_frames_sample_large_bodies_bilinearly(crater_scene):
    """llvmpipe's trilinear filtering is the dearest part of a frame filled by the Moon: fast frames use it only
    where the texture is minified (a small Moon), stills always."""
    from viewer.epochs import et_from_utc

    et = et_from_utc(MORNING)
    crater_scene.set_view("lunar", et=et)  # the Moon fills ~60 % of the frame height
    assert not crater_scene.actors["moon"].GetTexture().mipmap
    crater_scene.set_view("system", et=et)  # the Moon is a few pixels
    assert crater_scene.actors["moon"].GetTexture().mipmap
    crater_scene.set_view("site", et=et)
    assert not crater_scene.actors["terrain"].GetTexture().mipmap


@pytest.mark.parametrize("az_deg, el_deg", [(90.0, 5.0), (200.0, 8.0), (300.0, 3.0), (33.0, 10.0)])
def test_the_browsers_horizon_bytes_shade_as_the_sweep_does(az_deg, el_deg):
    """The browser's cast shadows come from per-vertex horizons at 16 azimuths, sent as bytes
    (:func:`viewer.scene.shadows.lit_from_horizon` is what ``static/site_shadows.js`` computes); on the crater
    they put >= 97 % of the nodes on the same side of half light as the sweep, with the floor's shadow the same size."""
    from viewer.scene import shadows

    _x, _y, z = _crater_grid()
    horizon = shadows.horizon_bytes(shadows.horizon_angles(z, SPACING))
    assert horizon.shape == (N * N, shadows.HORIZON_AZIMUTHS) and horizon.dtype == np.uint8
    sun = _sun(az_deg, el_deg)
    sweep = shadows.lit_fraction(z, SPACING, sun).ravel() < 0.5
    web = shadows.lit_from_horizon(horizon, sun) < 0.5
    assert sweep.mean() > 0.01, "the crater should cast a shadow with the Sun this low"
    assert np.mean(sweep == web) >= 0.97
    assert abs(web.mean() - sweep.mean()) <= 0.1 * sweep.mean()
