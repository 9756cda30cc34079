"""The mission scene without pixels: models, view presets, SPICE kinematics (stacks, attitudes, floating origin)
and the browser tracks (format, size budget, interpolation accuracy, adaptive sampling).

Times come from ``assets/mission.yaml`` events; states only from the kernels. Where the built kernels do not cover
a time yet, the test skips with the reason (and fails under ``VIEWER_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

REQUIRE_ALL = os.environ.get("VIEWER_REQUIRE_ALL") == "1"
STACK = ("CHANGE6_ORBITER", "CHANGE6_RETURNER", "CHANGE6_LANDER", "CHANGE6_ASCENDER")
KM = 1.0
M = 1e-3 * KM


def _missing(reason):
    if REQUIRE_ALL:
        pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def events(kernels_loaded):
    from viewer.mission import load_mission

    return {e.id: e.et for e in load_mission().events}


def need_coverage(*pairs):
    """Skip unless every (vehicle, et) is inside the built kernels."""
    from viewer.scene.kinematics import coverage

    for vehicle, et in pairs:
        cov = coverage(vehicle)
        if cov is None or not cov[0] <= et <= cov[1]:
            from viewer.epochs import utc_from_et

            _missing(
                f"the built kernels do not cover {vehicle} at {utc_from_et(et)} (run `python -m viewer kernels build`)"
            )


# ------------------------------------------------------------------------------------------------ models
def test_models_are_small_closed_enough_and_coloured():
    from viewer.scene import models

    total = 0
    for name in models.MODELS:
        m = models.model(name)
        assert m.n_cells > 100 and "rgb" in m.point_data
        assert m.point_data["rgb"].dtype == np.uint8
        total += m.n_cells
    assert total < 10_000  # a few thousand triangles per vehicle: the web budget is for terrain


def test_queqiao2_dish_is_4_2_m_and_looks_along_plus_x():
    from viewer.scene import models

    dish = models.umbrella_dish()
    xy = np.linalg.norm(dish.points[:, :2], axis=1)
    assert xy.max() == pytest.approx(models.DISH_DIAMETER_M / 2, rel=0.02)
    q = models.queqiao2()
    # the dish's rim spans 4.2 m in Y and Z and sits at +X of the bus
    assert q.bounds[5] - q.bounds[4] == pytest.approx(4.2, rel=0.05)
    assert q.bounds[1] > 2.0


def test_lander_has_four_footpads_on_the_ground():
    from viewer.scene import models

    m = models.lander()
    low = m.points[m.points[:, 2] < 0.05]
    quadrants = {(np.sign(x), np.sign(y)) for x, y in low[:, :2] if abs(x) > 1 and abs(y) > 1}
    assert quadrants == {(1, 1), (1, -1), (-1, 1), (-1, -1)}


# ------------------------------------------------------------------------------------------------ views
def test_view_presets_cover_the_required_views_with_units():
    from viewer.scene.views import get_view, load_views

    views = load_views()
    assert {"system", "lunar", "site", "return", "follow"} <= set(views)
    assert views["system"].unit == "km" and views["site"].unit == "m"
    assert views["site"].frame == "CHANGE6_TOPO" and views["lunar"].center == "MOON"
    with pytest.raises(Exception, match="unknown view 'nope'"):
        get_view("nope")


def test_quaternions_round_trip():
    from scipy.spatial.transform import Rotation

    from viewer.scene.kinematics import quaternions

    rots = Rotation.random(200, random_state=7).as_matrix()
    q = quaternions(rots)
    back = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()
    assert np.allclose(back, rots, atol=1e-12)


# ------------------------------------------------------------------------------------------------ kinematics
def _kin(view="lunar", follow=None):
    from viewer.scene.kinematics import Kinematics
    from viewer.scene.views import get_view

    return Kinematics(get_view(view), follow=follow)


def _roots(poses, i):
    return sorted(v for v in STACK if poses.visible[v][i] and not poses.stacked_on[v][i])


def _split_epoch(a: str, b: str, t0: float, t1: float) -> float:
    """When SPICE says ``a`` and ``b`` part (bisection on their distance), ET."""
    from viewer import ephemeris

    def apart(t):
        d = ephemeris.positions(a, [t], observer=b)[0]
        return np.linalg.norm(d) > 1.0 * M

    assert not apart(t0) and apart(t1)
    for _ in range(60):
        mid = 0.5 * (t0 + t1)
        t0, t1 = (mid, t1) if not apart(mid) else (t0, mid)
    return t1


def test_stack_is_one_vehicle_before_separation_and_two_after(events):
    sep = events["separation_la_or"]
    need_coverage(*[(v, sep + 3600) for v in STACK])
    kin = _kin()
    t_split = _split_epoch("CHANGE6_LANDER", "CHANGE6_ORBITER", sep - 6 * 3600, sep + 6 * 3600)
    p = kin.poses([t_split - 1.0, t_split + 1.0])
    assert _roots(p, 0) == ["CHANGE6_ORBITER"]
    assert _roots(p, 1) == ["CHANGE6_LANDER", "CHANGE6_ORBITER"]
    assert p.stacked_on["CHANGE6_ASCENDER"][1] == "CHANGE6_LANDER"
    assert p.stacked_on["CHANGE6_RETURNER"][1] == "CHANGE6_ORBITER"


def test_stack_rejoins_at_docking(events):
    dock, lift = events["docking"], events["liftoff"]
    need_coverage(("CHANGE6_ASCENDER", dock + 600), ("CHANGE6_ORBITER", dock + 600))
    kin = _kin()
    t_join = _split_epoch("CHANGE6_ASCENDER", "CHANGE6_ORBITER", dock + 1800, dock - 6 * 3600)  # reversed: joins
    p = kin.poses([lift + 600, t_join - 2.0, t_join + 2.0])
    assert _roots(p, 0) == ["CHANGE6_ASCENDER", "CHANGE6_LANDER", "CHANGE6_ORBITER"]  # three apart after liftoff
    assert p.stacked_on["CHANGE6_ASCENDER"][1] == ""
    assert p.stacked_on["CHANGE6_ASCENDER"][2] == "CHANGE6_ORBITER"  # one vehicle again


def test_members_ride_at_their_offset_in_the_parents_frame(events):
    t = events["loi"] + 7200
    need_coverage(*[(v, t) for v in STACK])
    kin = _kin("lunar")
    p = kin.poses([t], scale=10_000.0)
    scale_units_per_m = 1e-3 * 10_000.0
    for v in ("CHANGE6_RETURNER", "CHANGE6_LANDER"):
        off = p.positions[v][0] - p.positions["CHANGE6_ORBITER"][0]
        expect = p.rotations["CHANGE6_ORBITER"][0] @ p.offsets_m[v][0] * scale_units_per_m
        assert np.allclose(off, expect, atol=1e-9)
        assert np.allclose(p.rotations[v][0], p.rotations["CHANGE6_ORBITER"][0])


def test_floating_origin_site_view_is_metres_in_topo(events):
    t = events["touchdown"] + 3600
    need_coverage(("CHANGE6_LANDER", t))
    from viewer import ephemeris

    kin = _kin("site")
    p = kin.poses([t])
    enu_m = ephemeris.positions("CHANGE6_LANDER", [t], observer="CHANGE6_SITE", frame="CHANGE6_TOPO")[0] * 1000
    assert np.allclose(p.positions["CHANGE6_LANDER"][0], enu_m, atol=1e-6)
    assert np.linalg.norm(enu_m) < 100.0  # the lander stands at the site


def test_thrust_is_aligned_during_a_powered_arc(events):
    from viewer.scene.kinematics import manifest

    arcs = [
        a
        for a in manifest()["arcs"]
        if a["kind"] == "powered" and "CHANGE6_ORBITER" in a["vehicles"] and "LOI" in a["label"].upper()
    ]
    if not arcs:
        _missing("the manifest lists no powered LOI arc for the orbiter")
    a = arcs[0]
    t = 0.5 * (a["start_et"] + a["end_et"])
    need_coverage(("CHANGE6_ORBITER", t))
    from viewer import ephemeris

    kin = _kin("lunar")
    p = kin.poses([t])
    z_body = p.rotations["CHANGE6_ORBITER"][0][:, 2]  # J2000 = lunar view frame
    s = ephemeris.states("CHANGE6_ORBITER", [t - 1, t + 1], observer="MOON")
    v = s[0, 3:]
    # LOI brakes: thrust roughly against the velocity relative to the Moon
    assert float(z_body @ v / np.linalg.norm(v)) < -0.8


def test_relay_dish_points_at_the_lander_during_descent(events):
    t = events["descent_start"] + 300
    need_coverage(("QUEQIAO_2", t), ("CHANGE6_LANDER", t))
    from viewer import ephemeris

    kin = _kin("lunar")
    p = kin.poses([t])
    x_body = p.rotations["QUEQIAO_2"][0][:, 0]
    los = ephemeris.positions("CHANGE6_LANDER", [t], observer="QUEQIAO_2")[0]
    assert float(x_body @ los / np.linalg.norm(los)) > 0.9999


# ------------------------------------------------------------------------------------------------ tracks
@pytest.fixture(scope="module")
def web_scene(kernels_loaded):
    from viewer.scene.scene import MissionScene

    scene = MissionScene("lunar", web=True, window_size=(320, 180))
    yield scene
    scene.close()


@pytest.mark.parametrize("view", ["system", "lunar", "site", "return", "follow"])
def test_tracks_fit_the_budget_and_name_real_actors(web_scene, view):
    from viewer.scene import tracks
    from viewer.scene.tracks import decode

    web_scene.set_view(view)
    out = web_scene.export_tracks()
    text = json.dumps(out)
    assert len(text) <= 2_000_000, f"{view}: {len(text)} bytes of JSON"
    if not out["actors"]:
        _missing(f"no vehicle is covered by the built kernels for the {view} view")
    assert out["format"] == tracks.FORMAT
    for name, tr in out["actors"].items():
        assert name in web_scene.actors
        t = decode(tr["t"])
        assert np.all(np.diff(t) > 0)
        assert decode(tr["p"]).shape == (len(t), 3) and decode(tr["q"]).shape == (len(t), 4)
        assert decode(tr["vis"]).shape == (len(t),)
    for name in list(out["trails"]) + list(out["chain"].get("legs", {})):
        assert name in web_scene.actors
    assert decode(out["sun"]["d"]).shape[1] == 3
    labels = out["labels"]  # one label per thing, run by run, as the stills place them
    assert len(decode(labels["t"])) == len(labels["runs"]) >= 1
    for run in labels["runs"]:
        keys = [x["key"] for x in run] + [m for x in run for m in x["members"]]
        assert len(keys) == len(set(keys)) and all(x["actor"] in web_scene.actors for x in run)
        assert all(x["en"] and x["zh"] for x in run)


def _hermite(t, p, v, tq):
    i = np.clip(np.searchsorted(t, tq) - 1, 0, len(t) - 2)
    h = t[i + 1] - t[i]
    s = ((tq - t[i]) / h)[:, None]
    h = h[:, None]
    return (
        (2 * s**3 - 3 * s**2 + 1) * p[i]
        + (s**3 - 2 * s**2 + s) * h * v[i]
        + (-2 * s**3 + 3 * s**2) * p[i + 1]
        + (s**3 - s**2) * h * v[i + 1]
    )


def test_tracks_interpolate_to_the_spice_positions(web_scene, events):
    from viewer.scene.tracks import decode

    web_scene.set_view("lunar")
    out = web_scene.export_tracks()
    tr = out["actors"].get("queqiao2")
    if tr is None:
        _missing("Queqiao-2 is not covered in the lunar view's span")
    t, p, v = decode(tr["t"]), decode(tr["p"]).astype(float), decode(tr["v"]).astype(float)
    mid = 0.5 * (t[1:] + t[:-1])
    mid = mid[(np.diff(t) > 60)][:400]
    truth = web_scene.model.kin.poses(mid, scale=web_scene.spacecraft_scale).positions["QUEQIAO_2"]
    err = np.linalg.norm(_hermite(t, p, v, mid) - truth, axis=1)
    # cubic Hermite between the adaptive samples stays within one pixel of the preset at 1080 lines
    from viewer.scene.sampling import pixel_km

    px = pixel_km(web_scene.view) * web_scene.view.units_per_km
    assert err.max() < px, f"max {err.max():.3f} km; a pixel is {px:.2f} km"


def test_tracks_are_dense_around_burns(web_scene):
    from viewer.scene.kinematics import manifest
    from viewer.scene.tracks import decode

    web_scene.set_view("lunar")
    out = web_scene.export_tracks()
    tr = out["actors"].get("orbiter")
    burns = [
        m for m in manifest()["manoeuvres"] if m["vehicle"] == "CHANGE6_ORBITER" and out["t0"] < m["et"] < out["t1"]
    ]
    if tr is None or not burns:
        _missing("no orbiter burn inside the lunar view's span in the built kernels")
    t = decode(tr["t"])
    gaps = np.diff(t)
    for m in burns:
        near = (t[:-1] >= m["et"] - 60) & (t[:-1] <= m["et"] + max(m["duration_s"], 60))
        assert near.any() and gaps[near].max() <= 30.0, m["name"]
    assert np.median(gaps) > 120.0  # and sparse in coast


def test_web_scene_stays_within_the_browser_triangle_budget():
    """Design rule 7: about 100k triangles or fewer for everything the web scene sends (bodies, site, spacecraft)."""
    import vtk

    from viewer.scene.scene import MissionScene

    s = MissionScene("system", web=True, window_size=(64, 64))
    try:
        total = 0
        for prop in s.actors.values():
            if isinstance(prop, vtk.vtkActor):
                data = prop.GetMapper().GetInput()
                total += data.GetNumberOfPolys() + data.GetNumberOfStrips()
        assert 60_000 < total <= 100_000, total
        assert s.actors["moon"].GetMapper().GetInput().GetNumberOfPolys() <= 60_000  # fast frames ≤ 1080p
    finally:
        s.close()


def test_rotations_accept_unsorted_times(kernels_loaded):
    from viewer import ephemeris
    from viewer.scene.kinematics import rotations

    rng = np.random.default_rng(7)
    ets = 7.7e8 + rng.uniform(0, 5 * 86400, 300)  # unsorted, long enough for the slerp path
    got = rotations("MOON_ME", "J2000", ets, max_step_s=3600.0)
    want = ephemeris.rotation("MOON_ME", "J2000", ets)
    assert np.abs(got - want).max() < 1e-7
