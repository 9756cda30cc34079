"""The museum kiosk in headless Chromium (the kiosk's acceptance list).

One kiosk server (``python app.py --kiosk`` in a subprocess on a free 127.0.0.1 port, short idle timeout and tour
steps from a test copy of assets/kiosk.yaml) and one page serve the module, in this order: offline and locked
down, Chinese texts, operator PIN, idle cycle, soak (10,000 random inputs, server RSS), reconnect (kills and
restarts the server). Every wait is bounded; the server is always killed.

This machine renders WebGL on the CPU (SwiftShader) next to other jobs, so the page answers the server in
hundreds of milliseconds while it plays; the waits below allow for that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
import yaml
from conftest import _missing
from kiosk_dom import interactive_elements, latin_words, visible_text

REPO = Path(__file__).resolve().parents[1]
BOOT_TIMEOUT_S = 180
IDLE_S, COUNTDOWN_S, STEP_S = 5, 3, 6
READY_JS = (
    "() => !!(window.__ce6kiosk && window.__ce6kiosk.ready && window.__ce6 && window.__ce6.bound "
    "&& window.__ce6kiosk.step >= 0)"
)
# software WebGL (SwiftShader) renders every camera move on the CPU: a 1024 x 576 window keeps 10,000 inputs within
# the test budget. The window never changes size (a kiosk's does not; resizing after a scene change trips Panel's
# vtk.js resize handler on the deleted render window)
VIEWPORT = {"width": 1024, "height": 576}
SOAK_EVENTS = 10_000
SOAK_WARMUP = 2_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py --kiosk`` on one port; can be killed and started again on the same port."""

    def __init__(self, port: int, env: dict, log_path: Path):
        self.port = port
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}/"

    def start(self) -> float:
        """Start and wait until the page answers; returns the seconds it took."""
        t0 = time.monotonic()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "app.py"), "--kiosk", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"the kiosk server exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                with urlopen(self.url + "static/js/bokeh.min.js", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - t0
            except OSError:
                pass
            if time.monotonic() - t0 > BOOT_TIMEOUT_S:
                pytest.fail(f"the kiosk server did not answer within {BOOT_TIMEOUT_S} s:\n{self.log()[-3000:]}")
            time.sleep(0.3)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def kiosk_config(tmp_path_factory) -> Path:
    """The shipped settings with short tour steps (the timeouts come from the env overrides)."""
    data = yaml.safe_load((REPO / "assets" / "kiosk.yaml").read_text(encoding="utf-8"))
    for step in data["attract_tour"]:
        step["duration_s"] = STEP_S
    path = tmp_path_factory.mktemp("kiosk") / "kiosk.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(kiosk_config, tmp_path_factory):
    from viewer import kernels

    if not kernels.mission_kernels():
        _missing("the mission kernels are not built (python -m viewer kernels build)")
    port = _free_port()
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        VIEWER_KIOSK_CONFIG=str(kiosk_config),
        VIEWER_KIOSK_IDLE_S=str(IDLE_S),
        VIEWER_KIOSK_COUNTDOWN_S=str(COUNTDOWN_S),
    )
    srv = Server(port, env, tmp_path_factory.mktemp("kiosk-log") / "server.log")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        srv.kill()


