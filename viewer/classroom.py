"""Classroom rooms: a teacher's session leads, students' sessions follow. No Panel import: testable alone.

A room is opened with the teacher PIN (:func:`teacher_pin`: ``VIEWER_TEACHER_PIN``, else the kiosk operator PIN).
It gets a short code (``/?follow=CODE``) and a secret leader token. Only a caller holding the token can change the
room's state; a follower only receives it. The state is a small dict of the moment and the camera (see
:data:`STATE_RULES`), checked key by key, so a crafted message can neither add keys nor carry odd values. Each change
is relayed to every follower's callback as the changed keys only; frames and scenes never pass through the room.
When the leader leaves, the room closes, its code expires, and every follower is told ``{"paused": True}``.

Wrong PINs are counted per client first (:class:`PinGate`): a client that fails ``per_client`` times within the
window waits ``lockout_s``; only many failing clients together lock the gate for everyone.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

ENV_TEACHER_PIN = "VIEWER_TEACHER_PIN"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on tablets
CODE_LENGTH = 6
MAX_ROOMS = 64
MAX_FOLLOWERS = 200
_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class RoomError(Exception):
    """A refused room action; ``key`` names the interface word that explains it (assets/words.yaml, classroom)."""

    def __init__(self, key: str, **fmt):
        super().__init__(key)
        self.key = key
        self.fmt = fmt


def _finite(v) -> float:
    x = float(v)
    if not math.isfinite(x):
        raise ValueError("not finite")
    return x


def _vec3(v) -> list[float]:
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise ValueError("not three numbers")
    return [_finite(x) for x in v]


def _camera(v):
    if v in ("story", "preset"):
        return v
    if not isinstance(v, dict) or set(v) != {"position", "focal_point", "view_up"}:
        raise ValueError("camera must be 'story', 'preset' or {position, focal_point, view_up}")
    return {k: _vec3(v[k]) for k in ("position", "focal_point", "view_up")}


def _name(v) -> str:
    s = str(v)
    if not _NAME.match(s):
        raise ValueError("not a name")
    return s


def _bool(v) -> bool:
    if not isinstance(v, bool):
        raise ValueError("not true or false")
    return v


# The room's state: key -> check (returns the clean value or raises ValueError).
STATE_RULES: dict[str, Callable] = {
    "time_et": _finite,
    "playing": _bool,
    "speed": _finite,
    "view": _name,
    "camera": _camera,
    "highlight": lambda v: None if v is None else _name(v),
}


def clean_state(changes: dict, allowed_views=None, speeds=None) -> dict:
    """The checked subset of ``changes``; raises :class:`RoomError` ("bad_state") on any unknown key or value."""
    if not isinstance(changes, dict):
        raise RoomError("bad_state")
    out = {}
    for key, value in changes.items():
        rule = STATE_RULES.get(key)
        if rule is None:
            raise RoomError("bad_state")
        try:
            out[key] = rule(value)
        except (TypeError, ValueError):
            raise RoomError("bad_state") from None
    if allowed_views is not None and "view" in out and out["view"] not in allowed_views:
        raise RoomError("bad_state")
    if speeds is not None and "speed" in out and out["speed"] not in speeds:
        raise RoomError("bad_state")
    return out


class PinGate:
    """PIN checks that lock out a failing client before they lock out everyone."""

    def __init__(self, per_client: int = 5, window_s: float = 60.0, lockout_s: float = 60.0, clients: int = 4):
        self.per_client, self.window_s, self.lockout_s, self.clients = per_client, window_s, lockout_s, clients
        self._fails: dict[str, deque] = defaultdict(deque)
        self._locked: dict[str, float] = {}
        self._global_until = 0.0
        self._lock = threading.Lock()

    def check(self, pin: str, expected: str, client: str, now: float | None = None) -> None:
        """Return if ``pin`` is right; raise RoomError("pin_wrong") or RoomError("pin_locked", s=seconds)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = max(self._locked.get(client, 0.0), self._global_until) - now
            if wait > 0:
                raise RoomError("pin_locked", s=int(wait) + 1)
            if expected and hmac.compare_digest(str(pin).encode(), str(expected).encode()):
                self._fails.pop(client, None)
                return
            fails = self._fails[client]
            fails.append(now)
            while fails and now - fails[0] > self.window_s:
                fails.popleft()
            if len(fails) >= self.per_client:
                self._locked[client] = now + self.lockout_s
                fails.clear()
            recent = {c for c, until in self._locked.items() if until > now}
            if len(recent) >= self.clients:
                self._global_until = now + self.lockout_s
        raise RoomError("pin_wrong")


