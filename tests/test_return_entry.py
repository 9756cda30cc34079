"""The entry model (viewer/trajectory/entry.py) on synthetic states: atmosphere, Earth frame, flight physics, bank
solver. References are independent: SPICE for the frames, Allen & Eggers' closed form for a ballistic entry,
the published density table itself for the atmosphere."""

from __future__ import annotations

import math

import numpy as np
import pytest
import spiceypy

from viewer.trajectory import entry as E
from viewer.trajectory import forces


@pytest.fixture(scope="module")
def generic():
    forces.ensure_generic_kernels()


@pytest.fixture(scope="module")
def et0(generic):
    from viewer.epochs import et_from_utc

    return et_from_utc("2024-06-25T05:41:00Z")


CAPSULE = E.Capsule(
    mass_kg=300.0,
    beta_kg_m2=300.0,
    lift_to_drag=0.3,
    chute_alt_km=10.0,
    drogue_cda_m2=3.0,
    drogue_s=25.0,
    main_cda_m2=60.0,
    main_inflation_s=12.0,
    ground_km=1.2,
)


def _state(frame, et, lat, lon, h, speed, gamma_deg, heading_deg):
    """Inertial state (J2000, Earth-centred) from geodetic position and inertial speed / angles."""
    r = frame.to_inertial(et, frame.surface_point(lat, lon, h))
    east, north, up = frame.local_axes(et, r)
    g, p = math.radians(gamma_deg), math.radians(heading_deg)
    v = speed * (math.cos(g) * math.sin(p) * east + math.cos(g) * math.cos(p) * north + math.sin(g) * up)
    return np.concatenate([r, v])


def test_density_matches_the_table_and_is_continuous():
    assert E.density(0.0) == pytest.approx(1.225)
    for h0, rho0, _scale in E.ATMOSPHERE_TABLE:
        assert E.density(h0) == pytest.approx(rho0, rel=1e-12)
    # each band's exponential reaches the next band's base density within 6 % (the published table's own fit)
    for (h0, rho0, sc), (h1, rho1, _s) in zip(E.ATMOSPHERE_TABLE, E.ATMOSPHERE_TABLE[1:]):
        assert rho0 * math.exp(-(h1 - h0) / sc) == pytest.approx(rho1, rel=0.06), f"band at {h0} km"
    hs = np.linspace(0, 999, 2000)
    rhos = np.array([E.density(h) for h in hs])
    assert np.all(np.diff(rhos) < 0)
    assert E.density(1000.0) == 0.0


def test_earth_frame_matches_spice_over_half_an_hour(et0):
    frame = E.EarthFrame(et0)
    fixed = frame.surface_point(42.0, 111.7, 1.2)
    for dt in (0.0, 600.0, 1800.0):
        ref = np.asarray(spiceypy.pxform("ITRF93", "J2000", et0 + dt)) @ fixed
        assert np.linalg.norm(frame.to_inertial(et0 + dt, fixed) - ref) < 1e-3  # 1 m
        assert np.linalg.norm(frame.to_fixed(et0 + dt, ref) - fixed) < 1e-3
    # geodetic coordinates against SPICE's recgeo
    lon, lat, h = spiceypy.recgeo(fixed, frame.a, frame.flat)
    lat2, lon2, h2 = frame.geodetic_fixed(*fixed)
    assert abs(lat2 - lat) < 1e-9 and abs(lon2 - lon) < 1e-9 and abs(h2 - h) < 1e-6


def test_flight_angles_round_trip(et0):
    frame = E.EarthFrame(et0)
    s = _state(frame, et0, 17.4, 56.2, 120.0, 11.0, -6.3, 51.0)
    v, g, psi = E.flight_angles(frame, et0, s)
    assert v == pytest.approx(11.0, abs=1e-9)
    assert g == pytest.approx(-6.3, abs=1e-9)
    assert psi == pytest.approx(51.0, abs=1e-9)
    # air-relative speed is smaller when flying east (the air moves east with the Earth)
    assert E.flight_angles(frame, et0, s, relative=True)[0] < 11.0


