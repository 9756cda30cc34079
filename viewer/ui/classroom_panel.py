"""The classroom in the web app: "Lead a class" for a teacher, ``?follow=CODE`` for the students.

The rooms themselves live in :mod:`viewer.classroom` (no Panel). This module is the glue of one session:

- a leader opens a room with the teacher PIN; the panel shows the code, the URL and a QR code. Every change of the
  leader's moment (time, play state, speed, view, the story camera, the highlighted object) is published to the
  room; the leader's language is not (each follower keeps their own).
- a follower joins from the URL. The room's changes are applied to the follower's own :class:`AppState` on the
  follower's document (``add_next_tick_callback``: never from the leader's thread), so the follower's browser
  animates exactly as it does for a visitor. "Look around" detaches; "Rejoin" applies the room's latest state.
- when the leader's session ends, the room closes and its followers see "The lesson has paused" and keep their
  view.
"""

from __future__ import annotations

import html
import logging
import secrets
from functools import partial

import panel as pn

from viewer import classroom, words
from viewer.classroom import ROOMS, RoomError
from viewer.ui.components import client_address

log = logging.getLogger(__name__)

PUBLISHED = ("et", "playing", "speed", "view", "auto_view")  # AppState params a leader's room carries


def cw(key: str, lang: str, **fmt) -> str:
    """A classroom word (assets/words.yaml, classroom:)."""
    text = words.word("classroom", key, lang)
    return text.format(**fmt) if fmt else text


def _room_state(state) -> dict:
    return {
        "time_et": float(state.et),
        "playing": bool(state.playing),
        "speed": float(state.speed),
        "view": str(state.view),
        "camera": "story" if state.auto_view else "preset",
    }


class ClassroomLink:
    """One session's part in a classroom: leading a room, following one, or neither."""

    def __init__(self, state, query: dict | None = None, *, expected_pin: str = "", base_url: str = ""):
        self.state = state
        self.expected_pin = classroom.teacher_pin(expected_pin)
        self.base_url = base_url
        self.code: str | None = None
        self.token: str | None = None
        self.following: str | None = None
        self.detached = False
        self.paused = False
        self._id = secrets.token_hex(8)
        self._doc = pn.state.curdoc
        self._latest: dict = {}
        self._watcher = None
        self.on_change = None  # called on this session's document after the room changed (the panel refreshes)
        code = (query or {}).get("follow")
        code = code[0] if isinstance(code, (list, tuple)) and code else code
        code = code.decode(errors="replace") if isinstance(code, bytes) else code
        self.problem = self.join(str(code)[:16]) if code else ""

    # ------------------------------------------------------------------------------------------ leader
    def lead(self, pin: str) -> str:
        """Open a room; returns '' or the reason it was refused (in the session's language)."""
        lang = self.state.language
        try:
            self.code, self.token = ROOMS.open_room(pin, self.expected_pin, client_address(), _room_state(self.state))
        except RoomError as err:
            return cw(err.key, lang, **err.fmt)
        self._watcher = self.state.param.watch(self._publish, list(PUBLISHED))
        return ""

    def _publish(self, *events) -> None:
        if self.code is None:
            return
        try:
            ROOMS.publish(self.code, self.token, _room_state(self.state))
        except RoomError as err:
            log.warning("classroom: room %s refused a change (%s)", self.code, err.key)

    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/?follow={self.code}" if self.code else ""

    # ------------------------------------------------------------------------------------------ follower
    def join(self, code: str) -> str:
        lang = self.state.language
        try:
            state = ROOMS.join(code, self._id, self._receive)
        except RoomError as err:
            return cw(err.key, lang, **err.fmt)
        self.following = str(code).strip().upper()
        self._latest = dict(state)
        self._apply(state)
        return ""

    def _receive(self, changes: dict) -> None:
        """Called from the leader's session: remember, and apply on this session's own document."""
        if changes.get("paused"):
            self.paused = True
        else:
            self._latest.update(changes)
        if self.detached and not self.paused:
            return
        if self._doc is not None:
            self._doc.add_next_tick_callback(partial(self._on_doc, dict(changes)))
        else:
            self._on_doc(changes)

    def _on_doc(self, changes: dict) -> None:
        self._apply(changes)
        if self.on_change is not None:
            self.on_change()

    def _apply(self, changes: dict) -> None:
        if changes.get("paused"):
            return  # the follower keeps the view it has
        s = self.state
        update = {}
        if "view" in changes and changes["view"] in s.param.view.objects:
            update["view"] = changes["view"]
        if "camera" in changes:
            update["auto_view"] = changes["camera"] == "story"
        if "speed" in changes and changes["speed"] in s.param.speed.objects:
            update["speed"] = changes["speed"]
        if "playing" in changes:
            update["playing"] = bool(changes["playing"])
        if "time_et" in changes:
            lo, hi = s.param.et.bounds
            update["et"] = min(max(float(changes["time_et"]), lo), hi)
        if update:
            s.param.update(**update)

    def look_around(self) -> None:
        self.detached = True

    def rejoin(self) -> None:
        self.detached = False
        if self.following and not self.paused:
            self._apply(self._latest)

    # ------------------------------------------------------------------------------------------ end
    def close(self) -> None:
        if self.code is not None and self.token is not None:
            try:
                ROOMS.close(self.code, self.token)
            except RoomError:
                pass  # already closed
            self.code = self.token = None
        if self.following:
            ROOMS.leave(self.following, self._id)
            self.following = None