@dataclass
class Room:
    code: str
    token: str
    state: dict = field(default_factory=dict)
    followers: dict[str, Callable[[dict], None]] = field(default_factory=dict)
    open: bool = True


class Classroom:
    """Every room of this server process."""

    def __init__(self, gate: PinGate | None = None):
        self.gate = gate or PinGate()
        self._rooms: dict[str, Room] = {}
        self._lock = threading.Lock()

    def open_room(self, pin: str, expected_pin: str, client: str, state: dict | None = None) -> tuple[str, str]:
        """(code, leader token) of a new room; the PIN is checked first."""
        if not expected_pin:
            raise RoomError("no_pin")
        self.gate.check(pin, expected_pin, client)
        with self._lock:
            if len(self._rooms) >= MAX_ROOMS:
                raise RoomError("too_many_rooms")
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            while code in self._rooms:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            room = Room(code, secrets.token_urlsafe(24), clean_state(state or {}))
            self._rooms[code] = room
        log.info("classroom: room %s opened", code)
        return code, room.token

    def _room(self, code: str) -> Room:
        room = self._rooms.get(str(code).strip().upper())
        if room is None or not room.open:
            raise RoomError("no_room")
        return room

    def join(self, code: str, follower_id: str, callback: Callable[[dict], None]) -> dict:
        """Register a follower; returns the room's whole state (the follower applies it, then receives changes)."""
        with self._lock:
            room = self._room(code)
            if len(room.followers) >= MAX_FOLLOWERS:
                raise RoomError("room_full")
            room.followers[follower_id] = callback
            return dict(room.state)

    def leave(self, code: str, follower_id: str) -> None:
        with self._lock:
            room = self._rooms.get(str(code).strip().upper())
            if room is not None:
                room.followers.pop(follower_id, None)

    def publish(self, code: str, token: str, changes: dict, **limits) -> dict:
        """Apply the leader's changes (checked) and relay them to every follower; returns what was relayed."""
        with self._lock:
            room = self._room(code)
            if not hmac.compare_digest(str(token).encode(), room.token.encode()):
                raise RoomError("not_leader")
            clean = clean_state(changes, **limits)
            room.state.update(clean)
            targets = list(room.followers.values())
        for send in targets:
            self._send(send, clean)
        return clean

    def close(self, code: str, token: str) -> None:
        """The leader leaves: the code expires and the followers are told the lesson has paused."""
        with self._lock:
            room = self._room(code)
            if not hmac.compare_digest(str(token).encode(), room.token.encode()):
                raise RoomError("not_leader")
            room.open = False
            del self._rooms[room.code]
            targets = list(room.followers.values())
        for send in targets:
            self._send(send, {"paused": True})
        log.info("classroom: room %s closed", room.code)

    def state(self, code: str) -> dict:
        with self._lock:
            return dict(self._room(code).state)

    def rooms(self) -> int:
        return len(self._rooms)

    @staticmethod
    def _send(send: Callable[[dict], None], message: dict) -> None:
        try:
            send(dict(message))
        except (RuntimeError, ValueError, KeyError, AttributeError) as err:  # a follower's session that went away
            log.warning("classroom: a follower could not take a change (%s)", err)


def teacher_pin(kiosk_pin: str | None = None) -> str:
    """The PIN that opens a room: ``VIEWER_TEACHER_PIN``, else the kiosk operator PIN, else '' (no rooms)."""
    return os.environ.get(ENV_TEACHER_PIN, "").strip() or (kiosk_pin or "")


def qr_svg(url: str, scale: int = 6) -> str:
    """An SVG QR code of ``url`` (segno), for the teacher's screen."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=scale, dark="#000", light="#fff")


ROOMS = Classroom()  # this server process's rooms
