"""Powered-flight integrator and guidance laws of the lunar operations, on synthetic problems (no mission kernels)."""

from __future__ import annotations

import math

import numpy as np

from viewer.trajectory.guidance import G0, Engine, PolyGuidance, fly

MU = 4902.800118  # km^3/s^2, lunar GM (DE440)


def point_mass(et, r):
    return -MU * r / np.linalg.norm(r) ** 3


def test_full_thrust_burn_follows_the_rocket_equation():
    eng = Engine("test", 3000.0, 3000.0, 310.0)
    state0 = np.array([1800.0, 0.0, 0.0, 0.0, 0.0, 0.0])

    def steer(et, r, v, m):
        return np.array([0.0, 1.0, 0.0])  # more than the engine gives: clipped to 3000 N

    f = fly(0.0, state0, 800.0, 300.0, steer, eng, lambda et, r: np.zeros(3), dt=0.5)
    assert math.isclose(f.mass[-1], 800.0 - 300.0 * 3000.0 / (310.0 * G0), rel_tol=1e-9)
    dv = f.states[-1, 4] * 1e3
    assert math.isclose(dv, 310.0 * G0 * math.log(800.0 / f.mass[-1]), rel_tol=1e-6)
    assert math.isclose(f.dv_mag_m_s, dv, rel_tol=1e-4)
    assert np.allclose(np.linalg.norm(f.thrust_n[:-1], axis=1), 3000.0)


def test_engine_clip_respects_the_throttle_range():
    eng = Engine("test", 7500.0, 1500.0, 315.0)
    assert math.isclose(np.linalg.norm(eng.clip(np.array([1e-3, 0, 0]), 10_000.0)), 7500.0)
    assert math.isclose(np.linalg.norm(eng.clip(np.array([1e-6, 0, 0]), 100.0)), 1500.0)
    assert math.isclose(np.linalg.norm(eng.clip(np.array([0, 2e-3, 0]), 2000.0)), 4000.0)


def test_poly_guidance_reaches_a_hover_point_in_a_point_mass_field():
    eng = Engine("test", 7500.0, 1500.0, 315.0)
    r0 = np.array([1735.0, 0.0, 0.0])
    state0 = np.r_[r0 + [2.0, -3.0, 0.5], [-0.045, 0.08, 0.0]]  # 2 km up, 3 km short, moving in
    target_r = r0 + [0.1, 0.0, 0.0]
    guide = PolyGuidance(80.0, target_r, np.zeros(3), point_mass, a_f=np.zeros(3), freeze_s=4.0)
    f = fly(0.0, state0, 2100.0, 80.0, guide, eng, point_mass, dt=0.5)
    assert np.linalg.norm(f.states[-1, :3] - target_r) * 1e3 < 1.0
    assert np.linalg.norm(f.states[-1, 3:]) * 1e3 < 0.05
    thrust = np.linalg.norm(f.thrust_n[:-1], axis=1)
    assert thrust.max() <= 7500.0 + 1e-6 and thrust.min() >= 1500.0 - 1e-6
    # hovering afterwards needs the weight: thrust = m g
    hold = PolyGuidance(100.0, target_r, np.zeros(3), point_mass, a_f=np.zeros(3))
    h = fly(80.0, f.states[-1], f.mass[-1], 100.0, hold, eng, point_mass, dt=0.5)
    g = MU / np.linalg.norm(target_r) ** 2 * 1e3
    assert math.isclose(np.linalg.norm(h.thrust_n[5]), h.mass[5] * g, rel_tol=1e-3)
    assert np.linalg.norm(h.states[:, :3] - target_r, axis=1).max() * 1e3 < 0.5


def test_linear_e_guidance_without_target_acceleration():
    eng = Engine("test", 7500.0, 0.0, 315.0)
    state0 = np.array([1900.0, 0.0, 0.0, 0.0, 1.6, 0.0])
    target = np.array([1900.0, 47.25, 0.2])  # feasible: ~1.7 m/s² of braking plus the weight
    guide = PolyGuidance(30.0, target, np.array([0.0, 1.55, 0.0]), point_mass)
    f = fly(0.0, state0, 3000.0, 30.0, guide, eng, point_mass, dt=0.5)
    assert np.linalg.norm(f.states[-1, :3] - target) * 1e3 < 1.0
    assert np.linalg.norm(f.states[-1, 3:] - [0.0, 1.55, 0.0]) * 1e3 < 0.05


def test_slew_limit_keeps_the_thrust_direction_continuous_across_phases():
    from viewer.trajectory.guidance import SlewLimited

    eng = Engine("test", 7500.0, 1500.0, 315.0)
    slew = SlewLimited(8.0, 0.5)
    r0 = np.array([1735.0, 0.0, 0.0])
    state0 = np.r_[r0 + [2.5, -6.0, 0.0], [-0.06, 0.1, 0.0]]
    # phase 1 wants to brake along -y, phase 2 wants near-vertical thrust: the limiter turns it at <= 8 deg/s
    g1 = PolyGuidance(
        20.0, r0 + [1.6, -4.4, 0.0], np.array([-0.04, 0.06, 0.0]), point_mass, a_f=np.array([0.0, -2.4e-3, 0.0])
    )
    f1 = fly(0.0, state0, 2100.0, 20.0, slew.wrap(g1), eng, point_mass, dt=0.5)
    g2 = PolyGuidance(40.0, r0 + [1.0, -3.0, 0.0], np.array([-0.03, 0.05, 0.0]), point_mass, a_f=np.zeros(3))
    f2 = fly(20.0, f1.states[-1], f1.mass[-1], 40.0, slew.wrap(g2), eng, point_mass, dt=0.5)
    thrust = np.vstack([f1.thrust_n[:-1], f2.thrust_n[:-1]])
    u = thrust / np.linalg.norm(thrust, axis=1)[:, None]
    rate = np.degrees(np.arccos(np.clip(np.sum(u[1:] * u[:-1], axis=1), -1, 1))) / 0.5
    assert rate.max() <= 8.0 + 1e-6
    assert rate.max() > 7.0  # the change of phase really asks for a fast turn