class ClassroomPanel:
    """The side-panel section: a PIN field and "Lead a class"; then the code, URL and QR code; for a follower,
    "Look around" / "Rejoin" and the room's status."""

    def __init__(self, link: ClassroomLink):
        self.link = link
        lang = link.state.language
        self.title = pn.pane.HTML("", margin=(10, 10, 0, 10))
        self.pin = pn.widgets.PasswordInput(placeholder=cw("pin_placeholder", lang), width=180)
        self.lead = pn.widgets.Button(name=cw("lead", lang), button_type="primary")
        self.toggle = pn.widgets.Button(name=cw("look_around", lang), button_type="light", visible=False)
        self.status = pn.pane.HTML("", sizing_mode="stretch_width")
        link.on_change = self.refresh
        self.lead.on_click(lambda e: self._on_lead())
        self.toggle.on_click(lambda e: self._on_toggle())
        if link.following:
            self.pin.visible = self.lead.visible = False
            self.toggle.visible = True
        self.refresh()

    def _on_lead(self) -> None:
        problem = self.link.lead(self.pin.value or "")
        self.pin.value = ""
        if problem:
            self.status.object = f'<p class="ce6-class-error">{html.escape(problem)}</p>'
            return
        self.pin.visible = self.lead.visible = False
        self.refresh()

    def _on_toggle(self) -> None:
        if self.link.detached:
            self.link.rejoin()
        else:
            self.link.look_around()
        self.refresh()

    def refresh(self) -> None:
        lang = self.link.state.language
        self.title.object = f'<div class="ce6-section">{html.escape(cw("section", lang))}</div>'
        self.lead.name = cw("lead", lang)
        self.toggle.name = cw("rejoin" if self.link.detached else "look_around", lang)
        if self.link.code:
            url = self.link.url()
            self.status.object = (
                f'<p class="ce6-class-code">{html.escape(cw("room_code", lang, code=self.link.code))}</p>'
                f'<p class="ce6-src">{html.escape(url)}</p>{classroom.qr_svg(url, scale=4)}'
            )
        elif self.link.following:
            key = "paused" if self.link.paused else ("detached" if self.link.detached else "following")
            self.status.object = (
                f'<p class="ce6-class-status">{html.escape(cw(key, lang, code=self.link.following))}</p>'
            )
        elif self.link.problem:
            self.status.object = f'<p class="ce6-class-error">{html.escape(self.link.problem)}</p>'

    def __panel__(self):
        return pn.Column(self.title, pn.Row(self.pin, self.lead), self.toggle, self.status, sizing_mode="stretch_width")


class Classroom:
    """What a session of the web app holds of the classroom: the link, its side-panel section (None in the kiosk)."""

    def __init__(self, state, query: dict):
        kiosk_pin = _kiosk_pin()
        self.link = ClassroomLink(state, query, expected_pin=kiosk_pin, base_url=_base_url())
        self.panel = None if state.kiosk else ClassroomPanel(self.link)
        if self.panel is not None:
            state.param.watch(lambda *e: self.panel.refresh(), ["language"])

    def close(self) -> None:
        self.link.close()


def _kiosk_pin() -> str:
    """The kiosk operator PIN (the teacher PIN's fallback), or '' where the kiosk settings cannot be read."""
    from viewer.errors import ViewerError
    from viewer.ui.kiosk_config import load_kiosk_config

    try:
        return load_kiosk_config().pin
    except (ViewerError, OSError) as err:
        log.info("classroom: no kiosk PIN (%s)", err)
        return ""


def _base_url() -> str:
    """``http://host:port`` of this session's request (the address the students open)."""
    try:
        host = pn.state.curdoc.session_context.request.headers.get("Host", "")
    except AttributeError:
        host = ""
    return f"http://{host}" if host else ""
