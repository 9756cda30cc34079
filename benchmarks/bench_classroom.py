"""Classroom load: one leader (headless Chromium) and N followers (Bokeh client sessions, the web app's own
protocol) for a while; prints the latency from the leader's action to the followers' state, the server's memory
per follower and the errors.

    .venv/bin/python benchmarks/bench_classroom.py [--followers 30] [--seconds 120] [--port 0]

A follower session is a real server session of the app (``/?follow=CODE``): the server builds its MissionApp and
relays the leader's changes to it exactly as to a browser; the client only receives the document patches, so the
figures measure the server and the protocol, not 30 WebGL pages on this machine's CPU. The latency is the time from
the leader's click (a phase jump in the page) to the moment a follower's client receives the new time.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import urlopen

import psutil

REPO = Path(__file__).resolve().parents[1]
PIN = "468213"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
JUMPS = ["Landing", "Coasting home", "Lunar orbit", "Earth return"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not answer")


def _register_panel_models() -> None:
    """Import every Panel model module, so the client can read the app's documents."""
    import importlib
    import pkgutil

    import panel.models

    for mod in pkgutil.walk_packages(panel.models.__path__, "panel.models."):
        try:
            importlib.import_module(mod.name)
        except ImportError:
            continue  # an optional model (its extra package is not installed)
    importlib.import_module("viewer.ui.app")  # the app's own components define their data models on import


class Follower(threading.Thread):
    """One Bokeh client session of ``/?follow=CODE``; records when each new ``et`` arrives."""

    def __init__(self, url: str, code: str):
        super().__init__(daemon=True)
        self.url, self.code = url, code
        self.arrivals: list[tuple[float, float]] = []  # (wall time, et)
        self.error: str | None = None
        self.ready = threading.Event()
        self.session = None

    def run(self) -> None:
        from bokeh.client import pull_session

        _register_panel_models()

        try:
            self.session = pull_session(url=self.url, arguments={"follow": self.code})
            models = [m for m in self.session.document.models if "et" in m.properties() and "playing" in m.properties()]
            if not models:
                raise RuntimeError("no model with et in the follower's document")
            for m in models:
                m.on_change("et", lambda attr, old, new: self.arrivals.append((time.monotonic(), float(new))))
            self.ready.set()
            self.session._connection._loop.start()  # run this client's IO loop (patches arrive here)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports every failure as a figure
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    port = a.port or _free_port()
    env = dict(os.environ, VIEWER_TEACHER_PIN=PIN, PYTHONUNBUFFERED="1")
    srv = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    from playwright.sync_api import sync_playwright

    try:
        _wait_http(url, srv)
        proc = psutil.Process(srv.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "?t=2024-05-20T03:00:00Z")
            page.wait_for_function("() => !!(window.__ce6 && window.__ce6.bound)", timeout=120_000)
            page.locator("input[type=password]").fill(PIN)
            page.get_by_role("button", name="Lead a class").click()
            page.wait_for_timeout(1500)
            code = re.search(r"Room ([A-Z2-9]{6})", page.locator(".ce6-class-code").inner_text()).group(1)
            rss0 = proc.memory_info().rss
            followers = [Follower(url, code) for _ in range(a.followers)]
            for f in followers:
                f.start()
                f.ready.wait(120)
            time.sleep(2.0)
            rss1 = proc.memory_info().rss
            latencies, errors = [], [f.error for f in followers if f.error]
            t_end = time.monotonic() + a.seconds
            k = 0
            while time.monotonic() < t_end:
                name = JUMPS[k % len(JUMPS)]
                k += 1
                before = [len(f.arrivals) for f in followers]
                t0 = time.monotonic()
                page.get_by_role("button", name=re.compile(name)).first.click()
                deadline = t0 + 10
                while time.monotonic() < deadline and any(
                    len(f.arrivals) == b for f, b in zip(followers, before) if not f.error
                ):
                    time.sleep(0.02)
                for f, b in zip(followers, before):
                    if not f.error and len(f.arrivals) > b:
                        latencies.append(f.arrivals[b][0] - t0)
                    elif not f.error:
                        errors.append("a follower missed a jump")
                page.wait_for_timeout(3000)
            rss2 = proc.memory_info().rss
            browser.close()
        if errors:
            print(f"errors: {len(errors)}; first: {errors[0]}")
        lat = sorted(latencies) or [float("nan")]
        p95 = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
        print(f"followers {a.followers}, {k} leader jumps over {a.seconds:.0f} s")
        print(
            f"latency click -> follower state: median {statistics.median(lat) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms ({len(lat)} deliveries)"
        )
        print(
            f"server RSS: {rss0 / 2**20:.0f} MB with the leader, {rss1 / 2**20:.0f} MB with the followers "
            f"({(rss1 - rss0) / 2**20 / max(1, a.followers):.2f} MB per follower), {rss2 / 2**20:.0f} MB at the end"
        )
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    finally:
        os.killpg(srv.pid, 15)
        srv.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
