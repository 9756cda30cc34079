"""Web app benchmark: headless Chromium (Debian's, SwiftShader) against ``python app.py``.

Prints medians and p95 of:

- time to an interactive page (navigation -> the scene bound and its first frame drawn by the GPU), and the first payload's size
  (HTTP bodies + websocket frames until then; raw, and zlib-6 as an estimate of permessage-deflate on the wire);
- scrub step latency: a key press on the time slider -> the vtk.js render of the new time -> the frame drawn
  (a one-pixel read-back waits for the GPU) and the next animation frame (pixels on screen), timed inside the page;
- playback: frames per second, and websocket bytes per time step (both directions) with the server's messages;
- follow a spacecraft: a click on the orbiter's label -> the camera centred on it on its fine track (the window
  fetched from ``/vehicle_track``) and that frame drawn, timed inside the page, at FOLLOW_TIMES in the lunar view;
- server RSS: idle, after the first session, per additional session (5 open), and after 20 sessions opened and
  closed (relative to the level after the first).

    python benchmarks/bench_web.py [--sessions 20] [--loads 5] [--view system]

Targets (2-core machine, SwiftShader): interactive <= 3 s; first payload <= 5 MB; scrub step <= 100 ms median;
click -> following <= 300 ms; playback without a server round trip per frame and <= 1 kB websocket traffic per step; <= 30 MB RSS per extra
session; RSS after 20 sessions within 5 % of its level after the first.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from bench_classroom import rss_mb, settled_rss_mb  # the same RSS readings as the classroom benchmark
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_JS = "() => !!(window.__ce6 && window.__ce6.bound && window.__ce6.stats.renders > 0)"


def pct(values, q):
    return float(np.percentile(np.asarray(values, float), q)) if values else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    port = free_port()
    log = open(f"/tmp/bench-web-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    proc.log_path = log.name  # settled_rss_mb reads the app's session lines there
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited; see {log.name}")
        try:
            with urlopen(url, timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start")


class Traffic:
    """Bytes over HTTP and the websocket of one page."""

    def __init__(self, page):
        self.http = 0
        self.uncounted = 0
        self.ws_in = 0
        self.ws_out = 0
        self.ws_in_frames: list[bytes] = []
        self.keep = True
        page.on("requestfinished", self._finished)
        page.on("websocket", self._ws)

    def _finished(self, req):
        try:
            self.http += req.sizes()["responseBodySize"]
        except PlaywrightError:  # the request's body is gone (page navigated or closed): it is not counted
            self.uncounted += 1

    def _ws(self, ws):
        ws.on("framereceived", self._recv)
        ws.on("framesent", lambda f: setattr(self, "ws_out", self.ws_out + len(f)))

    def _recv(self, f):
        data = f.encode() if isinstance(f, str) else f
        self.ws_in += len(data)
        if self.keep:
            self.ws_in_frames.append(data)

    def compressed_estimate(self) -> int:
        return sum(len(zlib.compress(f, 6)) for f in self.ws_in_frames)


def open_page(browser, url, capture: bool = True):
    """A new page (its own context: nothing cached) until interactive; ``capture`` counts its traffic (Playwright
    then copies every websocket frame to Python, which competes with the browser for the two cores)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    traffic = Traffic(page) if capture else None
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(READY_JS, timeout=120_000, polling=50)
    page.evaluate(DRAWN_JS)  # the first frame's GL work done, not only queued
    return page, traffic, time.perf_counter() - t0


GL_FINISH = """
  const rw = window.__ce6.bound.renWin;
  const cv = (rw.getApiSpecificRenderWindow || rw.getOpenGLRenderWindow).call(rw).getCanvas();
  const gl = cv.getContext("webgl2") || cv.getContext("webgl");
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
"""
DRAWN_JS = "() => {" + GL_FINISH + "}"

