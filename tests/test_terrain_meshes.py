"""Meshes, textures (orientation checked on known features), DEM selection and the mesh cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from viewer.errors import DataError
from viewer.terrain import describe, meshes, select_dem, textures
from viewer.terrain.lola import LolaDem
from viewer.terrain.synthetic import IllustrativeRelief


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VIEWER_DEM", raising=False)


@pytest.fixture(scope="module")
def relief():
    return IllustrativeRelief()


def _lat_lon_of(points):
    p = points.astype(float)
    return np.degrees(np.arcsin(p[:, 2] / np.linalg.norm(p, axis=1))), np.mod(
        np.degrees(np.arctan2(p[:, 1], p[:, 0])), 360
    )


def _angle_deg(lat0, lon0, lat, lon):
    lat0, lon0, lat, lon = map(np.radians, (lat0, lon0, lat, lon))
    c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def _grey_near(mesh, image, lat0, lon0, r_min, r_max):
    """Mean texel brightness under the mesh vertices at angular distance r_min..r_max° of (lat0, lon0)."""
    lat, lon = _lat_lon_of(mesh.points)
    ang = _angle_deg(lat0, lon0, lat, lon)
    sel = (ang >= r_min) & (ang <= r_max)
    assert sel.sum() >= 10
    return textures.sample(image, mesh.tcoords[sel]).astype(float).mean()


# ------------------------------------------------------------------------------------ texture orientation
def test_moon_texture_dark_maria_where_they_are(relief):
    globe = meshes.globe_data("export", dem=relief)
    wac = textures.texture_image("moon")
    # Mare Crisium (17°N 59°E, ~550 km) against the highlands around it
    assert _grey_near(globe, wac, 17.0, 59.0, 0, 3) < 0.75 * _grey_near(globe, wac, 17.0, 59.0, 9, 14)
    # Tsiolkovskiy's dark floor (20.4°S 129.1°E) on the far side: catches a mirrored or flipped map
    assert _grey_near(globe, wac, -20.4, 129.1, 0, 1.2) < 0.8 * _grey_near(globe, wac, -20.4, 129.1, 4, 8)
    # the near side (maria) is darker than the far side
    assert _grey_near(globe, wac, 10, 0, 0, 40) < _grey_near(globe, wac, 10, 180, 0, 40)


def test_earth_texture_sahara_atlantic_antarctica():
    earth = meshes.earth_data("export")
    bm = textures.texture_image("earth")
    lat, lon = _lat_lon_of(earth.points)

    def mean_rgb(lat0, lon0, r):
        sel = _angle_deg(lat0, lon0, lat, lon) <= r
        return textures.sample(bm, earth.tcoords[sel]).astype(float).mean(axis=0)

    sahara, atlantic = mean_rgb(23, 20, 5), mean_rgb(25, 330, 5)
    assert sahara[0] > sahara[2] and atlantic[2] > atlantic[0]  # sand is red-yellow, ocean is blue
    assert sahara.sum() > 1.5 * atlantic.sum()
    assert mean_rgb(-82, 180, 4).sum() > 2 * mean_rgb(82, 180, 4).sum()  # Ross ice shelf vs the Arctic Ocean


def test_rendered_earth_shows_the_sahara_at_its_longitude():
    """Through pyvista's own texture lookup (row 0 = top): the view centre at 23°N 20°E is sand, at 25°N 30°W sea."""
    import pyvista as pv

    pv.global_theme.multi_samples = 0
    earth = meshes.earth_mesh("browser")
    colours = []
    for lat, lon in ((23.0, 20.0), (25.0, 330.0)):
        p = pv.Plotter(off_screen=True, window_size=(200, 200))
        p.add_mesh(earth, texture=pv.Texture(textures.texture_image("earth")), lighting=False)
        la, lo = np.radians(lat), np.radians(lon)
        eye = 30000 * np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        p.camera_position = [tuple(eye), (0, 0, 0), (0, 0, 1)]
        img = p.screenshot(return_img=True)
        p.close()
        colours.append(img[95:105, 95:105].reshape(-1, 3).astype(float).mean(axis=0))
    sahara, sea = colours
    assert sahara[0] > sahara[2] + 30 and sea[2] > sea[0] + 10 and sahara.sum() > 3 * sea.sum()


