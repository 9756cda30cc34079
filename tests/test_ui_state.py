"""AppState and the serving rules, without a browser."""

from __future__ import annotations

import argparse
from datetime import UTC

import pytest

from viewer.epochs import et_from_utc, utc_from_et
from viewer.errors import InputError
from viewer.mission import load_mission
from viewer.ui.state import SPEEDS, AppState, mission_span, phase_views

VIEWS = ["system", "lunar", "site", "return"]


@pytest.fixture
def state():
    return AppState(load_mission(), views=VIEWS, default_view="system")


def test_time_bounds_cover_every_phase_and_event(state):
    m = state.mission
    lo, hi = state.param.et.bounds
    assert (lo, hi) == mission_span(m)
    assert all(lo <= p.start_et and p.end_et <= hi for p in m.phases)
    assert all(lo <= e.et <= hi for e in m.events)
    assert state.et == m.launch_et  # a session starts at launch


def test_phase_follows_time(state):
    m = state.mission
    state.et = et_from_utc("2024-06-01T22:15:00Z")
    assert state.phase == "powered_descent"
    state.et = et_from_utc("2024-06-02T01:00:00Z")
    assert state.phase == "drilling"  # the most specific phase (a child of surface operations)
    assert m.item(state.phase).parent == "surface_operations"


@pytest.mark.parametrize("item_id", ["powered_descent", "touchdown", "docking", "reentry", "capsule_touchdown"])
def test_jump_goes_to_the_phase_start_or_event_time(state, item_id):
    item = state.mission.item(item_id)
    want = getattr(item, "start_et", None) or item.et
    state.jump(item_id)
    assert state.et == pytest.approx(want)
    assert state.utc == (item.start if hasattr(item, "start") else item.time)


def test_jump_picks_the_phase_view_unless_told_not_to(state):
    table = phase_views()
    state.jump("powered_descent")
    assert state.view == table["powered_descent"] == "site"
    state.auto_view = False
    state.jump("cruise")
    assert state.view == "site"  # kept
    state.auto_view = True
    state.jump("cruise")
    assert state.view == table["cruise"]


def test_unknown_jump_is_one_line_input_error(state):
    with pytest.raises(InputError) as err:
        state.jump("landing_on_mars")
    assert "landing_on_mars" in str(err.value) and "\n" not in str(err.value)


def test_step_is_one_playback_second_and_clamps(state):
    state.speed = 10_000
    t = state.et
    state.step(2)
    assert state.et == pytest.approx(t + 20_000)
    state.step(-(10**6))
    assert state.et == state.param.et.bounds[0]
    assert list(state.param.speed.objects) == list(SPEEDS) and SPEEDS[0] == 1 and SPEEDS[-1] == 100_000


def test_mission_time_counts_from_launch(state):
    m = state.mission
    state.et = m.launch_et + 29 * 86400 + 12 * 3600 + 61
    assert state.mission_time == "T+29d 12:01:01"
    state.et = m.launch_et - 3600
    assert state.mission_time.startswith("T-0d 01:00:00")


def test_captions_in_both_languages_with_grade_and_sources(state):
    state.et = et_from_utc("2024-06-01T22:23:30Z")  # just after touchdown
    en = state.caption()
    assert en["phase"]["id"] == "surface_operations"
    assert en["event"]["id"] == "touchdown"
    assert en["event"]["grade"] in ("sourced", "derived", "assumed")
    assert en["event"]["sources"] and all(s.outlet for s in en["event"]["sources"])
    state.language = "zh"
    zh = state.caption()
    assert zh["phase"]["title"] == state.mission.item("surface_operations").title.zh != en["phase"]["title"]


def test_url_round_trip(state):
    state.param.update(et=et_from_utc("2024-06-04T12:00:00Z"), view="lunar", language="zh")
    q = state.to_query()
    assert q == {"t": "2024-06-04T12:00:00Z", "view": "lunar", "lang": "zh"}
    other = AppState(state.mission, views=VIEWS, default_view="system")
    assert other.apply_query({k: [v.encode()] for k, v in q.items()}) == []  # Tornado gives lists of bytes
    assert (other.utc, other.view, other.language) == (q["t"], "lunar", "zh")


def test_bad_url_values_are_reported_and_skipped(state):
    problems = state.apply_query({"t": "yesterday", "view": "mars", "lang": "fr"})
    assert len(problems) == 3 and all("\n" not in p for p in problems)
    assert state.view == "system" and state.language == "en"
    problems = state.apply_query({"t": "2030-01-01T00:00:00Z", "view": "site"})
    assert len(problems) == 1 and "outside the mission" in problems[0]
    assert state.view == "site"


def test_serve_binds_loopback_by_default_and_refuses_open_addresses():
    from viewer.ui import serve

    p = serve.build_parser()
    args = p.parse_args([])
    assert args.address == "127.0.0.1"
    assert "127.0.0.1:5006" in serve.check_args(args)
    with pytest.raises(SystemExit, match="--allow-remote"):
        serve.check_args(p.parse_args(["--address", "0.0.0.0"]))
    with pytest.raises(SystemExit, match="--allow-origin"):
        serve.check_args(p.parse_args(["--address", "0.0.0.0", "--allow-remote"]))
    origins = serve.check_args(
        p.parse_args(["--address", "0.0.0.0", "--allow-remote", "--allow-origin", "viewer.example:8080"])
    )
    assert origins == ["viewer.example:8080"]
    assert isinstance(args, argparse.Namespace)


def test_browser_clock_offset_matches_epochs():
    """The browser formats UTC from ET with one offset taken from viewer.epochs: check it on both ends."""
    from datetime import datetime

    from viewer.epochs import et_minus_unix

    m = load_mission()
    lo, hi = mission_span(m)
    off = et_minus_unix(lo, hi)
    for et in (lo, (lo + hi) / 2, hi, et_from_utc("2024-06-01T22:23:16Z")):
        js = datetime.fromtimestamp(round(et - off), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert js == utc_from_et(et)
