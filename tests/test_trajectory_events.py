"""The built kernels hit the published events (loaded through viewer.kernels, queried with SPICE)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import spiceypy

from viewer.epochs import et_from_utc

pytestmark = pytest.mark.usefixtures("kernels_loaded")
MOON_R = 1737.4


def _moon_elements(vehicle, utc):
    et = et_from_utc(utc)
    st = np.asarray(spiceypy.spkezr(vehicle, et, "J2000", "NONE", "MOON")[0])
    mu = spiceypy.bodvrd("MOON", "GM", 1)[1][0]
    el = spiceypy.oscltx(st, et, mu)
    rp, e, a = el[0], el[1], el[9]
    m = np.asarray(spiceypy.pxform("J2000", "MOON_ME", et))
    h = m @ np.cross(st[:3], st[3:])
    inc = math.degrees(math.acos(h[2] / np.linalg.norm(h)))
    return rp - MOON_R, a * (1 + e) - MOON_R, e, inc, el[10]


def test_names_resolve_and_topo_frame_is_enu():
    from viewer.constants import VEHICLES

    for name, code in VEHICLES.items():
        assert spiceypy.bods2c(name) == code
    et = et_from_utc("2024-06-01T22:23:16Z")
    site = np.asarray(spiceypy.spkpos("CHANGE6_SITE", et, "MOON_ME", "NONE", "MOON")[0])
    r, lon, lat = spiceypy.reclat(site)
    assert abs(math.degrees(lat) + 41.6385) < 1e-6 and abs(math.degrees(lon) % 360 - 206.0148) < 1e-6
    assert abs(r - (1737.4 - 5.256)) < 1e-6
    m = np.asarray(spiceypy.pxform("CHANGE6_TOPO", "MOON_ME", et))
    up = site / np.linalg.norm(site)
    assert np.allclose(m[:, 2], up, atol=1e-12)
    assert m[:, 1][2] > 0 and abs(m[:, 0][2]) < 1e-12  # north has +z; east is horizontal
    assert np.allclose(np.cross(m[:, 0], m[:, 1]), m[:, 2], atol=1e-12)


def test_launch_starts_at_wenchang():
    et = et_from_utc("2024-05-03T09:27:30Z")
    p = np.asarray(spiceypy.spkpos("CHANGE6_ORBITER", et, "ITRF93", "NONE", "EARTH")[0])
    radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
    site = spiceypy.georec(
        math.radians(110.9511), math.radians(19.6145), 0.0, radii[0], (radii[0] - radii[2]) / radii[0]
    )
    assert np.linalg.norm(p - site) < 5.0
    # before 10:04 the stack climbs but does not teleport: 5 min after liftoff it is still within 1,500 km
    p5 = np.asarray(spiceypy.spkpos("CHANGE6_ORBITER", et + 300, "ITRF93", "NONE", "EARTH")[0])
    assert np.linalg.norm(p5 - site) < 1500.0


def test_injection_perigee_200_km():
    et = et_from_utc("2024-05-03T10:10:00Z")
    st = np.asarray(spiceypy.spkezr("CHANGE6_ORBITER", et, "J2000", "NONE", "EARTH")[0])
    el = spiceypy.oscltx(st, et, spiceypy.bodvrd("EARTH", "GM", 1)[1][0])
    assert abs(el[0] - 6378.137 - 200.0) < 15.0
    assert el[9] * (1 + el[1]) > 300_000.0


def test_capture_orbit_one_hour_after_loi():
    peri, apo, e, inc, period = _moon_elements("CHANGE6_ORBITER", "2024-05-08T03:12:00Z")
    assert abs(peri - 200.0) <= 20.0, peri
    assert abs(apo - 8600.0) <= 300.0, apo
    assert abs(period / 3600.0 - 12.0) < 0.5


def test_working_orbit_on_29_may_is_low_circular_retrograde():
    peri, apo, e, inc, _ = _moon_elements("CHANGE6_ORBITER", "2024-05-29T12:00:00Z")
    assert 170.0 < peri and apo < 260.0, (peri, apo)
    assert e < 0.02
    assert inc > 90.0 and abs(inc - 137.0) < 3.0, inc


def test_stack_track_passes_over_the_site_at_descent_time():
    """The stack's working orbit, continued without burns to 1 June 22:09, passes over the site (L lowers it)."""
    from viewer.trajectory.build import load_manifest

    ev = [e for e in load_manifest()["events"] if e["id"] == "overflight_target"]
    assert ev and float(ev[0]["note"].split("miss ")[1].split(" km")[0]) < 1.0


@pytest.fixture(scope="module")
def q2_windows():
    return [
        (et_from_utc("2024-06-01T22:09:00Z"), et_from_utc("2024-06-01T22:23:16Z")),
        (et_from_utc("2024-06-03T23:38:10Z"), et_from_utc("2024-06-03T23:44:00Z")),
    ]


