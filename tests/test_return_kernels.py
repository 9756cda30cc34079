"""The return (issue 5) checked on the BUILT kernels (``python -m viewer kernels build``), read through SPICE.

References are the sourced facts (entry ~05:41 at 120 km and ~11.2 km/s, touchdown 06:07, separation 05:20-05:22 at
~5,000 km over the South Atlantic) and the assumed landing point of the fact sheet, not numbers read back from
the build; gravity comes from the test-side model in ``_trajectory_model.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import spiceypy
from _trajectory_model import gravity

from viewer.epochs import et_from_utc

pytestmark = pytest.mark.usefixtures("kernels_loaded")

RET, ORB = "CHANGE6_RETURNER", "CHANGE6_ORBITER"
ENTRY = et_from_utc("2024-06-25T05:41:00Z")
TOUCHDOWN = et_from_utc("2024-06-25T06:07:00Z")
SEPARATION_WINDOW = (et_from_utc("2024-06-25T05:20:00Z"), et_from_utc("2024-06-25T05:22:00Z"))  # 13:20-13:22 BJT
TARGET = (42.0, 111.7)  # fact sheet's assumed landing point (Siziwang Banner shifted ~0.5 deg north)
G0 = 9.80665


@pytest.fixture(scope="module")
def earth():
    radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
    return float(radii[0]), (radii[0] - radii[2]) / radii[0]


@pytest.fixture(scope="module")
def manifest():
    from viewer.trajectory.build import load_manifest

    return load_manifest()


@pytest.fixture(scope="module")
def descent(earth):
    """The returner from 05:30 to 06:15 every 0.5 s: ets, ITRF93 states, geodetic heights, J2000 states."""
    from viewer import kernels

    start, end = kernels.coverage(RET)
    assert start <= ENTRY - 1800 and end >= TOUCHDOWN + 3600, "the kernels do not cover the return; rebuild them"
    ets = np.arange(ENTRY - 660.0, TOUCHDOWN + 480.0, 0.5)
    fixed = np.asarray(spiceypy.spkezr(RET, ets, "ITRF93", "NONE", "EARTH")[0])
    inertial = np.asarray(spiceypy.spkezr(RET, ets, "J2000", "NONE", "EARTH")[0])
    heights = np.array([spiceypy.recgeo(p, earth[0], earth[1])[2] for p in fixed[:, :3]])
    return ets, fixed, heights, inertial


def _crossings(ets, heights, level):
    """(down, up): times where the height crosses ``level`` downward / upward (linear interpolation)."""
    d = heights - level
    i = np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]
    t = ets[i] + (ets[i + 1] - ets[i]) * d[i] / (d[i] - d[i + 1])
    return t[d[i] > 0], t[d[i] < 0]


def test_entry_interface_time_and_speed(descent):
    ets, _fixed, heights, inertial = descent
    down, _up = _crossings(ets, heights, 120.0)
    assert len(down) >= 1
    t_entry = down[0]
    assert abs(t_entry - ENTRY) <= 120.0, f"first 120 km crossing {t_entry - ENTRY:+.0f} s from 05:41"
    speed = np.linalg.norm(np.asarray(spiceypy.spkezr(RET, t_entry, "J2000", "NONE", "EARTH")[0])[3:])
    assert 10.9 <= speed <= 11.3


def test_skip_climbs_back_above_120_km_then_enters_again(descent):
    ets, _fixed, heights, _inertial = descent
    down, up = _crossings(ets, heights, 120.0)
    assert len(down) == 2 and len(up) == 1, "expected entry, skip-out, second entry"
    assert down[0] < up[0] < down[1]
    between = (ets > up[0]) & (ets < down[1])
    assert heights[between].max() > 120.5
    assert heights[(ets > down[0]) & (ets < up[0])].min() < 80.0  # the first dip reaches the dense air


def test_touchdown_time_place_and_speed(descent, earth):
    ets, fixed, _heights, _inertial = descent
    speed = np.linalg.norm(fixed[:, 3:], axis=1) * 1000.0  # m/s over the ground
    moving = np.nonzero(speed > 1e-3)[0]
    t_rest = ets[moving[-1] + 1]
    assert abs(t_rest - TOUCHDOWN) <= 120.0, f"at rest {t_rest - TOUCHDOWN:+.0f} s from 06:07"
    last = (ets > t_rest - 10.0) & (ets < t_rest)
    assert speed[last].max() < 15.0, "more than 15 m/s in the last seconds (no parachute?)"
    assert speed[(ets > t_rest - 300.0) & (ets < t_rest - 10.0)].max() < 30.0  # under the canopy
    lon, lat, _h = spiceypy.recgeo(fixed[moving[-1] + 1, :3], earth[0], earth[1])
    d_km = 6371.0 * math.acos(
        min(
            1.0,
            math.sin(lat) * math.sin(math.radians(TARGET[0]))
            + math.cos(lat) * math.cos(math.radians(TARGET[0])) * math.cos(lon - math.radians(TARGET[1])),
        )
    )
    assert d_km < 30.0, f"landed {d_km:.1f} km from the assumed point"
    # and stays there (constant in ITRF93) for at least an hour
    later = np.asarray(spiceypy.spkezr(RET, TOUCHDOWN + 3600.0, "ITRF93", "NONE", "EARTH")[0])
    assert np.linalg.norm(later[:3] - fixed[moving[-1] + 1, :3]) < 1e-6
    assert np.linalg.norm(later[3:]) < 1e-9


def test_deceleration_peaks_at_a_skip_entry_level(descent):
    ets, _fixed, heights, inertial = descent
    dt = ets[1] - ets[0]
    acc = (inertial[2:, 3:] - inertial[:-2, 3:]) / (2 * dt)
    grav = gravity("EARTH", ets[1:-1], inertial[1:-1, :3])
    aero_g = np.linalg.norm(acc - grav, axis=1) * 1000.0 / G0
    hyper = heights[1:-1] > 12.0
    peak = aero_g[hyper].max()
    assert 4.0 <= peak <= 8.5, f"peak deceleration {peak:.1f} g"
    assert aero_g[~hyper].max() < peak  # parachute loads stay below the entry peak
    # above the atmosphere (skip apex region and before entry) only gravity acts
    quiet = heights[1:-1] > 200.0
    assert np.all(aero_g[quiet] < 0.005 * np.linalg.norm(grav[quiet], axis=1) * 1000.0 / G0 + 1e-6)


def test_tei_burns_and_correction(manifest):
    burns = manifest["manoeuvres"]
    tei = sorted((m for m in burns if m["name"].startswith("TEI")), key=lambda m: m["et"])
    assert len(tei) == 2
    tcm = [m for m in burns if m["name"].startswith("TCM") and tei[1]["et"] < m["et"] < ENTRY]
    assert len(tcm) == 1, "expected exactly one correction on the way home"
    assert all(m["vehicle"] == ORB for m in tei + tcm)
    # assumed window: TEI-2 about 20 June 15:00 UTC (Wikipedia) to ~21 June (SpaceNews); TEI-1 a day or so earlier
    assert et_from_utc("2024-06-20T06:00:00Z") <= tei[1]["et"] <= et_from_utc("2024-06-21T12:00:00Z")
    assert et_from_utc("2024-06-18T12:00:00Z") <= tei[0]["et"] < tei[1]["et"] - 6 * 3600
    total = tei[0]["dv_m_s"] + tei[1]["dv_m_s"]
    assert 700.0 <= total <= 1100.0, f"TEI total {total:.0f} m/s"
    assert tei[1]["et"] < tcm[0]["et"] < ENTRY - 86400
    assert 0.0 < tcm[0]["dv_m_s"] < 20.0
    # the burns are real velocity changes in the kernels
    for m in tei + tcm:
        v0 = np.asarray(spiceypy.spkezr(ORB, m["et"] - 1e-3, "J2000", "NONE", "MOON")[0])[3:]
        v1 = np.asarray(spiceypy.spkezr(ORB, m["et"] + 1e-3, "J2000", "NONE", "MOON")[0])[3:]
        assert 1000 * np.linalg.norm(v1 - v0) == pytest.approx(m["dv_m_s"], rel=0.02, abs=0.05)


def test_coasts_of_the_return_follow_gravity(manifest):
    labels = {
        "lunar_orbit_wait",
        "tei1_orbit",
        "trans_earth_coast",
        "trans_earth_coast_2",
        "returner_approach",
        "orbiter_after_separation",
        "orbiter_flyby",
    }
    arcs = [a for a in manifest["arcs"] if a["label"] in labels]
    assert {a["label"] for a in arcs} == labels
    for arc in arcs:
        assert arc["kind"] == "coast"
        ets = np.linspace(arc["start_et"] + 10.0, arc["end_et"] - 10.0, 40)
        veh, centre = arc["vehicles"][0], arc["center"]
        vp = np.asarray(spiceypy.spkezr(veh, ets + 2.0, "J2000", "NONE", centre)[0])[:, 3:]
        vm = np.asarray(spiceypy.spkezr(veh, ets - 2.0, "J2000", "NONE", centre)[0])[:, 3:]
        pos = np.asarray(spiceypy.spkpos(veh, ets, "J2000", "NONE", centre)[0])
        a_mod = gravity(centre, ets, pos)
        rel = np.linalg.norm((vp - vm) / 4.0 - a_mod, axis=1) / np.linalg.norm(a_mod, axis=1)
        assert rel.max() < 0.005, f"{arc['label']}: {100 * rel.max():.2f} % off gravity"


def test_separation_over_the_south_atlantic_and_orbiter_flies_on(earth, manifest):
    SEPARATION = next(e["et"] for e in manifest["events"] if e["id"] == "separation")
    assert SEPARATION_WINDOW[0] <= SEPARATION <= SEPARATION_WINDOW[1]
    before = SEPARATION - 60.0
    assert np.array_equal(
        np.asarray(spiceypy.spkezr(RET, before, "J2000", "NONE", "EARTH")[0]),
        np.asarray(spiceypy.spkezr(ORB, before, "J2000", "NONE", "EARTH")[0]),
    )
    p = np.asarray(spiceypy.spkpos(RET, SEPARATION, "ITRF93", "NONE", "EARTH")[0])
    lon, lat, h = spiceypy.recgeo(p, earth[0], earth[1])
    assert 3500.0 <= h <= 6500.0, f"separation at {h:.0f} km"
    assert -60.0 <= math.degrees(lat) <= 0.0 and -65.0 <= math.degrees(lon) <= 20.0, "not over the South Atlantic"
    # the orbiter leaves the returner and never enters the atmosphere
    from viewer import kernels

    assert kernels.coverage(ORB)[1] >= et_from_utc("2024-06-30T00:00:00Z")
    ets = np.arange(SEPARATION + 600.0, SEPARATION + 6 * 3600.0, 10.0)
    pos = np.asarray(spiceypy.spkpos(ORB, ets, "ITRF93", "NONE", "EARTH")[0])
    heights = [spiceypy.recgeo(q, earth[0], earth[1])[2] for q in pos]
    assert min(heights) > 120.0


def test_entry_events_recorded_in_order(manifest):
    events = {e["id"]: e["et"] for e in manifest["events"] if e["vehicle"] in (RET, ORB)}
    order = ["separation", "entry_interface", "skip_out", "skip_apex", "second_entry", "parachute", "touchdown"]
    assert all(k in events for k in order), f"missing {[k for k in order if k not in events]}"
    assert [events[k] for k in order] == sorted(events[k] for k in order)
    assert abs(events["touchdown"] - TOUCHDOWN) <= 120.0
