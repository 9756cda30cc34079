"""Engine unit tests: integration accuracy, SPK interpolation error, bounded solver, config checks."""

from __future__ import annotations

import numpy as np
import pytest
import spiceypy

from viewer.errors import DataError
from viewer.trajectory import engine, forces, spk


@pytest.fixture(scope="module")
def llo_arc():
    forces.ensure_generic_kernels()
    et0 = spiceypy.str2et("2024-05-20T00:00:00")
    mu = forces.gm("MOON")
    s0 = engine.state_from_elements(1937.4, 0.001, np.radians(137.0), 1.0, 0.0, 0.0, mu, et0)
    return engine.propagate(s0, et0, et0 + 6 * 3600.0, label="llo")


def test_integration_error_below_10_m(llo_arc):
    ref = engine.propagate(llo_arc.states[0], llo_arc.start_et, llo_arc.end_et, rtol=1e-13)
    assert np.linalg.norm(ref.states[-1][:3] - llo_arc.states[-1][:3]) < 0.01
    back = engine.propagate(llo_arc.states[-1], llo_arc.end_et, llo_arc.start_et)
    assert np.linalg.norm(back.states[0][:3] - llo_arc.states[0][:3]) < 0.01


def test_spk_interpolation_error_below_10_m(llo_arc, tmp_path):
    path = tmp_path / "t.bsp"
    spiceypy.boddef("T_ENGINE_TEST", -3069999)
    spk.write_spk(path, [spk.Segment(-3069999, 301, "J2000", llo_arc.ets, llo_arc.states, "test")], ["unit test"])
    spiceypy.furnsh(str(path))
    try:
        mids = 0.5 * (llo_arc.ets[1:] + llo_arc.ets[:-1])
        got = np.asarray(spiceypy.spkezr("T_ENGINE_TEST", mids, "J2000", "NONE", "MOON")[0])
        truth = np.array([llo_arc.state_at(t) for t in mids])
        assert np.abs(got[:, :3] - truth[:, :3]).max() < 0.01
    finally:
        spiceypy.unload(str(path))
    assert spk.read_comments(path) == ["unit test"]


def test_finite_burn_dv_matches_rocket_equation(llo_arc):
    fixed = np.array([0.6, 0.0, -0.8])
    thrust = engine.constant_thrust(3000.0, 8000.0, 315.0, llo_arc.start_et, lambda et, st: fixed)
    arc = engine.propagate(llo_arc.states[0], llo_arc.start_et, llo_arc.start_et + 600.0, thrust=thrust)
    ideal = 315.0 * 9.80665 * np.log(8000.0 / (8000.0 - 3000.0 / (315.0 * 9.80665) * 600.0)) / 1000.0
    assert abs(np.linalg.norm(arc.dv_km_s) - ideal) < 1e-6
    assert np.allclose(arc.dv_km_s / np.linalg.norm(arc.dv_km_s), fixed)
    assert arc.kind == "powered"


def test_solver_gives_up_with_a_clear_error():
    with pytest.raises(engine.TargetingError, match="impossible"):
        engine.solve(lambda x: np.array([x[0] ** 2 + 1.0]), [0.5], what="impossible", max_nfev=10, tol=1e-6)


def test_config_requires_grade_and_reason(tmp_path):
    from viewer.trajectory.build import load_config

    (tmp_path / "x.yaml").write_text("a: {value: 1, unit: km, grade: guessed, reason: r}\n")
    with pytest.raises(DataError, match="grade"):
        load_config(tmp_path)
    (tmp_path / "x.yaml").write_text("a: {value: 1, unit: km, grade: assumed}\n")
    with pytest.raises(DataError, match="reason"):
        load_config(tmp_path)


def test_config_source_ids_must_be_mission_sources(tmp_path):
    from viewer.trajectory.build import load_config

    (tmp_path / "x.yaml").write_text("a: {b: {value: 1, unit: km, grade: sourced, reason: r, source: [R2, R999]}}\n")
    with pytest.raises(DataError, match=r"a\.b cites R999, not in the sources of assets/mission.yaml"):
        load_config(tmp_path)
    (tmp_path / "x.yaml").write_text("a: {value: 1, unit: km, grade: sourced, reason: r, source: [R2, R23]}\n")
    assert load_config(tmp_path)[0]["x"]["a"]["value"] == 1


def test_committed_trajectory_config_cites_only_mission_sources():
    from viewer.trajectory.build import load_config

    config, hashes = load_config()
    assert set(config) == {"outbound", "queqiao2", "lunar_ops", "return"} and len(hashes) == 4


def test_add_arc_rejects_a_jump(llo_arc):
    from viewer.trajectory.build import BuildContext

    ctx = BuildContext(config={}, hashes={})
    first = llo_arc.sub(llo_arc.start_et, llo_arc.start_et + 3600.0, "a")
    ctx.add_arc(["QUEQIAO_2"], first)
    bad = engine.Arc("b", first.ets + 3600.0, first.states + np.array([1.0, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="away from the end"):
        ctx.add_arc(["QUEQIAO_2"], bad)


# ---------------------------------------------------------------------------------------------- tight targeting
# A solver that stops at its first iterate under a loose tolerance leaves the answer anywhere inside it; a last-bit
# difference then moves the answer by up to that tolerance (burns moved by seconds between CPUs). Each Newton of
# the build converges to the noise floor instead, and its starting guess can be perturbed to show it.


def _newtons():
    from viewer.trajectory import entry, lunar_ops

    yield "lunar_ops.newton3", lambda f, x0, tol: lunar_ops.newton3(f, x0, what="t", step=1e-7, tol=tol)
    yield "entry.newton", lambda f, x0, tol: entry.newton(f, x0, steps=np.array([1e-7, 1e-7]), tol=tol, what="t")


@pytest.mark.parametrize("name", ["lunar_ops.newton3", "entry.newton"])
def test_newtons_converge_far_past_a_loose_tolerance(name):
    solve = dict(_newtons())[name]

    def f(x):
        return np.array([x[0] ** 2 + x[1] - 3.0, x[0] - x[1] ** 3 + 0.5])

    x = solve(f, np.array([2.0, 1.0]), 1e-1)  # tolerance 0.1: stopping there would leave |f| up to 0.1
    assert np.max(np.abs(f(x))) < 1e-6


@pytest.mark.parametrize("name", ["lunar_ops.newton3", "entry.newton"])
def test_perturbed_start_gives_the_same_root(name, monkeypatch):
    solve = dict(_newtons())[name]

    def f(x):
        return np.array([np.exp(x[0]) - 2.0 - x[1], x[0] + x[1] ** 2 - 1.0])

    ref = solve(f, np.array([0.5, 0.5]), 1e-2)
    monkeypatch.setattr(engine, "GUESS_PERTURBATION", 1e-12)
    assert not np.array_equal(engine.start([0.5, 0.0]), [0.5, 0.0])
    got = solve(f, np.array([0.5, 0.5]), 1e-2)
    assert np.allclose(got, ref, rtol=0, atol=1e-10)


def test_guess_perturbation_is_off_by_default():
    x = np.array([0.25, 0.0, -3.0])
    assert np.array_equal(engine.start(x), x)
    assert engine.GUESS_PERTURBATION == 0.0