# ---------------------------------------------------------------------------------------------- geometry
def test_globe_geometry_and_budget(relief):
    for lod, limit in (("browser", 100_000), ("export", 600_000)):
        m = meshes.globe_data(lod, exaggeration=2.0, dem=relief)
        assert len(m.faces) <= limit
        r = np.linalg.norm(m.points.astype(float), axis=1)
        np.testing.assert_allclose(r, 1737.4 + m.heights_m * 2.0 / 1000, atol=2e-3)
        # outward normals and counter-clockwise faces seen from outside
        assert np.all(np.einsum("ij,ij->i", m.normals, m.points) > 0)
        tri = m.points[m.faces].astype(float)
        fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        assert np.mean(np.einsum("ij,ij->i", fn, tri.mean(axis=1)) > 0) > 0.999
    assert len(meshes.globe_data("export", dem=relief).faces) > 400_000
    lat, lon = _lat_lon_of(m.points)
    u_expected = np.where(np.isclose(m.tcoords[:, 0], 1.0), 1.0, lon / 360)  # seam column carries u = 1
    ok = np.abs(np.abs(lat) - 90) > 1e-3  # longitude is undefined at the poles
    np.testing.assert_allclose(m.tcoords[ok, 0], u_expected[ok], atol=1e-4)
    np.testing.assert_allclose(m.tcoords[:, 1], (lat + 90) / 180, atol=1e-4)


