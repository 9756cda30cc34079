"""mission.yaml and the built kernels tell the same story: every event the reconstruction times has the same time in
the data file (what the captions say), and the sourced key events are where the kernels put the vehicles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viewer import ephemeris, paths
from viewer.epochs import et_from_utc
from viewer.mission import load_mission

MANIFEST = paths.KERNELS_DIR / "change6_manoeuvres.json"

# mission.yaml event id -> (manifest section, id or name, vehicle)
PAIRS = {
    "launch": ("events", "liftoff_change6_orbiter", "CHANGE6_ORBITER"),
    "queqiao2_launch": ("events", "liftoff_queqiao_2", "QUEQIAO_2"),
    "queqiao2_loi": ("events", "queqiao2_loi", "QUEQIAO_2"),
    "tli_separation": ("events", "separation_change6_orbiter", "CHANGE6_ORBITER"),
    "loi": ("manoeuvres", "LOI", "CHANGE6_ORBITER"),
    "separation_la_or": ("events", "la_separation", "CHANGE6_LANDER"),
    "descent_start": ("events", "descent_main_braking", "CHANGE6_LANDER"),
    "approach_start": ("events", "descent_approach", "CHANGE6_LANDER"),
    "hover": ("events", "descent_hover_and_obstacle_scan", "CHANGE6_LANDER"),
    "slow_descent": ("events", "descent_slow_vertical_descent", "CHANGE6_LANDER"),
    "touchdown": ("events", "touchdown", "CHANGE6_LANDER"),
    "liftoff": ("events", "liftoff", "CHANGE6_ASCENDER"),
    "ascender_orbit": ("events", "ascent_insertion", "CHANGE6_ASCENDER"),
    "docking": ("events", "docking", "CHANGE6_ORBITER"),
    "sample_transfer": ("events", "sample_transfer", "CHANGE6_RETURNER"),
    "ascender_separation": ("events", "undocking", "CHANGE6_ASCENDER"),
    "ascender_impact": ("events", "ascender_impact", "CHANGE6_ASCENDER"),
    "tei_1": ("manoeuvres", "TEI-1 (apolune raise)", "CHANGE6_ORBITER"),
    "tcm_return": ("manoeuvres", "TCM (return correction)", "CHANGE6_ORBITER"),
    "capsule_separation": ("events", "separation", "CHANGE6_ORBITER"),
    "entry_interface": ("events", "entry_interface", "CHANGE6_RETURNER"),
    "skip_out": ("events", "skip_out", "CHANGE6_RETURNER"),
    "skip_apex": ("events", "skip_apex", "CHANGE6_RETURNER"),
    "second_entry": ("events", "second_entry", "CHANGE6_RETURNER"),
    "parachute": ("events", "parachute", "CHANGE6_RETURNER"),
}
# Published to the minute ("about 15:00", "06:07"): the reconstruction may differ by seconds.
TOLERANCE_S = {"tei_2": 60.0, "capsule_touchdown": 60.0}


@pytest.fixture(scope="module")
def manifest():
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: run `python -m viewer kernels build`")
    return json.loads(MANIFEST.read_text())


def _lookup(manifest, section, key, vehicle):
    field = "id" if section == "events" else "name"
    hits = [x for x in manifest[section] if x[field] == key and x["vehicle"] == vehicle]
    assert len(hits) == 1, f"{section} {key!r} of {vehicle}: {len(hits)} matches"
    return hits[0]["et"]


@pytest.mark.parametrize("event_id", sorted(PAIRS))
def test_data_times_match_the_reconstruction(manifest, event_id):
    ev = load_mission().item(event_id)
    et = _lookup(manifest, *PAIRS[event_id])
    assert abs(ev.et - et) <= 1.0, f"{event_id}: mission.yaml {ev.time} vs kernels {et - ev.et:+.1f} s"


def test_minute_precision_events_are_within_a_minute(manifest):
    m = load_mission()
    tei2 = _lookup(manifest, "manoeuvres", "TEI-2 (trans-Earth injection)", "CHANGE6_ORBITER")
    landed = _lookup(manifest, "events", "touchdown", "CHANGE6_RETURNER")
    assert abs(m.item("tei_2").et - tei2) <= TOLERANCE_S["tei_2"]
    assert abs(m.item("capsule_touchdown").et - landed) <= TOLERANCE_S["capsule_touchdown"]


def test_key_events_put_the_vehicles_where_the_data_says(kernels_loaded):
    m = load_mission()
    et = m.item("touchdown").et
    lander = ephemeris.positions("CHANGE6_LANDER", [et + 60.0], observer="CHANGE6_SITE", frame="MOON_ME")[0]
    assert np.linalg.norm(lander) * 1000.0 < 30.0
    dock = m.item("docking").et
    gap = ephemeris.positions("CHANGE6_ASCENDER", [dock], observer="CHANGE6_ORBITER")[0]
    assert np.linalg.norm(gap) * 1000.0 < 10.0
    assert m.item("capsule_touchdown").et == pytest.approx(et_from_utc("2024-06-25T06:07:00Z"))
