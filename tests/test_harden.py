"""Hardening without a server: user-given values are escaped and shortened, the Host allowlist, the kiosk's
operator actions (only on a kiosk server, no Exit with the public PIN, per-client PIN lockout)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest

from viewer.errors import SHOWN_MAX, shown

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_shown_quotes_and_cuts_long_values():
    assert shown("site") == "'site'"
    long = shown("x" * 20_000)
    assert len(long) == SHOWN_MAX + 2 and long.endswith("…'")
    assert shown("a\nb") == "'a\\nb'"  # a control character stays on the line


def test_notify_text_is_escaped_and_short():
    from viewer.ui.components import NOTIFY_MAX, notify_text

    out = notify_text(f"view {PAYLOAD} is unknown")
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert len(notify_text("y" * 20_000)) <= NOTIFY_MAX


@pytest.mark.parametrize("key", ["view", "lang", "t"])
def test_a_20kB_url_value_gives_a_short_problem_line(key):
    from viewer.ui.state import AppState

    state = AppState.for_mission()
    (problem,) = state.apply_query({key: [("<b>" + "z" * 20_000).encode()]})
    assert len(problem) < 300, len(problem)
    assert "z" * (SHOWN_MAX - 5) in problem and "z" * (SHOWN_MAX + 5) not in problem and "…" in problem


def test_a_5000_character_time_gives_a_short_error_line(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "viewer",
            "screenshot",
            "--time",
            "9" * 5000,
            "--size",
            "64x64",
            str(tmp_path / "a.png"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    lines = res.stderr.strip().splitlines()
    assert res.returncode != 0 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-500:]
    assert "time '999" in lines[0] and len(lines[0]) < 250, lines[0]
    assert not (tmp_path / "a.png").exists()


def test_host_allowlist():
    from viewer.ui.hosts import allowed_hosts, normalise

    hosts = allowed_hosts("127.0.0.1", 5006, ["Viewer.Example.org", "kiosk.lan:8080"])
    assert {"127.0.0.1:5006", "localhost:5006", "viewer.example.org:80", "kiosk.lan:8080"} == set(hosts)
    for foreign in ("evil.example:5006", "127.0.0.1:5007", "localhost", "", "127.0.0.1.evil.example:5006"):
        assert normalise(foreign) not in hosts
    assert normalise("LOCALHOST:5006") in hosts
    assert "[::1]:5006" in allowed_hosts("::1", 5006, [])


# ---------------------------------------------------------------------------------------------- kiosk operator
@pytest.fixture
def controller(monkeypatch):
    """A kiosk controller's PIN and operator logic on the shipped settings, without a page or a session."""
    from viewer.classroom import PinGate
    from viewer.ui import kiosk
    from viewer.ui.kiosk_config import load_kiosk_config

    stops = []
    monkeypatch.setattr(kiosk, "PIN_GATE", PinGate(per_client=5, window_s=300.0, lockout_s=60.0, clients=4))
    monkeypatch.setattr(kiosk.threading, "Timer", lambda *a: SimpleNamespace(start=lambda: stops.append(a)))
    monkeypatch.setitem(kiosk._server, "operator", False)

    def make(pin: str | None = None, client: str = "10.0.0.1"):
        c = kiosk.KioskController.__new__(kiosk.KioskController)
        cfg = load_kiosk_config()
        c.config = replace(cfg, pin=pin) if pin else cfg
        c.state = SimpleNamespace(language="en")
        c.view = SimpleNamespace(pin_result={}, operator={})
        c.client, c._unlocked = client, False
        return c

    make.stops = stops
    return make


def test_operator_actions_are_refused_on_an_ordinary_server(controller):
    c = controller()
    c.check_pin(c.config.pin)  # the right PIN, but the server was not started with --kiosk
    assert c.view.pin_result["ok"] is False and "--kiosk" in c.view.pin_result["message"]
    assert not c._unlocked and c.view.operator == {}
    c.operator_action("exit")
    assert controller.stops == []


def test_the_shipped_pin_never_stops_the_server(controller, capsys):
    from viewer.ui import kiosk
    from viewer.ui.kiosk_config import SHIPPED_PIN

    kiosk.prepare(operator=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "operator.pin" in err[0] and "Exit is off" in err[0], err
    c = controller()
    assert c.config.pin == SHIPPED_PIN
    c.check_pin(SHIPPED_PIN)
    assert c._unlocked and ["Exit", "off"] in [list(r) for r in c.view.operator["rows"]]
    c.operator_action("exit")
    assert controller.stops == [] and "operator.pin" in c.view.operator["stopping"]


def test_a_private_pin_lets_the_operator_stop_the_kiosk(controller):
    from viewer.ui import kiosk

    kiosk._server["operator"] = True
    c = controller(pin="583014")
    c.check_pin("583014")
    c.operator_action("exit")
    assert len(controller.stops) == 1


def test_wrong_pins_lock_out_one_client_before_everyone(controller):
    from viewer.ui import kiosk

    kiosk._server["operator"] = True
    visitor, operator = controller("583014", "203.0.113.9"), controller("583014", "127.0.0.1")
    for _ in range(5):
        visitor.check_pin("0000")
    assert visitor.view.pin_result["message"] == "Wrong PIN."
    visitor.check_pin("583014")  # locked out: even the right PIN waits
    assert not visitor._unlocked and "wait" in visitor.view.pin_result["message"]
    operator.check_pin("583014")  # the kiosk's own screen is not locked out
    assert operator._unlocked
    for k in range(3):  # four clients locked out at once lock every pad
        other = controller("583014", f"198.51.100.{k}")
        for _ in range(5):
            other.check_pin("1111")
    late = controller("583014", "127.0.0.2")
    late.check_pin("583014")
    assert not late._unlocked and "wait" in late.view.pin_result["message"]