SCRUB_JS = (
    """async () => {
  const c = window.__ce6;
  const before = c.stats.renders;
  const t0 = performance.now();
  document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
  while (c.stats.renders === before) { await new Promise(r => requestAnimationFrame(r)); }
  const tRender = c.stats.lastRender - t0;
  // vtk.js only queues the GL work: reading one pixel back waits until the GPU (SwiftShader) has drawn the frame
  """
    + GL_FINISH
    + """
  const tDrawn = performance.now() - t0;
  await new Promise(r => requestAnimationFrame(r));
  return [tRender, Math.max(tDrawn, performance.now() - t0)];
}"""
)


FOLLOW_JS = (
    """async (actor) => {
  const c = window.__ce6, f = c.follow;
  const el = c.labelLayer.querySelector(`[data-actors~="${actor}"]`);
  if (!el) return null;
  const t0 = performance.now();
  el.click();
  while (!(f.state.following && f.state.following.centredAt !== null)) {
    await new Promise(r => requestAnimationFrame(r));
    if (performance.now() - t0 > 10000) return null;
  }
  """
    + GL_FINISH
    + """
  const ms = performance.now() - t0;
  f.stop();
  return ms;
}"""
)
# lunar-orbit moments 5 h 17 min apart (each in a window the server has not computed yet); a click is timed at the
# first of them where the orbiter's label is on screen (not behind the Moon)
FOLLOW_START_UTC, FOLLOW_GAP_S = "2024-05-10T06:00:00Z", 5 * 3600 + 17 * 60