class KioskPage:
    """The kiosk page, with its console errors, the URLs it asked for and whether the PIN ever reached it."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport=VIEWPORT, has_touch=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.pin_seen: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e} | {(e.stack or '')[:300]}"))
        self.page.route("**/*", self._route)
        self.page.on("websocket", self._watch_ws)
        self.page.goto(url)
        self.wait(READY_JS, 120)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:  # offline: nothing may come from a CDN or anywhere else
            self.foreign_requests.append(url)
            route.abort()

    def _watch_ws(self, ws):
        pin = f'"{PIN}"'  # as a JSON string: the digits alone turn up inside coordinates

        def received(payload):
            if isinstance(payload, str) and pin in payload:
                self.pin_seen.append(payload[:200])

        ws.on("framereceived", received)

    def js(self, expr: str):
        return self.page.evaluate(expr)

    def k(self, key: str):
        return self.page.evaluate(f"() => window.__ce6kiosk && window.__ce6kiosk[{key!r}]")

    def wait(self, predicate_js: str, timeout_s: float, keep_awake: bool = False, what: str = ""):
        """Poll ``predicate_js`` (survives a reload); with ``keep_awake``, a Shift key press every second."""
        deadline = time.monotonic() + timeout_s
        last_key = 0.0
        while True:
            try:
                value = self.page.evaluate(predicate_js)
            except Exception:  # noqa: BLE001 - the page is reloading
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout_s:g} s for {what or predicate_js}; kiosk state {self.state()}")
            if keep_awake and time.monotonic() - last_key > 1.0:
                self.page.keyboard.press("Shift")
                last_key = time.monotonic()
            self.page.wait_for_timeout(250)

    def state(self) -> dict:
        try:
            return self.page.evaluate(
                "() => { const k = window.__ce6kiosk || {}; return {mode: k.mode, "
                "overlay: k.overlay, step: k.step, loads: k.loads, lost: k.lost, "
                "rtt: k.rtt, ping: k.ping, pong: k.pong}; }"
            )
        except Exception as exc:  # noqa: BLE001
            return {"error": str(exc)[:100]}

    def text_of(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def close(self):
        self.context.close()


PIN = None


@pytest.fixture(scope="module")
def kiosk(server, browser):
    global PIN
    from viewer.ui.kiosk_config import load_kiosk_config

    PIN = load_kiosk_config(server.env["VIEWER_KIOSK_CONFIG"]).pin
    p = KioskPage(browser, server.url)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def mission():
    from viewer.mission import load_mission

    return load_mission()


def _tap_chapter(kiosk, mission, index: int, lang: str = "zh") -> None:
    chapter = mission.chapters[index]
    kiosk.page.locator(f".k-chapter[data-chapter='{chapter.id}']").click()
    want = chapter.title[lang]
    kiosk.wait(_caption_is(want), 40, keep_awake=True, what=f"the caption of chapter {chapter.id}")


def _caption_is(text: str) -> str:
    return f"() => window.__ce6kiosk.captionChapter() === {text!r}"


# ---------------------------------------------------------------------------------------------------- tests
def test_opens_offline_in_the_attract_loop_without_errors(kiosk, mission):
    assert kiosk.foreign_requests == []
    assert kiosk.k("mode") == "attract"
    assert kiosk.page.locator(".k-hint").is_visible()
    # the page opens in the default language, telling the chapters of the tour
    titles = [c.title.zh for c in mission.chapters]
    kiosk.wait(f"() => {titles!r}.includes(window.__ce6kiosk.captionChapter())", 30, what="a chapter caption")
    assert kiosk.text_of(".k-title") == mission.name.zh
    assert kiosk.errors == []


def test_locked_down_big_touch_targets_and_no_file_export_or_settings(kiosk, mission):
    from viewer.ui.i18n import TEXT

    els = interactive_elements(kiosk.page)
    small = [e for e in els if e["w"] < 48 or e["h"] < 48]
    assert small == [], f"touch targets under 48 px: {small}"
    assert not any(e["download"] or e["type"] == "file" or e["tag"] == "select" for e in els), els
    shown = " ".join(e["text"] for e in els)
    forbidden = [
        TEXT[k][lang]
        for k in (
            "screenshot",
            "export_phase",
            "section_files",
            "section_layers",
            "section_view",
            "reset_camera",
            "all_sources",
        )
        for lang in ("en", "zh")
    ]
    assert not any(word in shown for word in forbidden), shown
    body = kiosk.page.locator("body").inner_text() + " ".join(visible_text(kiosk.page, "zh")[0])
    assert not any(word in body for word in forbidden)
    chapters = [b["text"] for b in els if "k-chapter" in b["cls"]]
    assert [c.split("\n")[-1] for c in chapters] == [c.title.zh for c in mission.chapters]
    assert {"中文", "English"} <= {e["text"] for e in els}


def test_chinese_mode_shows_no_english_apart_from_proper_names(kiosk, mission):
    assert kiosk.k("mode") in ("attract", "active", "countdown")
    seen = set()
    for i in range(len(mission.chapters)):
        _tap_chapter(kiosk, mission, i)
        kiosk.page.wait_for_timeout(400)
        texts, foreign = visible_text(kiosk.page, "zh")
        bad = latin_words(texts, mission.proper_names)
        assert bad == [], f"chapter {mission.chapters[i].id}: English left in Chinese mode: {bad}"
        assert foreign == ["English"]
        seen.update(texts)
    assert any(c.title.zh in seen for c in mission.chapters)
    # the English side really is English (so the scan above can fail)
    kiosk.page.locator(".k-lang-btn[data-lang='en']").click()
    kiosk.wait(_caption_is(mission.chapters[-1].title["en"]), 40, keep_awake=True, what="English captions")
    texts, _ = visible_text(kiosk.page, "en")
    assert len(latin_words(texts, mission.proper_names)) > 20
    kiosk.page.locator(".k-lang-btn[data-lang='zh']").click()
    kiosk.wait(_caption_is(mission.chapters[-1].title["zh"]), 40, keep_awake=True, what="Chinese captions")
    assert kiosk.errors == []


def test_operator_screen_needs_the_gesture_and_the_pin(kiosk):
    page = kiosk.page
    # the key combination opens the PIN pad; a wrong PIN is refused by the server
    page.keyboard.press("Control+Alt+Shift+O")
    kiosk.wait("() => window.__ce6kiosk.overlay === 'pin'", 5, what="the PIN pad")
    wrong = "0000" if PIN != "0000" else "1111"
    for d in wrong:
        page.locator(f".k-key[data-key='{d}']").click()
    page.locator(".k-key-ok").click()
    kiosk.wait(
        "() => window.__ce6kiosk.text('.k-pin-msg') === '密码错误。'", 30, keep_awake=True, what="the wrong-PIN message"
    )
    assert kiosk.k("overlay") == "pin"
    page.locator(".k-pin-cancel").click()
    assert kiosk.k("overlay") in (None, "")
    # five taps in the top-left corner open it too; the right PIN opens the operator screen
    for _ in range(5):
        page.mouse.click(12, 12)
    kiosk.wait("() => window.__ce6kiosk.overlay === 'pin'", 5, what="the PIN pad from corner taps")
    for d in PIN:
        page.keyboard.press(d)
    page.locator(".k-key-ok").click()
    kiosk.wait("() => window.__ce6kiosk.overlay === 'operator'", 30, keep_awake=True, what="the operator screen")
    rows = page.locator(".k-op-rows").inner_text()
    assert "MB" in rows and "kiosk.yaml" in rows
    assert page.locator(".k-op-exit").is_visible()
    page.locator(".k-op-resume").click()
    assert kiosk.k("overlay") in (None, "")
    # the PIN never travelled from the server to the page
    assert kiosk.pin_seen == []
    with urlopen(kiosk.page.url, timeout=10) as r:
        assert f'"{PIN}"'.encode() not in r.read()


def test_idle_shows_the_countdown_then_the_attract_loop_and_a_tap_stops_it(kiosk, mission):
    page = kiosk.page
    page.mouse.click(400, 300)  # the 3D view
    kiosk.wait("() => window.__ce6kiosk.mode === 'active'", 5, what="active mode after a tap")
    t0 = time.monotonic()
    kiosk.wait("() => window.__ce6kiosk.mode === 'countdown'", IDLE_S + 10, what="the countdown")
    assert time.monotonic() - t0 >= IDLE_S - 1.5
    assert page.locator(".k-countdown").is_visible()
    number = int(page.locator(".k-count-num").inner_text())
    assert 1 <= number <= COUNTDOWN_S
    assert page.locator(".k-count-title").inner_text() == "还在看吗？"
    n_log = kiosk.js("() => window.__ce6kiosk.chapterLog.length")
    kiosk.wait("() => window.__ce6kiosk.mode === 'attract'", COUNTDOWN_S + 10, what="the attract loop")
    assert time.monotonic() - t0 >= IDLE_S + COUNTDOWN_S - 1.5
    assert not page.locator(".k-countdown").is_visible()
    assert page.locator(".k-hint").is_visible()
    # back in the default language at the start of the tour, and the tour moves on by itself
    first, second = mission.chapters[0].id, mission.chapters[1].id
    kiosk.wait(
        f"() => {{ const l = window.__ce6kiosk.chapterLog.slice({n_log}); const i = l.indexOf({first!r}); "
        f"return i >= 0 && l.indexOf({second!r}, i) > i; }}",
        2 * STEP_S + 20,
        what="the tour's first two chapters, in order",
    )
    assert page.locator(".k-hint").is_visible()
    # a tap hands control over: the tour stops stepping
    page.mouse.click(400, 300)
    kiosk.wait("() => window.__ce6kiosk.mode === 'active'", 5, what="active mode after a tap")
    steps1 = kiosk.js("() => window.__ce6kiosk.counts.steps")
    deadline = time.monotonic() + STEP_S + 2
    while time.monotonic() < deadline:
        page.keyboard.press("Shift")  # someone is still using it
        page.wait_for_timeout(500)
    assert kiosk.js("() => window.__ce6kiosk.counts.steps") == steps1
    assert kiosk.k("mode") == "active"
    assert not page.locator(".k-hint").is_visible()
    assert kiosk.errors == []


SOAK_JS = """
async ([n, seed]) => {
  let s = seed >>> 0;
  const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
  const W = innerWidth, H = innerHeight;
  const deep = (x, y) => { let el = document.elementFromPoint(x, y);
    while (el && el.shadowRoot) { const inner = el.shadowRoot.elementFromPoint(x, y); if (!inner || inner === el) break; el = inner; }
    return el || document.body; };
  const KEYS = ["ArrowLeft", "ArrowRight", " ", "a", "Enter", "Tab", "Escape", "1", "5", "Shift"];
  const opt = (x, y, extra) => Object.assign({bubbles: true, composed: true, cancelable: true, clientX: x, clientY: y,
                                            pointerId: 1, isPrimary: true, pointerType: "touch"}, extra || {});
  let done = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.floor(rnd() * W), y = Math.floor(rnd() * H), r = rnd();
    const t = deep(x, y);
    if (t.closest && t.closest(".k-chapters, .k-lang")) { i--; continue; }  // scene changes: trusted input only
    if (r < 0.55) {
      t.dispatchEvent(new PointerEvent("pointerdown", opt(x, y, {buttons: 1})));
      t.dispatchEvent(new MouseEvent("mousedown", opt(x, y, {buttons: 1})));
      t.dispatchEvent(new PointerEvent("pointerup", opt(x, y)));
      t.dispatchEvent(new MouseEvent("mouseup", opt(x, y)));
      t.dispatchEvent(new MouseEvent("click", opt(x, y)));
    } else if (r < 0.75) {
      const touch = new Touch({identifier: i, target: t, clientX: x, clientY: y});
      t.dispatchEvent(new TouchEvent("touchstart", {bubbles: true, composed: true, cancelable: true, touches: [touch], changedTouches: [touch]}));
      t.dispatchEvent(new TouchEvent("touchend", {bubbles: true, composed: true, cancelable: true, touches: [], changedTouches: [touch]}));
    } else if (r < 0.88) {
      const key = KEYS[Math.floor(rnd() * KEYS.length)];
      const target = document.activeElement || document.body;
      target.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, composed: true, cancelable: true}));
      target.dispatchEvent(new KeyboardEvent("keyup", {key, bubbles: true, composed: true, cancelable: true}));
    } else if (r < 0.94) {
      t.dispatchEvent(new WheelEvent("wheel", opt(x, y, {deltaY: (rnd() - 0.5) * 400})));
    } else {
      t.dispatchEvent(new PointerEvent("pointerdown", opt(x, y, {buttons: 1})));
      t.dispatchEvent(new PointerEvent("pointermove", opt(x + 30, y + 18, {buttons: 1})));
      t.dispatchEvent(new PointerEvent("pointerup", opt(x + 30, y + 18)));
    }
    done++;
  }
  return done;
}
"""


def test_soak_10000_random_inputs_no_errors_and_server_memory_flat(kiosk, server):
    import random

    page = kiosk.page
    rng = random.Random(11)
    # accelerated: a burst of synthetic events, a few trusted ones from Playwright, then a pause in which the page
    # and the server work through the consequences (time jumps, camera moves, captions). Chapter and language
    # buttons change the scene (throttled to one per 1.5 s, each seconds of software rendering here): only the
    # trusted inputs press them, about one a batch
    batch = 250
    real_per_batch = 4
    pause_ms = 500
    sent = 0
    rss = {}
    t0 = time.monotonic()
    while sent < SOAK_EVENTS:
        n = min(batch - real_per_batch, SOAK_EVENTS - sent)
        sent += page.evaluate(SOAK_JS, [n, rng.randrange(2**31)])
        for _ in range(min(real_per_batch, SOAK_EVENTS - sent)):
            x, y = rng.randrange(VIEWPORT["width"]), rng.randrange(VIEWPORT["height"])
            kind = rng.random()
            if kind < 0.4:
                page.mouse.click(x, y)
            elif kind < 0.8:
                page.touchscreen.tap(x, y)
            else:
                page.keyboard.press(rng.choice(["ArrowRight", "ArrowLeft", "Space"]))
            sent += 1
        page.wait_for_timeout(pause_ms)
        if "warm" not in rss and sent >= SOAK_WARMUP:
            page.wait_for_timeout(4000)
            rss["warm"] = server.rss()
        assert time.monotonic() - t0 < 600, (
            f"the soak is stuck: {sent} events in 600 s"
        )  # a hang guard, not a speed goal
    soak_s = time.monotonic() - t0
    # let the page and the server settle, then the page must still answer its heartbeat
    page.wait_for_timeout(8000)
    ping = kiosk.js("() => window.__ce6kiosk.ping")
    kiosk.wait(f"() => window.__ce6kiosk.pong >= {ping} && !window.__ce6kiosk.lost", 60, what="a heartbeat answer")
    rss["end"] = server.rss()
    growth = rss["end"] / rss["warm"] - 1
    print(
        f"soak: {sent} events in {soak_s:.0f} s; server RSS {rss['warm'] / 2**20:.0f} MB after warm-up, "
        f"{rss['end'] / 2**20:.0f} MB at the end ({100 * growth:+.1f} %); page loads {kiosk.k('loads')}"
    )
    assert sent == SOAK_EVENTS
    assert kiosk.errors == [], kiosk.errors[:10]
    # the connection held throughout: the watchdog never judged it lost (a reload would restart the attract loop
    # in front of a visitor)
    assert kiosk.k("loads") == 1, f"the page reloaded during the soak (watchdog reason {kiosk.k('reloadReason')!r})"
    assert growth <= 0.05, f"server RSS grew {100 * growth:.1f} % after warm-up"
    assert "Traceback" not in server.log()


def test_a_restarted_server_brings_the_kiosk_back_by_itself(kiosk, server):
    page = kiosk.page
    loads = kiosk.k("loads")
    server.kill()
    kiosk.wait("() => window.__ce6kiosk.overlay === 'offline'", 20, what="the reconnecting screen")
    assert kiosk.k("loads") == loads
    assert kiosk.js("() => window.__ce6kiosk.text('.k-off-title')") in (
        "正在重新连接展项…",
        "Reconnecting to the exhibit…",
    )
    page.locator(".k-offline").wait_for(state="visible", timeout=10_000)
    up_s = server.start()
    t_up = time.monotonic()
    kiosk.wait(
        f"() => !!(window.__ce6kiosk && window.__ce6kiosk.loads === {loads + 1}) && ({READY_JS[6:]})",
        90,  # a reload rebuilds the page and its scene: seconds on a quiet machine, tens under a loaded CI
        what="the kiosk back after the restart",
    )
    back_s = time.monotonic() - t_up
    print(f"reconnect: server up again in {up_s:.0f} s, kiosk back {back_s:.1f} s later")
    assert kiosk.k("reloadReason") in ("websocket", "heartbeat")
    assert kiosk.k("mode") == "attract"
    # while the server was away: refused probes and Bokeh's "not connected" lines are expected, page errors are not
    outage = ("ERR_CONNECTION_REFUSED", "not connected", "WebSocket")
    assert [e for e in kiosk.errors if not any(o in e for o in outage)] == []
