"""Relay line of sight on synthetic kernels (no mission kernels needed).

The oracle here recomputes every elementary link with plain numpy geometry, written separately from
``viewer.links``: positions from ``spiceypy.spkpos`` in Moon-fixed and Earth-fixed frames, the site's
east-north-up basis and the stations' geodetic coordinates computed here, and ray–sphere tests by the quadratic
(not by closest approach). The windows must agree with it everywhere except within 2 s of a window edge.
"""

from __future__ import annotations

import json
import math

import links_synthetic as syn
import numpy as np
import pytest
import spiceypy
from links_oracle import near_edge as _near_edge
from links_oracle import oracle

from viewer import kernels, links
from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM, MOON_RADIUS_KM
from viewer.errors import KernelError
from viewer.links.horizon import compute_horizon


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A clean kernel pool: generic kernels + the synthetic FK/SPK; restored afterwards."""
    was_loaded = kernels._loaded is not None
    kernels.unload()
    spiceypy.kclear()
    moon_frame = kernels.moon_frame()
    for k in kernels.generic_kernels():
        spiceypy.furnsh(str(k.path))
    info = syn.build(tmp_path_factory.mktemp("synthetic_kernels"), moon_frame)
    info["moon_frame"] = moon_frame
    yield info
    spiceypy.kclear()
    try:  # back to the project's pool (the leapseconds kernel at least, which viewer.epochs expects)
        kernels.furnish()
    except KernelError:  # no mission kernels here: the generic ones will do
        if was_loaded:
            raise
        spiceypy.furnsh(str(kernels.leapseconds_path()))


@pytest.fixture(scope="module")
def horizon(synthetic):
    return compute_horizon(
        syn.ridge_height_m, syn.SITE_LAT, syn.SITE_LON, step_km=0.25, max_range_km=60.0, observer_height_m=2.0
    )


BODIES = links.Bodies(
    site="SYN_SITE",
    topo_frame="SYN_TOPO",
    lander="SYN_LANDER",
    ascender="SYN_ASCENDER",
    orbiter="SYN_ORBITER",
    relay="SYN_RELAY",
)


@pytest.fixture(scope="module")
def model(synthetic, horizon, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("VIEWER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return links.RelayModel(links.mission_stations(), horizon, bodies=BODIES)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


# ------------------------------------------------------------------------------------------ tests
def test_topo_frame_is_east_north_up(synthetic):
    et = synthetic["t0"]
    rot = np.array(spiceypy.pxform("SYN_TOPO", synthetic["moon_frame"], et))
    assert np.allclose(rot, syn.enu_basis(synthetic["site"]), atol=1e-12)


def test_windows_agree_with_independent_geometry_at_500_random_epochs(synthetic, model, horizon):
    rng = np.random.default_rng(8)
    checked = 0
    for link in model.links.values():
        if link.composite or link.kind == "site_earth":
            continue
        cov = model.coverage(link.id)
        assert cov, link.id
        lo, hi = cov[0][0], cov[-1][1]
        ets = np.sort(rng.uniform(lo, hi, 500))
        got = model.link_states(ets, [link.id])[link.id]
        want = oracle(model, link, ets, synthetic["moon_frame"])
        wins = model.windows(link.id)
        bad = (got != want) & ~_near_edge(wins, ets)
        assert not bad.any(), (link.id, [spiceypy.et2utc(t, "ISOC", 1) for t in ets[bad][:5]])
        checked += 1
        # the test is not vacuous: the geometry changes state during the span for the orbiting links
    assert checked == 2 + 3 * 3 + 1
    for lid in ("lander-queqiao2", "queqiao2-kashi", "orbiter-queqiao2", "orbiter-neuquen"):
        assert 0 < len(model.windows(lid)), lid


def test_composites_are_interval_algebra_of_their_parts(model):
    rng = np.random.default_rng(3)
    ets = np.sort(rng.uniform(*model.coverage("relay-lander")[0], 2000))
    st = model.link_states(ets)
    assert np.array_equal(st["queqiao2-ground"], st["queqiao2-kashi"] | st["queqiao2-jiamusi"] | st["queqiao2-neuquen"])
    edge = _near_edge(model.windows("lander-queqiao2") + model.windows("queqiao2-ground"), ets, 1e-3)
    want = st["lander-queqiao2"] & st["queqiao2-ground"]
    assert np.array_equal(st["relay-lander"][~edge], want[~edge])


def test_window_edges_are_refined_below_one_second(synthetic, model):
    for lid in ("queqiao2-kashi", "orbiter-queqiao2", "lander-queqiao2"):
        cov = model.coverage(lid)
        for t0, t1 in model.windows(lid)[:6]:
            for t, inside in ((t0, True), (t1, False)):
                if any(abs(t - c) < 1e-6 for w in cov for c in w):
                    continue  # coverage edge, not a state change
                before, after = model.visibility(lid, [t - 0.5, t + 0.5])
                assert (before, after) == ((False, True) if inside else (True, False)), (lid, t)


def test_ridge_gives_the_expected_horizon_profile(horizon):
    r = MOON_RADIUS_KM
    obs = r + 0.002  # 2 m mast on flat ground at 0 m
    for az in (50.0, 90.0, 130.0):  # behind the ridge: its near edge at 19 km sets the horizon
        theta = syn.RIDGE["d_min_km"] / r
        rp = r + syn.RIDGE["height_m"] / 1000
        want = math.degrees(math.atan2(rp * math.cos(theta) - obs, rp * math.sin(theta)))
        assert horizon.elevation_at(az) == pytest.approx(want, abs=0.01)
        assert horizon.distances_km[int(az)] == pytest.approx(syn.RIDGE["d_min_km"], abs=0.3)
    dip = -math.degrees(math.acos(r / obs))  # smooth sphere elsewhere: the geometric dip of a 2 m mast
    for az in (0.0, 180.0, 270.0, 315.0):
        assert horizon.elevation_at(az) == pytest.approx(dip, abs=0.01)
    assert 2.5 < horizon.elevation_at(90.0) < 3.0


def test_ridge_blocks_a_low_satellite_behind_it(synthetic, horizon, monkeypatch_module):
    ta = synthetic["lowsat_t0"]
    opens = {}
    for name in ("SYN_LOWSAT_E", "SYN_LOWSAT_W"):
        m = links.RelayModel(
            links.mission_stations(), horizon, cache=False, bodies=links.Bodies(**{**BODIES.__dict__, "relay": name})
        )
        w = intersect_one(m.windows("lander-queqiao2"), ta + 1, ta + syn.LOWSAT_HOURS * 3600 - 1)
        assert len(w) == 1
        opens[name] = w[0][0]
        # at 2 degrees of elevation: open in the west, blocked behind the ridge in the east
        t_2deg = ta + (2.0 - syn.LOWSAT_EL0) / (syn.LOWSAT_EL1 - syn.LOWSAT_EL0) * syn.LOWSAT_HOURS * 3600
        assert m.visibility("lander-queqiao2", [t_2deg])[0] == (name == "SYN_LOWSAT_W")
    el_open_e = syn.lowsat_elevation_deg(opens["SYN_LOWSAT_E"], ta)
    el_open_w = syn.lowsat_elevation_deg(opens["SYN_LOWSAT_W"], ta)
    # each rises into view where its elevation (seen from the 2 m mast) crosses that azimuth's horizon
    assert el_open_e == pytest.approx(horizon.elevation_at(90.0), abs=0.02)
    # (the lander is 3 m above the site sphere, whose own dip of 0.10° lies below the flat-ground horizon)
    assert el_open_w == pytest.approx(horizon.elevation_at(270.0), abs=0.02)
    assert el_open_e - el_open_w > 2.5


def test_a_chain_leg_behind_the_ridge_stops_at_the_ridge(synthetic, horizon):
    """The lander → relay leg blocked by the ridge: its stub runs due east and stops 19 km out, under the crest."""
    from viewer.links.chain import relay_chain

    bodies = links.Bodies(**{**BODIES.__dict__, "relay": "SYN_LOWSAT_E"})
    m = links.RelayModel(links.mission_stations(), horizon, cache=False, bodies=bodies)
    ta = synthetic["lowsat_t0"]
    et = ta + (2.0 - syn.LOWSAT_EL0) / (syn.LOWSAT_EL1 - syn.LOWSAT_EL0) * syn.LOWSAT_HOURS * 3600
    chain = relay_chain(et, m, sources=[(et - 1.0, et + 1.0, "lander")])
    leg = chain["legs"][0]
    assert leg["id"] == "lander-queqiao2" and not leg["open"] and leg["reason"] == "horizon" and leg["show"]
    lander, end = np.array(leg["from"]["position_km"]), np.array(leg["stub"]["to_km"])
    np.testing.assert_allclose(leg["stub"]["from_km"], lander, atol=1e-9)
    rel = np.array(spiceypy.pxform("J2000", synthetic["moon_frame"], et)) @ (end - lander)
    east, north, up = synthetic["enu"].T @ rel
    assert math.hypot(east, north) == pytest.approx(syn.RIDGE["d_min_km"], abs=0.3)
    assert math.degrees(math.atan2(east, north)) == pytest.approx(90.0, abs=0.5)
    assert 0.0 < up < syn.RIDGE["height_m"] / 1000  # the line of sight climbs at 2° and meets the ridge below its crest
    open_chain = relay_chain(ta + syn.LOWSAT_HOURS * 3600 - 1, m, sources=[(ta, ta + 4000.0, "lander")])
    assert open_chain["legs"][0]["open"] and open_chain["legs"][0]["stub"] is None


def intersect_one(wins, t0, t1):
    return links.intersect(wins, [(t0, t1)])


def test_earth_is_below_the_site_horizon_and_site_earth_never_opens(synthetic, model):
    ets = np.arange(synthetic["t0"], synthetic["t1"], 600.0)
    el = model.earth_elevation_at_site(ets)
    assert el.max() < 0
    assert -60 < el.min()
    assert model.windows("site-earth") == []


def test_link_states_are_fast_and_cached_on_disk(synthetic, model, horizon):
    import time

    model.all_windows()
    assert model.cache_path is not None and model.cache_path.exists()
    data = json.loads(model.cache_path.read_text())
    assert set(data["windows"]) == set(model.links)
    again = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES)
    t = time.perf_counter()
    assert again.all_windows() == model.all_windows()
    assert time.perf_counter() - t < 1.0  # read from the cache, not searched
    assert again.cache_path == model.cache_path
    other = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, mask_deg=10.0)
    assert other.cache_key() != model.cache_key()
    ets = np.linspace(synthetic["t0"], synthetic["t1"], 10_000)
    st = model.link_states(ets)
    assert set(st) == set(model.links) and all(v.shape == (10_000,) and v.dtype == bool for v in st.values())


def test_a_higher_mask_shortens_station_windows(synthetic, horizon):
    base = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, cache=False)
    high = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, cache=False, mask_deg=20.0)
    total = lambda m: sum(b - a for a, b in m.windows("queqiao2-kashi"))
    assert 0 < total(high) < total(base)


def test_timeline_strip_is_json_with_utc_and_et(model):
    strip = links.timeline_strip(model)
    text = json.dumps(strip)
    back = json.loads(text)
    ids = [l["id"] for l in back["links"]]
    assert ids == list(model.links)
    one = next(l for l in back["links"] if l["id"] == "queqiao2-kashi")
    assert one["a"] == "SYN_RELAY" and one["b"] == "STATION:kashi"
    w = one["windows"][0]
    assert w["utc0"].endswith("Z") and w["et1"] > w["et0"]
    assert len(back["horizon"]["elevations_deg"]) == 360


def test_endpoint_positions_put_the_station_on_the_earth(synthetic, model):
    ets = np.array([synthetic["t0"], synthetic["t0"] + 3600])
    relay, station = model.endpoint_positions("queqiao2-kashi", ets, observer="EARTH", frame="J2000")
    assert np.allclose(np.linalg.norm(station, axis=1), np.linalg.norm(model.station_xyz_km["kashi"]), atol=1e-6)
    assert np.allclose(relay, spiceypy.spkpos("SYN_RELAY", ets, "J2000", "NONE", "EARTH")[0])


def test_unknown_link_and_bad_mask_are_one_line_errors(model, horizon):
    from viewer.errors import InputError

    with pytest.raises(InputError, match="unknown link 'nope'"):
        model.windows("nope")
    with pytest.raises(InputError, match="mask"):
        links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, mask_deg=120)


def test_report_lists_windows_phases_and_flight_in_text_and_json(synthetic, model):
    from viewer.errors import InputError
    from viewer.links import report
    from viewer.mission import load_mission

    mission = load_mission()
    rep = json.loads(json.dumps(report.build_report(model, mission)))
    assert [p["id"] for p in rep["phases"]] == ["powered_descent", "surface_operations", "ascent"]
    assert rep["earth_elevation_at_site"]["max_deg"] < 0
    assert {f["vehicle"] for f in rep["in_flight"]} == {"ascender", "orbiter"}
    for f in rep["in_flight"]:
        assert f["direct_fraction"] + f["relay_only_fraction"] + f["none_fraction"] == pytest.approx(1.0)
    text = report.format_report(rep)
    first = model.windows("queqiao2-kashi")[0]
    from viewer.epochs import utc_from_et

    assert f"{utc_from_et(first[0], 1)} → {utc_from_et(first[1], 1)}" in text
    assert "Powered descent" in text and "Earth never rises at the site" in text
    zh = report.format_report(rep, "zh")
    assert "动力下降" in zh and "在着陆点地球从不升起" in zh and "Earth never rises" not in zh
    assert f"{utc_from_et(first[0], 1)} → {utc_from_et(first[1], 1)}" in zh
    only = report.build_report(model, mission, ["relay-lander"])
    assert [l["id"] for l in only["links"]] == ["relay-lander"]
    with pytest.raises(InputError, match="unknown link"):
        report.build_report(model, mission, ["nope"])


def test_a_window_shorter_than_the_grid_step_is_found(synthetic, horizon, model):
    """Queqiao-2 just peeking over a raised mask at Kashi: a ~1 min window found with a 10 min grid."""
    from links_oracle import geodetic_xyz

    st = model.stations["kashi"]
    s = geodetic_xyz(
        st.lat_deg, st.lon_east_deg, st.altitude_m / 1000, EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM
    )
    lat, lon = math.radians(st.lat_deg), math.radians(st.lon_east_deg)
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])

    def elevation(ets):
        d = np.array(spiceypy.spkpos("SYN_RELAY", ets, "ITRF93", "NONE", "EARTH")[0]) - s
        return np.degrees(np.arcsin(d @ up / np.linalg.norm(d, axis=1)))

    coarse = np.arange(synthetic["t0"], synthetic["t0"] + 86400, 60.0)
    tm = coarse[np.argmax(elevation(coarse))]
    fine = np.arange(tm - 120, tm + 120, 0.5)
    el = elevation(fine)
    tm = fine[np.argmax(el)]
    mask = float(max(elevation(np.array([tm - 30.0, tm + 30.0]))))  # open for about one minute around the peak
    brief = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, cache=False, mask_deg=mask, step_s=600.0)
    wins = [w for w in brief.windows("queqiao2-kashi") if w[0] - 600 < tm < w[1] + 600]
    assert len(wins) == 1
    assert wins[0][0] == pytest.approx(tm - 30.0, abs=2.0) and wins[0][1] == pytest.approx(tm + 30.0, abs=2.0)
    assert brief.densified > 0


def test_the_window_cache_key_covers_the_kernels_and_the_package_sources(model, tmp_path, monkeypatch):
    from pathlib import Path

    from viewer.links import model as model_mod

    assert model_mod.PACKAGE_DIR == Path(links.__file__).resolve().parent
    files = model_mod.loaded_kernel_files()
    assert any(p.name == "synthetic.bsp" for p in files) and not any(p.suffix == ".tm" for p in files)
    (tmp_path / "kinds.py").write_text("x = 1\n")
    monkeypatch.setattr(model_mod, "PACKAGE_DIR", tmp_path)
    before = model.cache_key()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "extra.py").write_text("y = 2\n")  # a file moved into a subfolder changes the key too
    assert model.cache_key() != before
    after = model.cache_key()
    monkeypatch.setattr(model_mod, "loaded_kernel_files", lambda: files[:-1])
    assert model.cache_key() != after


def test_a_model_with_another_mask_keeps_the_default_cache_entry(model, horizon):
    model.all_windows()
    other = links.RelayModel(links.mission_stations(), horizon, bodies=BODIES, mask_deg=12.0)
    other.all_windows()
    assert other.cache_path != model.cache_path and other.cache_path.exists() and model.cache_path.exists()
