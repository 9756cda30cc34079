"""A bounded classroom load: 1 leader and 30 followers on one served app, as websocket clients that speak Bokeh's
protocol as a browser tab does (benchmarks/bench_classroom.py; its full two-minute run records the figures in
docs/classroom.md). This test checks correctness, not speed: every follower joins at the leader's moment and
reaches each moment the leader goes to (phase jumps and time-slider drags), with no error anywhere."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from test_ui_browser import serve_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_classroom as bench  # noqa: E402

FOLLOWERS = 30
SECONDS = 12.0


@pytest.fixture(scope="module")
def load(request):
    request.getfixturevalue("mission_kernels")
    with serve_app("classload", VIEWER_TEACHER_PIN=bench.PIN) as url:
        yield asyncio.run(bench.run(url, url.pid, url.log_path, FOLLOWERS, SECONDS, interval=1.0, settle=0.0))


def test_thirty_followers_reach_every_moment_of_the_leader(load):
    print(bench.report(load))
    assert load["errors"] == [], "\n".join(load["errors"][:20])
    assert load["joined_at_leader_time"] == FOLLOWERS
    actions = load["actions"]
    assert {a["kind"] for a in actions} == {"jump", "scrub"}, actions
    assert len(actions) >= 4
    for a in actions:
        missed = [i for i, t in enumerate(a["latency_s"]) if t is None]
        assert not missed, f"followers {missed} never reached the {a['kind']} to et {a['et']:.1f}"
        assert len(a["latency_s"]) == FOLLOWERS
    # the leader's jumps also move the leader's own time bar, to the same moment the followers reached
    assert all(a["leader_s"] is not None for a in actions if a["kind"] == "jump")
