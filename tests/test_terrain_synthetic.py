"""The illustrative relief: deterministic, with the basins where the sources put them and a power-law crater SFD."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.terrain.synthetic import IllustrativeRelief, crater_profile, load_spec

SITE = (-41.6385, 206.0148)


@pytest.fixture(scope="module")
def relief():
    return IllustrativeRelief()


def test_deterministic_and_seeded(relief):
    lat = np.linspace(-60, -20, 50)
    lon = np.linspace(180, 230, 50)
    a = relief.height_m(lat, lon)
    np.testing.assert_array_equal(a, IllustrativeRelief().height_m(lat, lon))
    assert not np.allclose(a, IllustrativeRelief(seed=relief.seed + 1).height_m(lat, lon))
    assert relief.source_label == "illustrative relief" and relief.product is None


def test_site_lies_low_on_the_basin_floor(relief):
    _, _, glob = relief.resampled(180, 360)
    site = float(relief.height_m(*SITE))
    assert site < np.percentile(glob, 10), (site, np.percentile(glob, 10))
    assert -9000 < site < -2000


def _basin_floor_and_rim(dem, name):
    basin = next(b for b in load_spec()["basins"] if b["name"] == name)
    radius = basin["diameter_km"] / 2 / 1737.4  # rad
    az = np.radians(np.arange(0, 360, 10))
    lat0, lon0 = np.radians(basin["lat_deg"]), np.radians(basin["lon_east_deg"])

    def ring(frac):
        d = frac * radius
        lat = np.arcsin(np.sin(lat0) * np.cos(d) + np.cos(lat0) * np.sin(d) * np.cos(az))
        lon = lon0 + np.arctan2(np.sin(az) * np.sin(d) * np.cos(lat0), np.cos(d) - np.sin(lat0) * np.sin(lat))
        return dem.height_m(np.degrees(lat), np.degrees(lon), resolution_km=20.0)

    return np.median(ring(0.1)), np.median(ring(1.0)), basin


@pytest.mark.parametrize("name", ["Apollo", "South Pole–Aitken"])
def test_basin_floor_below_rim_by_about_its_depth(relief, name):
    floor, rim, basin = _basin_floor_and_rim(relief, name)
    assert rim - floor > 0.5 * basin["depth_km"] * 1000, (floor, rim)


def test_crater_population_follows_the_power_law(relief):
    spec = load_spec()["craters"]
    d = relief.global_craters["d_km"]
    expected = spec["n_ge_20km"] * ((spec["d_split_km"] / 20) ** -2 - (spec["d_max_km"] / 20) ** -2)
    assert abs(len(d) - expected) < 5 * np.sqrt(expected)
    ratio = np.sum(d >= 30) / np.sum(d >= 15)
    assert abs(ratio - 0.25) < 0.03
    assert abs(np.sum(d >= 20) - spec["n_ge_20km"]) < 5 * np.sqrt(spec["n_ge_20km"])
    tile = relief.tile_craters(24, 103)  # a 2° tile around the site
    assert tile["d_km"].min() >= spec["d_min_km"] and tile["d_km"].max() < spec["d_split_km"]
    assert len(tile["d_km"]) > 50


def test_crater_profiles_follow_pike():
    s = np.array([0.0, 1.0])
    simple = crater_profile(s, np.full(2, 5.0), np.ones(2))
    assert simple[1] - simple[0] == pytest.approx(0.196 * 5000)
    assert simple[1] == pytest.approx(0.036 * 5000)
    complex_ = crater_profile(np.array([0.1, 1.0]), np.full(2, 60.0), np.ones(2))
    assert complex_[1] > 0 > complex_[0]


def test_window_and_resample_match_point_queries(relief):
    lats, lons, h = relief.window(-42.5, -41.0, 205.0, 207.0, pixels_per_degree=8)
    assert h.shape == (len(lats), len(lons)) and lats[0] > lats[-1] and lons[0] < lons[-1]
    res = np.radians(1 / 8) * 1737.4
    np.testing.assert_allclose(
        h, relief.height_m(*np.meshgrid(lats, lons, indexing="ij"), resolution_km=res), atol=1e-3
    )
    assert relief.minimum_m < float(relief.height_m(*SITE)) < relief.maximum_m
