"""Physics and continuity of every arc of every vehicle in the BUILT kernels (loaded through viewer.kernels).

- coast arcs: acceleration from differencing SPK velocities matches an independent gravity model within 0.5 %;
- position continuous (< 1 m) at every segment joint; velocity jumps only at listed manoeuvres;
- stacked vehicles have identical states.
"""

from __future__ import annotations

import numpy as np
import pytest
import spiceypy
from _trajectory_model import gravity

pytestmark = pytest.mark.usefixtures("kernels_loaded")

SAMPLE_S = 300.0
H = 2.0


@pytest.fixture(scope="module")
def manifest():
    from viewer.trajectory.build import load_manifest

    return load_manifest()


def _sample_times(arc):
    a, b = arc["start_et"] + 5 * H, arc["end_et"] - 5 * H
    if b <= a:
        return np.array([])
    n = max(3, int((b - a) // SAMPLE_S) + 1)
    return np.linspace(a, b, n)


def test_manifest_lists_arcs_for_every_vehicle(manifest):
    vehicles = {v for a in manifest["arcs"] for v in a["vehicles"]}
    assert {"CHANGE6_ORBITER", "CHANGE6_RETURNER", "CHANGE6_LANDER", "CHANGE6_ASCENDER", "QUEQIAO_2"} <= vehicles
    assert any(a["kind"] == "coast" for a in manifest["arcs"])


def test_coast_arcs_follow_gravity(manifest):
    worst = (0.0, None)
    checked = 0
    for arc in manifest["arcs"]:
        if arc["kind"] != "coast" or arc["frame"] != "J2000":
            continue
        ets = _sample_times(arc)
        if len(ets) == 0:
            continue
        veh, centre = arc["vehicles"][0], arc["center"]
        vp = np.asarray(spiceypy.spkezr(veh, ets + H, "J2000", "NONE", centre)[0])[:, 3:]
        vm = np.asarray(spiceypy.spkezr(veh, ets - H, "J2000", "NONE", centre)[0])[:, 3:]
        pos = np.asarray(spiceypy.spkpos(veh, ets, "J2000", "NONE", centre)[0])
        a_spk = (vp - vm) / (2 * H)
        a_mod = gravity(centre, ets, pos)
        rel = np.linalg.norm(a_spk - a_mod, axis=1) / np.linalg.norm(a_mod, axis=1)
        checked += len(ets)
        if rel.max() > worst[0]:
            worst = (float(rel.max()), f"{veh} arc {arc['label']} at ET {ets[rel.argmax()]:.0f}")
    assert checked > 1000
    assert worst[0] < 0.005, f"acceleration differs from gravity by {100 * worst[0]:.2f} % ({worst[1]})"


def _joints(manifest):
    by_vehicle = {}
    for arc in manifest["arcs"]:
        for v in arc["vehicles"]:
            by_vehicle.setdefault(v, []).append(arc)
    for v, arcs in by_vehicle.items():
        arcs.sort(key=lambda a: a["start_et"])
        for a, b in zip(arcs, arcs[1:]):
            yield v, a, b


def test_positions_continuous_and_velocity_jumps_only_at_burns(manifest):
    eps = 1e-4
    burns = manifest["manoeuvres"]
    n = 0
    for v, a, b in _joints(manifest):
        t = b["start_et"]
        assert abs(a["end_et"] - t) < 1e-3, f"{v}: gap between {a['label']} and {b['label']}"
        s0 = np.asarray(spiceypy.spkezr(v, t - eps, "J2000", "NONE", "MOON")[0])
        s1 = np.asarray(spiceypy.spkezr(v, t + eps, "J2000", "NONE", "MOON")[0])
        dp = s1[:3] - s0[:3] - 0.5 * (s0[3:] + s1[3:]) * 2 * eps
        assert np.linalg.norm(dp) < 1e-3, (
            f"{v}: position jumps {1000 * np.linalg.norm(dp):.2f} m at {b['start_utc']} ({a['label']} -> {b['label']})"
        )
        dv = np.linalg.norm(s1[3:] - s0[3:])
        if dv > 1e-5:  # 1 cm/s
            listed = [
                m
                for m in burns
                if abs(m["et"] - t) < 1.0 and (m["vehicle"] in a["vehicles"] or m["vehicle"] in b["vehicles"])
            ]
            assert listed, f"{v}: velocity jumps {1000 * dv:.2f} m/s at {b['start_utc']} with no listed burn"
            assert abs(listed[0]["dv_m_s"] - 1000 * dv) < 0.05 * max(1.0, listed[0]["dv_m_s"]) + 0.05, (
                f"{v}: jump {1000 * dv:.2f} m/s at {b['start_utc']} but {listed[0]['name']} lists "
                f"{listed[0]['dv_m_s']:.2f} m/s"
            )
        n += 1
    assert n > 10


def test_stacked_vehicles_share_identical_states(manifest):
    for arc in manifest["arcs"]:
        if len(arc["vehicles"]) < 2:
            continue
        ets = np.linspace(arc["start_et"], arc["end_et"], 5)[1:-1]
        ref = np.asarray(spiceypy.spkezr(arc["vehicles"][0], ets, "J2000", "NONE", "MOON")[0])
        for other in arc["vehicles"][1:]:
            st = np.asarray(spiceypy.spkezr(other, ets, "J2000", "NONE", "MOON")[0])
            assert np.array_equal(st, ref), f"{other} differs from {arc['vehicles'][0]} on {arc['label']}"


def test_spk_matches_a_fresh_integration_within_10_m(manifest):
    """Integration + SPK interpolation error: re-integrate some built coast arcs from their SPK start state
    (tighter tolerance) and compare with the SPK between the samples."""
    from viewer.trajectory import engine

    checked = 0
    for arc in manifest["arcs"]:
        dur = arc["end_et"] - arc["start_et"]
        if arc["kind"] != "coast" or arc["frame"] != "J2000" or not 600.0 < dur < 86400.0:
            continue
        veh, centre = arc["vehicles"][0], arc["center"]
        s0 = np.asarray(spiceypy.spkezr(veh, arc["start_et"] + 1e-3, "J2000", "NONE", centre)[0])
        fresh = engine.propagate(s0, arc["start_et"] + 1e-3, arc["end_et"] - 1e-3, center=centre, rtol=1e-12)
        ets = np.linspace(fresh.start_et, fresh.end_et, 41)[1:-1] + 0.37
        got = np.asarray(spiceypy.spkpos(veh, ets, "J2000", "NONE", centre)[0])
        want = np.array([fresh.state_at(t)[:3] for t in ets])
        err = np.linalg.norm(got - want, axis=1).max()
        assert err < 0.010, f"{veh} arc {arc['label']}: SPK differs from integration by {1000 * err:.1f} m"
        checked += 1
        if checked >= 12:
            break
    assert checked >= 5
