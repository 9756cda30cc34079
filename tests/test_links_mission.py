"""Relay line of sight on the mission's own kernels (``kernels/change6_*.bsp``, built by ``viewer kernels build``).

These skip, with that reason, only where the mission SPKs have not been built.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from links_oracle import near_edge, oracle

from viewer import links, paths
from viewer.epochs import et_from_utc, utc_from_et

pytestmark = pytest.mark.skipif(
    not sorted(paths.KERNELS_DIR.glob("change6_*.bsp")),
    reason="mission kernels kernels/change6_*.bsp are not built (run `python -m viewer kernels build`)",
)


@pytest.fixture(scope="module")
def model():
    from viewer import kernels

    kernels.furnish()
    return links.default_model()


@pytest.fixture(scope="module")
def mission():
    from viewer.mission import load_mission

    return load_mission()


def test_windows_agree_with_independent_geometry_over_the_mission(model):
    from viewer import kernels

    rng = np.random.default_rng(2024)
    for link in model.links.values():
        if link.composite or link.kind == "site_earth":
            continue
        cov = model.coverage(link.id)
        lo, hi = cov[0][0], cov[-1][1]
        ets = np.sort(rng.uniform(lo, hi, 500))
        ets = ets[links.states_from_windows(cov, ets)]
        got = model.link_states(ets, [link.id])[link.id]
        want = oracle(model, link, ets, kernels.moon_frame())
        bad = (got != want) & ~near_edge(model.windows(link.id), ets)
        assert not bad.any(), (link.id, [utc_from_et(t) for t in ets[bad][:5]])


def test_descent_and_ascent_lie_inside_an_end_to_end_relay_window(model, mission):
    for pid, link_id in (("powered_descent", "relay-lander"), ("ascent", "relay-ascender")):
        ph = mission.item(pid)
        wins = model.windows(link_id)
        cov = model.coverage(link_id)
        assert any(a <= ph.start_et and ph.end_et <= b for a, b in cov), (
            f"the kernels do not cover {pid} for {link_id} (coverage {[(utc_from_et(a), utc_from_et(b)) for a, b in cov]}); "
            "rebuild all phases with `python -m viewer kernels build`"
        )
        inside = [w for w in wins if w[0] <= ph.start_et and ph.end_et <= w[1]]
        assert inside, f"{pid} {ph.start}…{ph.end} is not inside one {link_id} window"
    liftoff = et_from_utc("2024-06-03T23:38:10Z")
    assert model.link_states([liftoff])["relay-ascender"][0]
    touchdown = et_from_utc("2024-06-01T22:23:16Z")
    assert model.link_states([touchdown])["relay-lander"][0]


def test_earth_is_below_the_horizon_at_the_site_for_all_of_1_to_4_june(model):
    ets = np.arange(et_from_utc("2024-06-01T00:00:00Z"), et_from_utc("2024-06-05T00:00:00Z") + 1, 60.0)
    el = model.earth_elevation_at_site(ets)
    assert el.max() < 0.0
    # mission-facts §5 (DERIVED): −42.5° at landing and −40.4° at liftoff
    at = model.earth_elevation_at_site([et_from_utc("2024-06-01T22:23:16Z"), et_from_utc("2024-06-03T23:38:10Z")])
    assert at[0] == pytest.approx(-42.5, abs=0.5) and at[1] == pytest.approx(-40.4, abs=0.5)
    assert model.windows("site-earth") == []


def test_link_states_for_10000_epochs_cover_every_link(model):
    ets = np.linspace(et_from_utc("2024-05-30T00:00:00Z"), et_from_utc("2024-06-06T00:00:00Z"), 10_000)
    st = links.link_states(ets)
    assert set(st) == set(model.links)
    assert st["queqiao2-ground"].any() and not st["site-earth"].any()
    names = links.links()
    assert names["lander-queqiao2"].a == "CHANGE6_LANDER" and names["lander-queqiao2"].b == "QUEQIAO_2"


def test_cli_report_prints_windows_and_json(model):
    text = subprocess.run(
        [sys.executable, "-m", "viewer", "links", "report"], capture_output=True, text=True, timeout=300
    )
    assert text.returncode == 0, text.stderr
    assert "Powered descent" in text.stdout and "== queqiao2-kashi" in text.stdout
    js = subprocess.run(
        [sys.executable, "-m", "viewer", "links", "report", "--json"], capture_output=True, text=True, timeout=300
    )
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert {p["id"] for p in data["phases"]} == {"powered_descent", "surface_operations", "ascent"}
    assert all(p["inside_one_window"] for p in data["phases"] if p["id"] != "surface_operations")
    bad = subprocess.run(
        [sys.executable, "-m", "viewer", "links", "report", "--link", "nope"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "unknown link 'nope'" in bad.stderr and "Traceback" not in bad.stderr