def follow_latency(browser, url: str, clicks: int) -> list[float]:
    """Milliseconds from a click on the orbiter's label to the first frame drawn following it, per click."""
    out = []
    page, _, _ = open_page(browser, url + f"?view=lunar&t={FOLLOW_START_UTC}", capture=False)
    page.wait_for_timeout(1000)
    for _ in range(6 * clicks):
        if len(out) >= clicks:
            break
        page.evaluate(f"() => window.__ce6.setTime(window.__ce6.clock.et + {FOLLOW_GAP_S})")
        page.wait_for_timeout(1500)  # the server has heard of the new time
        ms = page.evaluate(FOLLOW_JS, "orbiter")
        if ms is not None:
            out.append(ms)
        page.wait_for_timeout(300)
    page.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--play-s", type=float, default=6.0)
    ap.add_argument("--follow", type=int, default=8, help="clicks on a label to time (follow a spacecraft)")
    ap.add_argument("--view", default=None, help="view for the scrub/playback runs (default: the app's default)")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    proc, url = start_server()
    print(f"server ready in {time.perf_counter() - t_start:.1f} s at {url}")
    results = {}
    try:
        idle = rss_mb(proc.pid)
        results["rss_idle_mb"] = idle
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # --- interactive time and first payload
            times, payload, payload_z = [], [], []
            first_rss = None
            # the first load counts the bytes; the others are timed without listening to the traffic
            for i in range(args.loads + 1):
                page, tr, dt = open_page(browser, url, capture=i == 0)
                if i == 0:
                    payload.append(tr.http + tr.ws_in)
                    payload_z.append(tr.http + tr.compressed_estimate())
                    page.wait_for_timeout(500)
                    first_rss = rss_mb(proc.pid)
                else:
                    times.append(dt)
                page.close()
            results["interactive_s"] = (pct(times, 50), pct(times, 95))
            results["first_payload_mb"] = (pct(payload, 50) / 1e6, pct(payload_z, 50) / 1e6)
            # --- scrub steps and playback on one page
            q = f"?view={args.view}" if args.view else ""
            page, tr, _ = open_page(browser, url + q)
            tr.keep = False
            page.wait_for_timeout(1000)
            page.evaluate(
                "() => window.__ce6.setTime(window.__ce6.model.t0 + 0.5 * (window.__ce6.model.t1 - "
                "window.__ce6.model.t0))"
            )
            page.wait_for_timeout(500)
            render_ms, pixel_ms = [], []
            for _ in range(args.steps):
                a, b = page.evaluate(SCRUB_JS)
                render_ms.append(a)
                pixel_ms.append(b)
                page.wait_for_timeout(120)
            results["scrub_render_ms"] = (pct(render_ms, 50), pct(render_ms, 95))
            results["scrub_pixels_ms"] = (pct(pixel_ms, 50), pct(pixel_ms, 95))
            page.wait_for_timeout(1500)
            ws0, wo0 = tr.ws_in, tr.ws_out
            r0 = page.evaluate("() => window.__ce6.stats.renders")
            page.evaluate("() => window.__ce6.setPlaying(true)")
            page.wait_for_timeout(int(args.play_s * 1000))
            page.evaluate("() => window.__ce6.setPlaying(false)")
            r1 = page.evaluate("() => window.__ce6.stats.renders")
            page.wait_for_timeout(300)
            frames = max(r1 - r0, 1)
            results["playback_fps"] = frames / args.play_s
            results["ws_bytes_per_step"] = (tr.ws_in - ws0 + tr.ws_out - wo0) / frames
            results["ws_bytes_playback_total"] = tr.ws_in - ws0 + tr.ws_out - wo0
            page.close()
            # --- follow a spacecraft: click -> following
            follow_ms = follow_latency(browser, url, args.follow)
            results["follow_ms"] = (pct(follow_ms, 50), pct(follow_ms, 95), len(follow_ms))
            # --- RSS per additional session: 5 open at once
            pages = []
            base = rss_mb(proc.pid)
            for _ in range(5):
                pg, _, _ = open_page(browser, url, capture=False)
                pages.append(pg)
            time.sleep(1)
            five = rss_mb(proc.pid)
            for pg in pages:
                pg.close()
            results["rss_first_session_mb"] = first_rss
            results["rss_per_extra_session_mb"] = (five - base) / 5
            # --- churn: N sessions open and close (each level once the server has dropped every closed session)
            after_first = settled_rss_mb(proc.pid, proc.log_path)
            for _ in range(args.sessions):
                pg, _, _ = open_page(browser, url, capture=False)
                pg.close()
            after = settled_rss_mb(proc.pid, proc.log_path)
            results["rss_churn_mb"] = (after_first, after, 100 * (after - after_first) / after_first)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    r = results
    print(
        f"time to interactive      median {r['interactive_s'][0]:.2f} s   p95 {r['interactive_s'][1]:.2f} s"
        f"   (target <= 3 s)"
    )
    print(
        f"first payload            {r['first_payload_mb'][0]:.2f} MB raw, ~{r['first_payload_mb'][1]:.2f} MB "
        f"deflated   (target <= 5 MB)"
    )
    print(f"scrub step input->render median {r['scrub_render_ms'][0]:.0f} ms   p95 {r['scrub_render_ms'][1]:.0f} ms")
    print(
        f"scrub step input->pixels median {r['scrub_pixels_ms'][0]:.0f} ms   p95 {r['scrub_pixels_ms'][1]:.0f} ms"
        f"   (target <= 100 ms median)"
    )
    print(
        f"playback                 {r['playback_fps']:.1f} frames/s, {r['ws_bytes_per_step']:.0f} B websocket "
        f"per step ({r['ws_bytes_playback_total']} B in {args.play_s:g} s)   (target <= 1 kB/step)"
    )
    print(
        f"click label -> following median {r['follow_ms'][0]:.0f} ms   p95 {r['follow_ms'][1]:.0f} ms"
        f"   ({r['follow_ms'][2]} clicks; target <= 300 ms)"
    )
    print(
        f"server RSS               idle {r['rss_idle_mb']:.0f} MB, after first session {r['rss_first_session_mb']:.0f}"
        f" MB, +{r['rss_per_extra_session_mb']:.1f} MB per extra session   (target <= 30 MB)"
    )
    a, b, d = r["rss_churn_mb"]
    print(f"after {args.sessions} sessions open+close RSS {a:.0f} -> {b:.0f} MB ({d:+.1f} %)   (target within 5 %)")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