def test_queqiao2_orbit_size_and_period(q2_windows):
    """Around each relay window: the periselene-to-periselene period is within 2 % of the sourced 24 h, and the
    actual periselene and aposelene altitudes (extremes of the distance over the revolution) are those of the
    frozen 24 h orbit of 62.4 deg to the lunar equator (about 1,000-3,000 x 13,000-16,000 km; the sourced
    200 x 16,000 km is the conflict c_queqiao2_orbit_size in mission.yaml)."""
    ref_period = 24 * 3600.0
    for t0, _ in q2_windows:
        ets = np.arange(t0 - 1.3 * ref_period, t0 + 1.3 * ref_period, 20.0)
        r = np.linalg.norm(np.asarray(spiceypy.spkpos("QUEQIAO_2", ets, "J2000", "NONE", "MOON")[0]), axis=1)
        mins = [i for i in range(1, len(r) - 1) if r[i] < r[i - 1] and r[i] <= r[i + 1]]
        before = max(i for i in mins if ets[i] <= t0)
        after = min(i for i in mins if ets[i] > t0)
        peri = r[before] - MOON_R
        apo = r[before:after].max() - MOON_R
        period = ets[after] - ets[before]
        assert 1000.0 < peri < 3000.0, peri
        assert 13000.0 < apo < 16000.0, apo
        assert abs(period / ref_period - 1) < 0.02, period / 3600


def test_queqiao2_never_hits_the_moon():
    from viewer import kernels

    a, b = kernels.coverage("QUEQIAO_2")
    assert a <= et_from_utc("2024-03-20T00:31:28Z") + 60 or a <= et_from_utc("2024-04-02T00:00:00Z")
    assert b >= et_from_utc("2024-07-01T00:00:00Z")
    ets = np.arange(max(a, et_from_utc("2024-03-25T00:00:00Z")), b, 120.0)
    r = np.linalg.norm(np.asarray(spiceypy.spkpos("QUEQIAO_2", ets, "J2000", "NONE", "MOON")[0]), axis=1)
    assert r.min() - MOON_R > 20.0


def test_queqiao2_relays_descent_and_ascent(q2_windows):
    stations = [(39.5, 76.0), (46.5, 130.3), (-38.19, -70.15)]
    radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
    f = (radii[0] - radii[2]) / radii[0]
    for t0, t1 in q2_windows:
        for et in np.linspace(t0, t1, 10):
            d = np.asarray(spiceypy.spkpos("QUEQIAO_2", et, "CHANGE6_TOPO", "NONE", "CHANGE6_SITE")[0])
            assert d[2] > 0, "Queqiao-2 below the site's horizon"
            q = np.asarray(spiceypy.spkpos("QUEQIAO_2", et, "ITRF93", "NONE", "EARTH")[0])
            best = -90.0
            for lat, lon in stations:
                p = spiceypy.georec(math.radians(lon), math.radians(lat), 0.0, radii[0], f)
                up = spiceypy.surfnm(radii[0], radii[1], radii[2], p)
                v = q - p
                best = max(best, math.degrees(math.asin(up @ v / np.linalg.norm(v))))
            assert best > 5.0


def test_report_lists_every_manoeuvre_with_plausible_dv():
    from viewer.trajectory.build import format_report, manoeuvre_report

    rows = manoeuvre_report()
    names = [r["name"] for r in rows]
    assert {"TLI (upper stage)", "TCM-1", "TCM-2", "LOI"} <= set(names)
    loi = rows[names.index("LOI")]
    # a 200 x 8,600 km capture from a ~0.85 km/s approach needs ~0.35 km/s (vis-viva); ~15 min of 3,000 N
    assert 250.0 < loi["dv_m_s"] < 500.0 and 600 < loi["duration_s"] < 1500
    insertion = sum(r["dv_m_s"] for r in rows if r["name"] in ("LOI", "node change", "circularisation"))
    assert 800.0 <= insertion <= 1000.0  # lunar-orbit insertion sequence to the 200 km working orbit
    for r in rows:
        assert r["grade"] in {"sourced", "derived", "assumed"} and r["engine"]
        assert r["dv_m_s"] < 3500.0
    text = format_report(rows)
    assert "LOI" in text and "insertion total" in text


def test_report_cli_json():
    out = subprocess.run(
        [sys.executable, "-m", "viewer", "kernels", "report", "--json"], capture_output=True, text=True, check=True
    ).stdout
    import json

    rows = json.loads(out)
    assert rows and all({"utc", "dv_m_s", "engine", "grade"} <= set(r) for r in rows)


def test_spk_comments_record_inputs_and_code_version():
    from viewer import paths
    from viewer.trajectory.spk import read_comments

    text = "\n".join(read_comments(paths.KERNELS_DIR / "change6_orbiter.bsp"))
    assert "outbound.yaml" in text and "trajectory sources sha256" in text
