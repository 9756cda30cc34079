"""The frame model without VTK: for an epoch, its plain records (poses, trails, links, labels, Sun) agree with SPICE
and the relay model, and importing it loads neither VTK nor PyVista.

Times come from ``assets/mission.yaml`` events. Where the built kernels do not cover a time yet, the test skips with
the reason (and fails under ``VIEWER_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REQUIRE_ALL = os.environ.get("VIEWER_REQUIRE_ALL") == "1"
REPO = Path(__file__).resolve().parent.parent


def _need(vehicle: str, et: float) -> None:
    from viewer.scene.kinematics import coverage

    cov = coverage(vehicle)
    if cov is None or not cov[0] <= et <= cov[1]:
        msg = f"the built kernels do not cover {vehicle} at ET {et:.0f} (run `python -m viewer kernels build`)"
        if REQUIRE_ALL:
            pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {msg}")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def events(kernels_loaded):
    from viewer.mission import load_mission

    return {e.id: e.et for e in load_mission().events}


@pytest.fixture(scope="module")
def model(kernels_loaded):
    from viewer import links
    from viewer.scene.frame import FrameModel
    from viewer.scene.kinematics import scene_config

    return FrameModel(scene_config(), links.default_model(), model_radius_m={"CHANGE6_ORBITER": 3.0})


def _frame(model, view: str, et: float, scale: float | None = None):
    from viewer.scene.views import get_view

    v = get_view(view)
    model.set_view(v, v.follow, et)
    return model.frame(et, v.spacecraft_scale if scale is None else scale)


def test_the_frame_model_loads_no_vtk():
    code = "import sys, viewer.scene.frame, viewer.scene.tracks, viewer.scene.camera, viewer.scene.texts; " + (
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vtk', 'vtkmodules', 'pyvista')))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


def test_poses_and_sun_match_spice(model, events):
    from viewer import ephemeris

    et = events["separation_la_or"] + 7200  # orbiter and lander fly apart
    _need("CHANGE6_LANDER", et)
    f = _frame(model, "lunar", et, scale=1.0)
    for v in ("CHANGE6_ORBITER", "CHANGE6_LANDER", "QUEQIAO_2"):
        rec = f.vehicles[v]
        assert rec.visible and not rec.stacked_on and rec.root == v
        want = ephemeris.positions(v, [et], observer="MOON", frame="J2000")[0]  # lunar view: km, Moon, J2000
        assert np.allclose(rec.position, want, atol=1e-6), v
    earth = ephemeris.positions("EARTH", [et], observer="MOON", frame="J2000")[0]
    assert np.allclose(f.bodies["EARTH"].position, earth, atol=1e-6)
    assert np.allclose(f.bodies["EARTH"].rotation, ephemeris.rotation("ITRF93", "J2000", [et])[0], atol=1e-6)
    assert np.allclose(f.bodies["MOON"].position, 0.0) and f.bodies["MOON"].shown
    sun = ephemeris.positions("SUN", [et], observer="MOON", frame="J2000")[0]
    assert float(f.sun_dir @ sun / np.linalg.norm(sun)) > 1 - 1e-12
    assert isinstance(f.vehicles["CHANGE6_ORBITER"].position, np.ndarray) and isinstance(f.center, str)


def test_site_view_records_are_metres_in_the_topocentric_frame(model, events):
    from viewer import ephemeris

    et = events["touchdown"] + 3600
    _need("CHANGE6_LANDER", et)
    f = _frame(model, "site", et)
    want = ephemeris.positions("CHANGE6_LANDER", [et], observer="CHANGE6_SITE", frame="CHANGE6_TOPO")[0] * 1000.0
    assert np.allclose(f.vehicles["CHANGE6_LANDER"].position, want, atol=1e-6)
    earth = ephemeris.positions("EARTH", [et], observer="CHANGE6_SITE", frame="CHANGE6_TOPO")[0]
    assert np.allclose(f.earth_dir, earth / np.linalg.norm(earth), atol=1e-9)
    assert f.site_view and f.arrow is not None
    horiz = np.array([earth[0], earth[1], 0.0]) / np.hypot(earth[0], earth[1])
    assert np.allclose(f.arrow.rotation[:, 0], horiz, atol=1e-9)  # the arrow points to the Earth's azimuth
    assert [a.key for a in f.labels if a.key == "EARTH"] == ["EARTH"]  # labelled at the arrow's tip


def test_trail_windows_hold_spice_points_up_to_now(model, events):
    from viewer import ephemeris

    et = events["loi"] + 7200
    _need("CHANGE6_ORBITER", et)
    f = _frame(model, "lunar", et)
    past, future = f.trails["CHANGE6_ORBITER"]["past"], f.trails["CHANGE6_ORBITER"]["future"]
    ets = model.trail("CHANGE6_ORBITER")["ets"]
    assert past.hi > past.lo + 2 and ets[past.hi - 1] <= et < ets[past.hi]
    assert ets[past.lo] >= et - f.view.trail_past_s and ets[future.hi - 1] <= et + f.view.trail_future_s
    idx = past.indices()[:: max(1, len(past.indices()) // 20)]
    want = ephemeris.positions("CHANGE6_ORBITER", ets[idx], observer="MOON", frame="J2000")
    assert np.allclose(past.points[idx], want, atol=1e-6)
    assert "CHANGE6_LANDER" not in f.trails  # a rider draws no trail of its own (its parent's is the same curve)


def test_one_label_anchor_per_stack_and_layers_switch_off_chain_and_trails(model, events):
    et = events["loi"] + 7200  # orbiter, returner, lander and ascender in one stack
    _need("CHANGE6_ASCENDER", et)
    f = _frame(model, "lunar", et)
    keys = [a.key for a in f.labels]
    assert keys.count("CHANGE6_ORBITER") == 1 and "CHANGE6_LANDER" not in keys
    stack = next(a for a in f.labels if a.key == "CHANGE6_ORBITER")
    assert set(stack.members) == {"CHANGE6_RETURNER", "CHANGE6_LANDER", "CHANGE6_ASCENDER"}
    assert model.label_text(stack, "en") == "Chang'e-6 (4 modules)"
    assert model.label_text(stack, "zh") == "嫦娥六号（4 器组合体）"
    hidden = model.frame(et, f.view.spacecraft_scale, {"links": False, "trails": False})  # layers switched off
    assert f.chain is not None and hidden.chain is None
    assert not hidden.trails
