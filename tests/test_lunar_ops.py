"""Lunar operations (issue 4), checked on the BUILT kernels (``python -m viewer kernels build``).

The reference values here are the sourced facts themselves (LROC site, event times, engine thrusts), not numbers
read back from the build, so a wrong trajectory fails these tests.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import spiceypy

from viewer import paths
from viewer.epochs import et_from_utc

pytestmark = pytest.mark.usefixtures("kernels_loaded")

LAN, ASC, ORB = "CHANGE6_LANDER", "CHANGE6_ASCENDER", "CHANGE6_ORBITER"
# LROC: 41.6385 S, 206.0148 E, 5,256 m below the 1737.4 km reference radius (mission-facts 1c)
SITE_ME = np.array(spiceypy.latrec(1737.4 - 5.256, math.radians(206.0148), math.radians(-41.6385)))
TOUCHDOWN = et_from_utc("2024-06-01T22:23:16Z")
LIFTOFF = et_from_utc("2024-06-03T23:38:10Z")
DOCKING = et_from_utc("2024-06-06T06:48:00Z")
G0 = 9.80665


def _states(target, ets, frame="J2000", observer="MOON"):
    out, _ = spiceypy.spkezr(target, np.asarray(ets, dtype=float), frame, "NONE", observer)
    return np.asarray(out, dtype=float).reshape(-1, 6)


def _config():
    import yaml

    return yaml.safe_load((paths.ASSETS_DIR / "trajectory" / "lunar_ops.yaml").read_text())


@pytest.fixture(scope="module")
def manifest():
    return json.loads((paths.KERNELS_DIR / "change6_manoeuvres.json").read_text())


@pytest.fixture(scope="module")
def descent_start(manifest):
    """Ignition of the powered descent: "about 22:09" (CNSA 06:09 BJT); the build picks the second."""
    et = next(m["et"] for m in manifest["manoeuvres"] if m["name"] == "powered descent: main braking")
    assert et_from_utc("2024-06-01T22:08:00Z") <= et <= et_from_utc("2024-06-01T22:10:00Z")
    return et


def _height_above_site(ets):
    me = _states(LAN, ets, frame="MOON_ME")
    up = SITE_ME / np.linalg.norm(SITE_ME)
    return (me[:, :3] - SITE_ME) @ up * 1e3, me


# ---------------------------------------------------------------------------------------------- landing


def test_lander_stays_at_the_lroc_site_from_touchdown_to_liftoff():
    ets = np.r_[TOUCHDOWN, np.linspace(TOUCHDOWN, LIFTOFF, 500), LIFTOFF, et_from_utc("2024-07-01T00:00:00Z")]
    me = _states(LAN, ets, frame="MOON_ME")
    dist_m = np.linalg.norm(me[:, :3] - SITE_ME, axis=1) * 1e3
    speed_m_s = np.linalg.norm(me[:, 3:], axis=1) * 1e3
    assert dist_m.max() < 30.0
    assert speed_m_s.max() < 0.01
    # the ascender sits on the lander until liftoff
    asc = _states(ASC, ets[ets < LIFTOFF], frame="MOON_ME")
    assert np.allclose(asc, me[: len(asc)], atol=1e-9)


def test_descent_ends_exactly_where_the_surface_stay_starts():
    before = _states(LAN, [TOUCHDOWN - 1e-3], frame="MOON_ME")[0]
    assert np.linalg.norm(before[:3] - SITE_ME) * 1e3 < 1.0


# ---------------------------------------------------------------------------------------------- descent


def test_descent_profile_hover_and_late_height(descent_start):
    h, _ = _height_above_site([TOUCHDOWN - 60.0])
    assert h[0] > 20.0
    ets = np.arange(TOUCHDOWN - 150.0, TOUCHDOWN, 0.5)
    h, _ = _height_above_site(ets)
    near_100 = np.abs(h - 100.0) < 10.0
    # the hover: at least 10 s in a row at about 100 m, with nearly no vertical motion
    run = best = 0
    for flag in near_100:
        run = run + 1 if flag else 0
        best = max(best, run)
    assert best * 0.5 >= 10.0
    # starts high (about 15 km above the reference sphere, i.e. ~20 km above the site) and comes down
    start = _states(LAN, [descent_start])[0]
    assert 10.0 < np.linalg.norm(start[:3]) - 1737.4 < 20.0
    assert 1.55 < np.linalg.norm(start[3:]) < 1.8


def test_descent_acceleration_within_the_7500_N_engine_for_the_mass_flown(descent_start):
    cfg = _config()
    stack = cfg["masses"]["stack_at_separation_kg"]["value"]
    isp = cfg["engines"]["lander_isp_s"]["value"]
    from viewer.trajectory import forces

    fm = forces.model("MOON")
    h = 0.05
    ets = np.arange(descent_start, TOUCHDOWN - 2.5, 0.5) + 0.25  # mid-samples: inside one integration step
    plus, minus = _states(LAN, ets + h), _states(LAN, ets - h)
    acc = (plus[:, 3:] - minus[:, 3:]) / (2 * h)
    pos = _states(LAN, ets)[:, :3]
    grav = np.array([fm.accel(t, *p) for t, p in zip(ets, pos)])
    thrust_acc = np.linalg.norm(acc - grav, axis=1) * 1e3  # m/s^2
    # mass: the stack mass at separation, less the lowering burns (rocket equation), less the flow so far
    with open(paths.KERNELS_DIR / "change6_manoeuvres.json") as fh:
        mans = json.load(fh)["manoeuvres"]
    lowering = sum(m["dv_m_s"] for m in mans if m["name"].startswith("LA orbit lowering"))
    m0 = stack * math.exp(-lowering / (isp * G0))
    spent = np.concatenate([[0.0], np.cumsum((thrust_acc[1:] + thrust_acc[:-1]) / 2 * np.diff(ets))])
    mass = m0 * np.exp(-spent / (isp * G0))
    force = thrust_acc * mass
    assert force.max() <= 7500.0, f"peak thrust {force.max():.0f} N at {ets[np.argmax(force)] - descent_start:.1f} s"
    assert force[: int(300 / 0.5)].mean() > 0.8 * 7500.0  # the main braking is near full thrust
    assert mass[-1] > cfg["masses"]["lander_dry_kg"]["value"] + cfg["masses"]["ascender_liftoff_kg"]["value"]


# ---------------------------------------------------------------------------------------------- ascent


def test_ascender_in_orbit_at_23_44_10():
    et = et_from_utc("2024-06-03T23:44:10Z")
    st = _states(ASC, [et])[0]
    mu = float(spiceypy.gdpool("BODY301_GM", 0, 1)[0])
    el = spiceypy.oscltx(st, et, mu)
    assert el[0] > 1737.4  # periapsis above the reference sphere
    r, v = np.linalg.norm(st[:3]), np.linalg.norm(st[3:])
    assert 0.95 * math.sqrt(mu / r) < v < math.sqrt(2 * mu / r)
    # it left from the site, at the sourced time
    before = _states(ASC, [LIFTOFF - 1.0], frame="MOON_ME")[0]
    after = _states(ASC, [LIFTOFF + 20.0], frame="MOON_ME")[0]
    assert np.linalg.norm(before[:3] - SITE_ME) * 1e3 < 1.0
    assert np.linalg.norm(after[:3] - SITE_ME) * 1e3 > 50.0


# ---------------------------------------------------------------------------------------------- docking


def test_docking_distance_and_relative_speed():
    for et in (DOCKING - 0.5, DOCKING):
        o, a = _states(ORB, [et])[0], _states(ASC, [et])[0]
        assert np.linalg.norm(o[:3] - a[:3]) * 1e3 < 10.0
        assert np.linalg.norm(o[3:] - a[3:]) * 1e3 < 0.5


def test_distance_decreases_through_the_phasing_without_jumps(manifest):
    ev = {e["id"]: e["et"] for e in manifest["events"]}
    marks = [
        ev[k] for k in ("ascender_phasing_2", "ascender_phasing_3", "ascender_phasing_4", "short_range_approach")
    ] + [DOCKING - 60.0]
    d = [np.linalg.norm(_states(ORB, [t])[0, :3] - _states(ASC, [t])[0, :3]) for t in marks]
    assert all(a > b for a, b in zip(d, d[1:])), d
    ets = np.arange(ev["ascent_insertion"] + 1.0, DOCKING, 2.0)
    dist = np.linalg.norm(_states(ORB, ets)[:, :3] - _states(ASC, ets)[:, :3], axis=1)
    assert np.max(np.abs(np.diff(dist))) < 2.0 * 4.0  # no step larger than two relative orbital speeds allow
    final = np.arange(ev["short_range_approach"], DOCKING, 10.0)
    df = np.linalg.norm(_states(ORB, final)[:, :3] - _states(ASC, final)[:, :3], axis=1)
    assert df[-1] < 0.01 and df[0] > 40.0


# ---------------------------------------------------------------------------------------------- physics


def _my_arcs(manifest):
    lo, hi = et_from_utc("2024-05-29T20:40:00Z"), et_from_utc("2024-06-08T00:00:00Z")
    return [a for a in manifest["arcs"] if lo <= a["start_et"] < hi and a["kind"] != "atmosphere"]


def test_coast_arcs_follow_the_gravity_model(manifest):
    from viewer.trajectory import forces

    fm = forces.model("MOON")
    coasts = [a for a in _my_arcs(manifest) if a["kind"] == "coast" and a["center"] == "MOON"]
    assert len(coasts) >= 10
    for arc in coasts:
        v = arc["vehicles"][0]
        for f in (0.3, 0.7):
            et = arc["start_et"] + f * (arc["end_et"] - arc["start_et"])
            h = min(1.0, (arc["end_et"] - arc["start_et"]) / 10)
            acc = (_states(v, [et + h])[0, 3:] - _states(v, [et - h])[0, 3:]) / (2 * h)
            g = np.array(fm.accel(et, *_states(v, [et])[0, :3]))
            assert np.linalg.norm(acc - g) / np.linalg.norm(g) < 0.005, (arc["label"], f)


def test_continuity_and_velocity_jumps_only_at_listed_burns(manifest):
    burns = {(round(m["et"], 3)) for m in manifest["manoeuvres"]}
    for arc in _my_arcs(manifest):
        et = arc["start_et"]
        for v in arc["vehicles"]:
            try:
                a, b = _states(v, [et - 1e-3])[0], _states(v, [et + 1e-3])[0]
            except spiceypy.utils.exceptions.SpiceyError:
                continue  # the vehicle's coverage starts here
            # positions carried to the joint itself (the stack moves ~1.6 m per ms)
            gap = (a[:3] + a[3:] * 1e-3) - (b[:3] - b[3:] * 1e-3)
            assert np.linalg.norm(gap) * 1e3 < 1.0, (v, arc["label"])
            if np.linalg.norm(a[3:] - b[3:]) * 1e3 > 0.01:
                assert round(et, 3) in burns, (v, arc["label"], arc["start_utc"])


# ---------------------------------------------------------------------------------------------- report


def test_report_lists_every_burn_of_the_lunar_operations(manifest):
    names = {m["name"]: m for m in manifest["manoeuvres"]}
    must = [
        "LA separation",
        "LA orbit lowering 1",
        "LA orbit lowering 2",
        "powered descent: main braking",
        "powered descent: rapid attitude adjustment",
        "powered descent: approach",
        "powered descent: hover and obstacle scan",
        "powered descent: obstacle avoidance",
        "powered descent: slow vertical descent",
        "ascent: vertical rise",
        "ascent: pitch-over",
        "ascent: orbit insertion",
        "ascender phasing 1",
        "ascender phasing 2",
        "ascender phasing 3",
        "ascender phasing 4",
        "orbiter approach 1",
        "orbiter approach 2",
        "orbiter final approach",
        "ascender undocking",
        "ascender deorbit",
    ]
    missing = [n for n in must if n not in names]
    assert not missing
    descent = sum(m["dv_m_s"] for n, m in names.items() if n.startswith("powered descent"))
    assert 1700.0 <= descent <= 2100.0, descent
    ascent = sum(m["dv_m_s"] for n, m in names.items() if n.startswith("ascent:"))
    assert 1650.0 <= ascent <= 2000.0, ascent
    assert 20.0 < names["LA orbit lowering 1"]["dv_m_s"] < 60.0
    for n in ("ascender phasing 1", "ascender phasing 2", "ascender phasing 3", "ascender phasing 4"):
        assert names[n]["dv_m_s"] < 120.0
    assert names["ascender deorbit"]["dv_m_s"] < 150.0
    for m in names.values():
        assert m["grade"] in {"sourced", "derived", "assumed"} and m["reason"]


def test_ascender_ends_with_an_impact_on_the_reference_sphere(manifest):
    ev = {e["id"]: e for e in manifest["events"]}
    imp = ev["ascender_impact"]
    assert et_from_utc("2024-06-06T07:24:00Z") < imp["et"] < et_from_utc("2024-06-09T00:00:00Z")
    st = _states(ASC, [imp["et"] - 1e-3])[0]
    assert abs(np.linalg.norm(st[:3]) - 1737.4) < 0.01
    with pytest.raises(spiceypy.utils.exceptions.SpiceyError):
        _states(ASC, [imp["et"] + 60.0])
