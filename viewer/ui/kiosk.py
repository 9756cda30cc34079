"""Museum kiosk mode: the same :class:`~viewer.ui.app.MissionApp` and :class:`~viewer.ui.state.AppState`, with a
full-screen, touch-first layout and no file, export or settings controls (a mode of the same state, not a second
app).

- :func:`build_layout` is the one hook in the app: ``MissionApp`` calls it instead of its own layout when
  ``state.kiosk`` is set (``python app.py --kiosk`` or ``?kiosk=1``).
- :class:`KioskView` (``static/kiosk.js``) draws the header, language toggle, chapter buttons, captions and the
  overlays (countdown, PIN pad, operator screen, reconnecting), and keeps the wall clock: the idle timer, the
  attract tour's steps, the heartbeat and the reload watchdog.
- :class:`KioskController` turns the page's messages into state changes: a tour step sets view, time and speed;
  a chapter button jumps there; the attract loop brings back the default language. It also checks the operator
  PIN (the PIN never reaches the browser) and runs the operator actions.

Settings come from ``assets/kiosk.yaml`` (:mod:`viewer.ui.kiosk_config`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import weakref

import panel as pn
import param
import psutil
from panel.custom import Child, JSComponent

from viewer import __version__
from viewer.classroom import PinGate, RoomError
from viewer.errors import LastGood, ViewerError, shown
from viewer.ui.components import client_address, static_text
from viewer.ui.i18n import TEXT, t
from viewer.ui.kiosk_config import SHIPPED_PIN, KioskConfig, load_kiosk_config

log = logging.getLogger("viewer.ui.kiosk")


KIOSK_TEXT: dict[str, dict[str, str]] = {
    "touch": {"en": "Touch the screen to explore", "zh": "触摸屏幕，开始探索"},
    "tour": {"en": "Guided tour", "zh": "自动导览"},
    "chapter_n": {"en": "Chapter {n} of {total}", "zh": "第 {n} 章 / 共 {total} 章"},
    "still_there": {"en": "Still there?", "zh": "还在看吗？"},
    "touch_to_continue": {"en": "Touch the screen to keep exploring.", "zh": "触摸屏幕，继续探索。"},
    "restart_in": {"en": "The guided tour starts again in", "zh": "自动导览即将重新开始"},
    "seconds": {"en": "seconds", "zh": "秒"},
    "reconnecting": {"en": "Reconnecting to the exhibit…", "zh": "正在重新连接展项…"},
    "reconnecting_sub": {"en": "The exhibit will be back in a moment.", "zh": "展项马上就会恢复。"},
    "pin_title": {"en": "Operator PIN", "zh": "管理员密码"},
    "pin_wrong": {"en": "Wrong PIN.", "zh": "密码错误。"},
    "pin_locked": {"en": "Too many wrong PINs: wait {s} s.", "zh": "密码错误次数过多：请等待 {s} 秒。"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "enter": {"en": "Enter", "zh": "确定"},
    "operator": {"en": "Operator", "zh": "管理员"},
    "resume": {"en": "Back to the exhibit", "zh": "返回展项"},
    "restart_tour": {"en": "Restart the guided tour", "zh": "重新开始自动导览"},
    "reload": {"en": "Reload the page", "zh": "重新载入页面"},
    "exit": {"en": "Exit the kiosk (stops the app)", "zh": "退出展项（停止程序）"},
    "exit_done": {"en": "The app is stopping.", "zh": "程序正在停止。"},
    "exit_off": {
        "en": "Exit is off while the PIN is the shipped default; set operator.pin in kiosk.yaml.",
        "zh": "密码仍为出厂默认值，退出功能已关闭；请在 kiosk.yaml 中设置 operator.pin。",
    },
    "operator_off": {
        "en": "The operator screen works only on a kiosk server (python app.py --kiosk).",
        "zh": "管理员界面仅在展项服务器上可用（python app.py --kiosk）。",
    },
}

# what the kiosk changes in the app's 3D view and time bar: ≥ 48 px touch targets, no speed/settings controls
VIEW_CSS = """
.mv-bar { padding: 12px 20px 14px; }
.mv-btn { width: 64px; height: 56px; border-radius: 12px; }
.mv-btn svg { width: 28px; height: 28px; }
.mv-play { width: 84px; }
.mv-speed, .mv-met, .mv-phase-name { display: none; }
.mv-utc { font-size: 24px; }
.mv-slider { -webkit-appearance: none; appearance: none; background: transparent; height: 48px; margin: 4px 0 0; }
.mv-slider::-webkit-slider-runnable-track { height: 10px; border-radius: 5px; background: #2a3a5c; }
.mv-slider::-webkit-slider-thumb { -webkit-appearance: none; width: 40px; height: 40px; margin-top: -15px;
  border-radius: 50%; background: #56B4E9; border: 4px solid #fff; box-shadow: 0 0 10px rgba(0, 0, 0, 0.6); }
.mv-strip { pointer-events: none; height: 22px; }
.mv-label { font-size: 20px; }
.follow-pick, .follow-note { display: none !important; }  /* follow.js sets display inline */
.mv-label[data-actors], .mv-mark[data-actors] { pointer-events: none; cursor: default; }
"""

_controllers: weakref.WeakSet[KioskController] = weakref.WeakSet()
# wrong PINs: 5 within 5 min lock that browser's address for 60 s; 4 addresses locked at once lock every pad
PIN_GATE = PinGate(per_client=5, window_s=300.0, lockout_s=60.0, clients=4)
_server = {"operator": False}  # set by prepare(operator=True): `python app.py --kiosk`
_STARTED = time.time()


def kt(key: str, lang: str, **fmt) -> str:
    d = KIOSK_TEXT[key]
    s = d.get(lang) or d["en"]
    return s.format(**fmt) if fmt else s


def live_kiosk_pages() -> int:
    """How many kiosk pages this server holds (a leak check for the operator screen and the soak test)."""
    return len(_controllers)


class KioskView(JSComponent):
    """The kiosk page around the app's 3D view (``static/kiosk.js``). The browser keeps the wall clock."""

    stage = Child()
    settings = param.Dict(default={}, doc="KioskConfig.client_settings(): timeouts, tour, gesture (no PIN)")
    language = param.String(default="zh")
    texts = param.Dict(default={}, doc="Interface words of the kiosk, both languages")
    header = param.Dict(default={})
    chapters = param.List(default=[])
    active_chapter = param.String(default="")
    caption = param.Dict(default={})
    step = param.Integer(default=-1, doc="The tour step the server applied last")
    pong = param.Integer(default=0, doc="Heartbeat answer: the last ping number")
    pin_result = param.Dict(default={})
    operator = param.Dict(default={}, doc="Operator status; empty while the operator screen is locked")

    _esm = static_text("kiosk.js")
    _stylesheets = [static_text("kiosk.css")]

    def __init__(self, on_msg=None, **params):
        self._on_msg = on_msg
        super().__init__(**params)

    def _handle_msg(self, msg):
        if isinstance(msg, dict) and self._on_msg is not None:
            self._on_msg(msg)


class KioskController:
    """One kiosk page: applies the page's messages to the session's :class:`AppState`."""

    def __init__(self, app, config: KioskConfig):
        self.app = app
        self.state = app.state
        self.config = config
        self.client = client_address()
        self.mission = app.state.mission
        self._unlocked = False
        self._tour_caption = None
        m = self.mission
        self.state.language = config.default_language
        self.view = KioskView(
            on_msg=app._safe(self.on_msg),
            stage=app.view3d,
            settings=config.client_settings(),
            language=self.state.language,
            texts={**KIOSK_TEXT, **_app_words()},
            chapters=[{"id": c.id, "title": {"en": c.title.en, "zh": c.title.zh}} for c in m.chapters],
            sizing_mode="stretch_both",
        )
        app.view3d.stylesheets = list(app.view3d.stylesheets) + [VIEW_CSS]
        self.state.param.watch(app._safe(self._on_words), ["et", "phase", "language"])
        self._on_words()
        _controllers.add(self)

    # ------------------------------------------------------------------------------------------ messages
    def on_msg(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "ping":
            self.view.pong = int(msg.get("n", 0))
        elif kind == "tour_step":
            self.play_step(int(msg.get("index", 0)))
        elif kind == "attract":
            self.state.language = self.config.default_language
            self._lock()
            self.play_step(0)
        elif kind == "active":
            self._tour_caption = None
            self._on_words()
        elif kind == "chapter":
            self.jump_chapter(str(msg.get("id", "")))
        elif kind == "language":
            lang = str(msg.get("lang", ""))
            if lang in self.state.param.language.objects:
                self.state.language = lang
        elif kind == "pin":
            self.check_pin(str(msg.get("pin", "")))
        elif kind == "operator":
            self.operator_action(str(msg.get("action", "")))

    def play_step(self, index: int) -> None:
        """Start tour step ``index``: its view, time and speed, playing, with the camera at the view's preset."""
        steps = self.config.tour.steps
        step = steps[index % len(steps)]
        self.app.story.go(step.from_et, step.view, speed=step.speed, playing=True)  # the story's view while it is on
        self._tour_caption = step.caption
        self.view.step = index % len(steps)
        self._on_words()

    def jump_chapter(self, chapter_id: str) -> None:
        """A chapter button: go to the chapter's start in its view, playing at the chapter's tour speed."""
        try:
            chapter = self.mission.chapter(chapter_id)
        except KeyError:
            raise ViewerError(f"no chapter called {shown(chapter_id)}") from None
        step = self.config.tour.step_for_chapter(chapter_id)
        s = self.state
        view = step.view if step is not None else s.view
        speed = step.speed if step is not None else s.speed
        self.app.story.go(chapter.start_et, view, speed=speed, playing=True)  # the story's view while it is on
        self._tour_caption = None
        self._on_words()

    # ------------------------------------------------------------------------------------------ words
    def _on_words(self, *events) -> None:
        s = self.state
        lang = s.language
        m = self.mission
        chapter = m.chapter_at(s.et)
        chapters = [c.id for c in m.chapters]
        cap = s.caption()
        out = {"lang": lang}
        if chapter is not None:
            out["kicker"] = kt("chapter_n", lang, n=chapters.index(chapter.id) + 1, total=len(chapters))
            out["chapter"] = chapter.title[lang]
        if self._tour_caption is not None:
            out["title"] = out.get("chapter", "")
            out["text"] = self._tour_caption[lang]
        elif cap["phase"]:
            p = cap["phase"]
            out.update(title=p["title"], text=p["caption"], grade=p["grade"], grade_label=t(p["grade"], lang))
        if cap["event"] and self._tour_caption is None:
            e = cap["event"]
            out.update(
                event_title=e["title"],
                event_text=e["caption"],
                event_grade=e["grade"],
                event_grade_label=t(e["grade"], lang),
            )
        self.view.param.update(
            language=lang,
            caption=out,
            active_chapter=chapter.id if chapter is not None else "",
            header=header_words(m, lang),
        )

    # ------------------------------------------------------------------------------------------ operator
    def check_pin(self, pin: str) -> None:
        lang = self.state.language
        n = self.view.pin_result.get("n", 0) + 1
        if not _server["operator"]:
            log.warning("kiosk: a PIN was refused: this server was not started with --kiosk")
            self.view.pin_result = {"n": n, "ok": False, "message": kt("operator_off", lang)}
            return
        try:
            PIN_GATE.check(pin, self.config.pin, self.client)
        except RoomError as err:  # a wrong PIN, or this client (or, after many, every client) locked out
            self.view.pin_result = {"n": n, "ok": False, "message": kt(err.key, lang, **err.fmt)}
            return
        log.info("kiosk: operator screen unlocked")
        self._unlocked = True
        self.view.pin_result = {"n": n, "ok": True, "message": ""}
        self.view.operator = self.status()

    def _lock(self) -> None:
        self._unlocked = False
        if self.view.operator:
            self.view.operator = {}

    def status(self) -> dict:
        """Lines for the operator screen (only sent once the PIN was right)."""
        proc = psutil.Process()
        cfg = self.config
        lang = self.state.language
        zh = lang == "zh"
        up = time.time() - proc.create_time()
        rows = [
            ("版本" if zh else "Version", __version__),
            ("运行时间" if zh else "Server up for", _duration(up, zh)),
            ("服务器内存" if zh else "Server memory (RSS)", f"{proc.memory_info().rss / 2**20:.0f} MB"),
            ("展项页面" if zh else "Kiosk pages open", str(live_kiosk_pages())),
            ("设置文件" if zh else "Settings file", str(cfg.path)),
            ("空闲等待" if zh else "Idle timeout", f"{cfg.idle_timeout_s:g} s"),
            ("倒计时" if zh else "Countdown", f"{cfg.countdown_s:g} s"),
            ("默认语言" if zh else "Default language", cfg.default_language),
            (
                "导览" if zh else "Guided tour",
                f"{len(cfg.tour.steps)} 步，{cfg.tour.total_s:g} 秒"
                if zh
                else f"{len(cfg.tour.steps)} steps, {cfg.tour.total_s:g} s",
            ),
        ]
        if not exit_allowed(cfg):
            rows.append(("退出" if zh else "Exit", "已关闭" if zh else "off"))
        if cfg.overrides:
            rows.append(("环境覆盖" if zh else "Env overrides", ", ".join(cfg.overrides)))
        return {"title": kt("operator", lang), "rows": rows, "n": time.monotonic()}

    def operator_action(self, action: str) -> None:
        if action == "lock":
            self._lock()
            return
        if not self._unlocked or not _server["operator"]:
            log.warning("kiosk: operator action %r refused: the operator screen is locked", action)
            return
        if action == "refresh":
            self.view.operator = self.status()
        elif action == "exit" and not exit_allowed(self.config):
            log.warning("kiosk: Exit refused: the operator PIN is still the shipped default")
            self.view.operator = {**self.status(), "stopping": kt("exit_off", self.state.language)}
        elif action == "exit":
            log.warning("kiosk: the operator stopped the app")
            self.view.operator = {**self.status(), "stopping": kt("exit_done", self.state.language)}
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()


def _duration(seconds: float, zh: bool) -> str:
    d, rem = divmod(int(seconds), 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    return f"{d} 天 {h} 小时 {m} 分" if zh else f"{d} d {h} h {m} min"


def _app_words() -> dict:
    return {k: TEXT[k] for k in ("sourced", "derived", "assumed") if k in TEXT}


load_config = LastGood(lambda: load_kiosk_config(), log, "kiosk settings")
"""The kiosk settings, read again for each new page so an edit shows on the next reload.

``python app.py --kiosk`` checks the file before serving (a broken file stops the start with one line). A file
broken later, while the kiosk runs, is logged and the last good settings stay in use: the exhibit keeps going.
"""


def exit_allowed(cfg: KioskConfig) -> bool:
    """The operator's Exit stops the server only on a kiosk server whose PIN is not the public default."""
    return _server["operator"] and cfg.pin != SHIPPED_PIN


def prepare(operator: bool = False) -> KioskConfig:
    """Before serving a kiosk: check the settings; a broken file stops the start with one line. ``operator``: this
    server (``python app.py --kiosk``) runs operator actions; with the shipped PIN, all but Exit, and it says so."""
    cfg = load_config()
    log.info("kiosk: %r%s", cfg, f" (overrides: {', '.join(cfg.overrides)})" if cfg.overrides else "")
    _server["operator"] = operator
    if operator and cfg.pin == SHIPPED_PIN:
        print(
            f"warning: {cfg.path}: operator.pin is still the shipped default, so the operator's Exit is off; "
            'set your own PIN there (4 to 12 digits, in quotes, e.g. pin: "583014") and restart',
            file=sys.stderr,
            flush=True,
        )
    return cfg


def header_words(mission, lang: str) -> dict:
    """The kiosk header's words: title, subtitle, and the note (the reconstructed trajectory, then what the
    landing site's ground is, e.g. "Ground: LOLA 512 px/deg, 59 m")."""
    from viewer.ui import shared

    note = mission.note[lang]
    ground = shared.ground(lang).get("text", "")
    return {
        "title": t("title", lang),
        "subtitle": t("subtitle", lang),
        "note": f"{note}  ·  {ground}" if ground else note,
    }


def build_layout(app):
    """The kiosk layout of ``app`` (a :class:`~viewer.ui.app.MissionApp` with ``state.kiosk``)."""
    controller = KioskController(app, load_config())
    app._kiosk = controller
    if pn.state.curdoc is not None:  # the kiosk shows its own bilingual "reconnecting" screen (kiosk.js hides
        pn.state.curdoc.config.notify_connection_status = False  # Panel's English toast too)
    return pn.Column(
        controller.view,
        sizing_mode="stretch_both",
        margin=0,
        styles={"background": "#03050b"},
        css_classes=["ce6-kiosk"],
    )