def test_site_patch_enu_about_the_site(relief):
    one = meshes.site_data("browser", exaggeration=1.0, dem=relief)
    two = meshes.site_data("browser", exaggeration=2.0, dem=relief)
    n = meshes.SITE_LOD["browser"]
    centre = (n // 2) * n + n // 2
    np.testing.assert_allclose(one.points[centre], 0.0, atol=1e-3)  # the lander stands at the origin
    x, y = one.points[:, 0], one.points[:, 1]
    assert x.min() < -140e3 and x.max() > 140e3 and y.min() < -140e3 and y.max() > 140e3
    # x is east, y north: the node east of the centre has the larger longitude, the one north the larger latitude
    lon_e = one.tcoords[centre + 1, 0] * 360
    lat_n = one.tcoords[centre - n, 1] * 180 - 90
    assert lon_e > one.meta["site_lon_east_deg"] and lat_n > one.meta["site_lat_deg"]
    # vertical exaggeration scales the relief relative to the site, not the curvature
    near = np.hypot(x, y) < 30e3
    dz = (two.points[near, 2] - one.points[near, 2]).astype(float)
    rel = (two.heights_m[near] - two.meta["site_height_m"]).astype(float)
    np.testing.assert_allclose(dz, rel, atol=2.0 + 0.01 * np.abs(rel).max())
    # curvature: the corners lie ~ (150² + 150²) / (2 R) km below the tangent plane
    corner_drop = np.hypot(150e3, 150e3) ** 2 / (2 * 1737.4e3)
    assert -1.6 * corner_drop < one.points[0, 2] < -0.4 * corner_drop
    assert one.meta["source_label"] == "illustrative relief"


def test_site_patch_from_lola_sits_at_the_published_elevation(ldem4_path):
    dem = LolaDem.open(ldem4_path)
    patch = meshes.site_data("browser", dem=dem)
    assert abs(patch.meta["site_height_m"] - (-5256.0)) <= 300.0
    assert patch.meta["source_label"] == "LOLA LDEM_4"


def test_earth_is_the_ellipsoid():
    e = meshes.earth_data("browser")
    p = e.points.astype(float)
    lhs = (p[:, 0] ** 2 + p[:, 1] ** 2) / meshes.EARTH_A_KM**2 + p[:, 2] ** 2 / meshes.EARTH_B_KM**2
    np.testing.assert_allclose(lhs, 1.0, atol=1e-6)
    assert p[:, 2].max() == pytest.approx(6356.7519, abs=1e-3)


def test_first_browser_payload_fits_5_mb(relief):
    total = (
        meshes.globe_data("browser", dem=relief).payload_bytes()
        + meshes.site_data("browser", dem=relief).payload_bytes()
        + meshes.earth_data("browser").payload_bytes()
        + len(textures.jpeg_bytes("moon"))
        + len(textures.jpeg_bytes("earth"))
    )
    assert total <= 5_000_000, total


# ----------------------------------------------------------------------------------------------- caching
def test_meshes_are_cached_by_their_inputs(relief, tmp_path, monkeypatch):
    first = meshes.globe_data("browser", dem=relief)
    files = list((tmp_path / "cache" / "meshes").glob("moon-globe-*.npz"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("rebuilt instead of read from the cache")

    monkeypatch.setattr(meshes, "build_globe", boom)
    again = meshes.globe_data("browser", dem=relief)
    np.testing.assert_array_equal(first.points, again.points)
    np.testing.assert_array_equal(first.faces, again.faces)
    assert again.meta["source_label"] == "illustrative relief"
    with pytest.raises(AssertionError, match="rebuilt"):
        meshes.globe_data("browser", exaggeration=3.0, dem=relief)
    with pytest.raises(AssertionError, match="rebuilt"):
        meshes.globe_data("browser", dem=IllustrativeRelief(seed=1))
    assert not list((tmp_path / "cache" / "meshes").glob(".*tmp"))
    poly = meshes.globe_mesh("browser", dem=relief)
    assert poly.n_cells == len(first.faces) and poly.active_texture_coordinates.shape == (poly.n_points, 2)


def test_mesh_cache_key_covers_the_dem_files(ldem4_path, tmp_path):
    """Touching the DEM's label (a new modification time) gives a new key: the patch is rebuilt, the old entry goes."""
    import os

    copy = tmp_path / "dem"
    copy.mkdir()
    shutil.copyfile(ldem4_path, copy / "LDEM_4.IMG")
    shutil.copyfile(ldem4_path.with_suffix(".LBL"), copy / "LDEM_4.LBL")
    dem = LolaDem.open(copy / "LDEM_4.IMG")
    meshes.site_data("browser", dem=dem)
    before = sorted((tmp_path / "cache" / "meshes").glob("moon-site-*.npz"))
    st = (copy / "LDEM_4.LBL").stat()
    os.utime(copy / "LDEM_4.LBL", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    meshes.site_data("browser", dem=dem)
    after = sorted((tmp_path / "cache" / "meshes").glob("moon-site-*.npz"))
    assert len(before) == len(after) == 1 and before != after


def test_site_patch_is_centred_on_the_mission_files_site(relief):
    from viewer.mission import landing_site

    patch = meshes.site_data("browser", dem=relief)
    assert (patch.meta["site_lat_deg"], patch.meta["site_lon_east_deg"]) == landing_site()


# ------------------------------------------------------------------------------------- selection, textures
def test_select_dem_order(ldem4_path, tmp_path, monkeypatch):
    assert isinstance(select_dem(), IllustrativeRelief)
    assert describe()[0] == (
        "terrain: illustrative relief (no LOLA file; run `python -m viewer data fetch --site`) [assumed]"
    )
    lola = tmp_path / "cache" / "lola"
    lola.mkdir(parents=True)
    shutil.copyfile(ldem4_path, lola / "ldem_4.img")
    shutil.copyfile(ldem4_path.with_suffix(".LBL"), lola / "ldem_4.lbl")
    (lola / "ldem_16.img.part").write_bytes(b"\0" * 100)  # an unfinished download is ignored
    (lola / "ldem_64.img").write_bytes(b"\0" * 100)  # a finer product without a label is skipped
    dem = select_dem()
    assert isinstance(dem, LolaDem) and dem.product == "LDEM_4"
    assert describe()[0] == f"terrain: LOLA LDEM_4 ({lola / 'ldem_4.img'}) [sourced]"
    monkeypatch.setenv("VIEWER_DEM", str(ldem4_path))
    assert select_dem().path == ldem4_path
    monkeypatch.setenv("VIEWER_DEM", str(tmp_path / "nope.IMG"))
    with pytest.raises(DataError, match="VIEWER_DEM="):
        select_dem()
    assert describe()[0].startswith("terrain: unavailable: VIEWER_DEM=")
    assert any(line.startswith("textures: Moon LROC WAC mosaic") for line in describe())


def test_corrupt_or_missing_texture_is_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "Moon.jpg").write_bytes(b"not a jpeg")
    monkeypatch.setattr(textures, "_maps_dir", lambda: tmp_path)
    textures.texture_image.cache_clear()
    try:
        for body, name in (("moon", "Moon.jpg"), ("earth", "Earth.jpg")):
            with pytest.raises(DataError) as err:
                textures.texture_image(body)
            assert "\n" not in str(err.value) and name in str(err.value)
    finally:
        textures.texture_image.cache_clear()


def test_credits_name_the_sources():
    text = " ".join(textures.credits())
    assert "LROC WAC" in text and "Blue Marble" in text and "LOLA" in text and "illustrative" in text
