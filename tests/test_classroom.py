"""viewer.classroom: rooms that only their leader drives, checked state, per-client PIN lock-out, and the QR code."""

from __future__ import annotations

import pytest

from viewer.classroom import Classroom, PinGate, RoomError, clean_state, qr_svg, teacher_pin

PIN = "73914"


def _open(room: Classroom, client="10.0.0.2", state=None):
    return room.open_room(PIN, PIN, client, state or {"time_et": 1.0, "view": "lunar"})


def test_leader_changes_reach_followers_as_changed_keys():
    rooms = Classroom()
    code, token = _open(rooms)
    got_a, got_b = [], []
    assert rooms.join(code.lower(), "a", got_a.append) == {"time_et": 1.0, "view": "lunar"}
    rooms.join(code, "b", got_b.append)
    rooms.publish(code, token, {"time_et": 770_000_000.5, "playing": True})
    assert got_a == got_b == [{"time_et": 770_000_000.5, "playing": True}]
    assert rooms.state(code)["view"] == "lunar"


def test_followers_cannot_drive_even_with_crafted_messages():
    rooms = Classroom()
    code, token = _open(rooms)
    got = []
    rooms.join(code, "a", got.append)
    for bad_token in ("", "x" * 32, token[:-1] + ("A" if token[-1] != "A" else "B")):
        with pytest.raises(RoomError) as err:
            rooms.publish(code, bad_token, {"time_et": 5.0})
        assert err.value.key == "not_leader"
    for crafted in (
        {"__class__": 1},
        {"time_et": float("nan")},
        {"view": "<img src=x>"},
        {"camera": [1, 2]},
        {"playing": "yes"},
        ["time_et"],
    ):
        with pytest.raises(RoomError):
            rooms.publish(code, token, crafted)
    with pytest.raises(RoomError):
        rooms.close(code, "not the token")
    assert got == [] and rooms.state(code)["time_et"] == 1.0


def test_leaving_pauses_followers_and_expires_the_code():
    rooms = Classroom()
    code, token = _open(rooms)
    got = []
    rooms.join(code, "a", got.append)
    rooms.close(code, token)
    assert got == [{"paused": True}]
    with pytest.raises(RoomError) as err:
        rooms.join(code, "b", got.append)
    assert err.value.key == "no_room" and rooms.rooms() == 0


def test_wrong_pins_lock_the_failing_client_first():
    gate = PinGate(per_client=3, window_s=60, lockout_s=60, clients=3)
    for k in range(3):
        with pytest.raises(RoomError) as err:
            gate.check("0000", PIN, "pupil", now=100.0 + k)
        assert err.value.key == "pin_wrong"
    with pytest.raises(RoomError) as err:
        gate.check(PIN, PIN, "pupil", now=104.0)  # even the right PIN waits out the lock-out
    assert err.value.key == "pin_locked" and 0 < err.value.fmt["s"] <= 60
    gate.check(PIN, PIN, "teacher", now=104.0)  # another client is not locked out
    gate.check(PIN, PIN, "pupil", now=170.0)


def test_no_pin_no_rooms(monkeypatch):
    monkeypatch.delenv("VIEWER_TEACHER_PIN", raising=False)
    assert teacher_pin(None) == ""
    with pytest.raises(RoomError) as err:
        Classroom().open_room("", "", "c")
    assert err.value.key == "no_pin"
    monkeypatch.setenv("VIEWER_TEACHER_PIN", "5521")
    assert teacher_pin("2406") == "5521"


def test_clean_state_limits_views_and_speeds():
    assert clean_state({"view": "site", "speed": 100}, allowed_views={"site"}, speeds={100}) == {
        "view": "site",
        "speed": 100.0,
    }
    with pytest.raises(RoomError):
        clean_state({"view": "moon"}, allowed_views={"site"})
    cam = {"position": [1, 2, 3], "focal_point": [0, 0, 0], "view_up": [0, 0, 1]}
    assert clean_state({"camera": cam})["camera"]["position"] == [1.0, 2.0, 3.0]
    assert clean_state({"camera": "story", "highlight": None}) == {"camera": "story", "highlight": None}


def test_qr_code_is_an_svg_of_the_url():
    import segno

    svg = qr_svg("http://192.168.1.20:5006/?follow=ABC234")
    assert svg.startswith("<svg") and "path" in svg
    assert segno.make("http://192.168.1.20:5006/?follow=ABC234", error="m").version >= 2