def test_ballistic_peak_deceleration_matches_allen_eggers(et0):
    """Steep ballistic entry: peak deceleration V^2 sin|gamma| / (2 e H) (Allen & Eggers 1958), H the local scale
    height (about 7.3 km around the 30-60 km band where the peak falls here)."""
    frame = E.EarthFrame(et0)
    s = _state(frame, et0, 0.0, 0.0, 120.0, 11.0, -20.0, 0.0)  # heading north: no eastward air speed
    cap = E.Capsule(**{**CAPSULE.__dict__, "lift_to_drag": 0.0})
    res = E.fly(s, et0, cap, E.BankProfile((0.0,)), sample_s=0.5)
    v_air = E.flight_angles(frame, et0, s, relative=True)[0] * 1000.0
    scale_m = 7.3e3
    expected_g = v_air**2 * math.sin(math.radians(20.0)) / (2 * math.e * scale_m) / E.G0
    assert res.peak_g == pytest.approx(expected_g, rel=0.12)
    assert res.apex_km <= 120.0 + 1e-6 and "skip_out" not in res.events


def test_bank_sign_turns_the_track(et0):
    """Lift to the right (positive bank) moves the landing point to the right of the entry heading."""
    frame = E.EarthFrame(et0)
    s = _state(frame, et0, 17.4, 56.2, 120.0, 11.0, -7.5, 51.0)
    h = np.cross(s[:3], s[3:])
    h /= np.linalg.norm(h)
    side = []
    for sigma in (60.0, -60.0):  # always right; always left
        res = E.fly(s, et0, CAPSULE, E.BankProfile((sigma,)), sample_s=None, full_gravity=False)
        side.append(float(res.final_state[:3] @ h))
    assert side[1] - side[0] > 100.0  # right of the track = against the orbit normal


def test_parachute_descent_speed_and_loads(et0):
    frame = E.EarthFrame(et0)
    s = _state(frame, et0, 35.0, 100.0, 120.0, 11.0, -6.5, 40.0)
    res = E.fly(s, et0, CAPSULE, E.BankProfile((60.0,)), sample_s=1.0)
    ets, sts = res.phases[-1][1], res.phases[-1][2]
    fixed = [np.asarray(spiceypy.sxform("J2000", "ITRF93", t)) @ st for t, st in zip(ets[-10:], sts[-10:])]
    speeds = [np.linalg.norm(f[3:]) * 1000 for f in fixed]
    assert max(speeds) < 15.0 and min(speeds) > 5.0
    lat, lon, h = res.touchdown_geodetic()
    assert h == pytest.approx(CAPSULE.ground_km, abs=1e-4)
    assert res.chute_peak_g < res.peak_g
    assert res.events["parachute"] < res.events["main_chute"] < res.touchdown_et


def test_bank_solver_lands_on_target(et0):
    from viewer.epochs import et_from_utc

    frame = E.EarthFrame(et0)
    s = _state(frame, et0, 17.4, 56.2, 120.0, 10.99, -6.35, 51.0)
    guess = E.BankProfile((39.0, -39.0, 60.0, 70.0), 5.0)
    target_et = et_from_utc("2024-06-25T06:07:00Z")
    prof, res = E.solve_bank(s, et0, CAPSULE, guess, 42.0, 111.7, target_et)
    dn, de = E.landing_miss(res, 42.0, 111.7)
    assert math.hypot(dn, de) < 2.0
    assert abs(res.touchdown_et - target_et) < 15.0
    assert max(abs(v) for v in prof.sigmas_deg) <= 150.0
    assert prof.sigmas_deg[1] == -prof.sigmas_deg[0]  # one reversal at the bottom of the first dip
    assert "second_entry" in res.events and res.apex_km > 120.0  # it skips
