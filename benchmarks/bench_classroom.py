"""Classroom load benchmark: 1 leader and N followers on ``python app.py``, as websocket clients of Bokeh's protocol.

Each client does what a browser tab does: it loads the page (``/?follow=CODE`` for a follower), opens the session's
websocket with the page's token, pulls the document and announces ``document_ready`` (BokehJS sends it once the page
is idle; Panel holds a session's model changes back until it arrives, so a client that never sends it never sees the
follower's time move). The leader types the teacher PIN, presses "Lead a class", reads the room code from the panel,
then acts every ``--interval`` seconds: alternately a phase button click (a jump, often to another view) and a time
slider drag inside that phase (a scrub). A follower learns the leader's moment from exactly the message a browser
gets: the patch that sets its MissionView's ``et``. Latency is the leader's message sent -> that patch received with
the leader's time, on one monotonic clock in this process.

Prints: latency median and p95 (all actions; jumps and scrubs; actions that change the view, which send each
follower that view's tracks and scene, and those within a view; the leader's own time bar), the share within 500 ms;
server RSS idle, after the leader's room, after the
followers joined and at the end (from /proc/PID/status), with the RSS per follower; websocket bytes per follower per
action; the error count (closed connections, server ERROR messages, the app's "Something went wrong" notices,
followers that missed a moment, tracebacks or classroom warnings in the server log).

    python benchmarks/bench_classroom.py [--followers 30] [--seconds 120] [--interval 2]

Targets: <= 500 ms from the leader's action to the followers (the patch; the browser then draws the next frame),
<= 2 MB of server memory per follower, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIN = "468213"
START = "?t=2024-05-20T03:00:00Z"  # the story camera, as a class sees it
DOCUMENT_READY = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
OPEN_TIMEOUT_S = 120.0  # a page and its websocket on a busy server (tornado's default is 20 s)
MOMENT_WAIT_S = 30.0  # the leader waits this long for every follower to reach a moment before the next action
HEAVY_BYTES = (
    1e6  # an action that sends a follower this much changed the view (its tracks and scene), not only the time
)
LOG_PROBLEMS = ("Traceback", "ERROR", "classroom: a follower could not", "refused a change", "failed")


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SESSION_BUILT, SESSION_CLOSED = "session app built", "session closed"  # the app's log lines (viewer.ui.app)


def settled_rss_mb(pid: int, log_path, timeout_s: float = 90.0, samples: int = 5) -> float:
    """The server's RSS once every session it built is destroyed (as many "session closed" lines in its log as
    "session app built"; Bokeh drops a closed session within 15 s plus one 5 s check): the median of ``samples``
    readings one second apart, so one busy moment of a shared machine does not decide the figure."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = Path(log_path).read_text(errors="replace")
        if text.count(SESSION_CLOSED) >= text.count(SESSION_BUILT):
            break
        time.sleep(1.0)
    else:
        raise TimeoutError(f"the server at pid {pid} still holds sessions after {timeout_s:.0f} s (see {log_path})")
    readings = []
    for _ in range(samples):
        time.sleep(1.0)
        readings.append(rss_mb(pid))
    return sorted(readings)[len(readings) // 2]


def pct(values, q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _models(obj, out: dict) -> dict:
    """Every serialised Bokeh model in ``obj`` (a pulled document), by id."""
    if isinstance(obj, dict):
        if obj.get("type") == "object" and "id" in obj:
            out[obj["id"]] = obj
        for v in obj.values():
            _models(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _models(v, out)
    return out


def _plain(obj):
    """Bokeh's serialised maps ({"type": "map", "entries": [...]}) as dicts."""
    if isinstance(obj, dict):
        if obj.get("type") == "map":
            return {k: _plain(v) for k, v in obj.get("entries", [])}
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


@dataclass
class Client:
    """One session of the app over its websocket, speaking Bokeh's protocol as BokehJS does."""

    name: str
    models: dict = field(default_factory=dict)
    view_id: str = ""  # the MissionView's data model: its ``et`` is the time the browser shows
    seen: list = field(default_factory=list)  # (et, monotonic time received) of every patch of ``et``
    texts: list = field(default_factory=list)  # every HTML text patch received (html-unescaped)
    errors: list = field(default_factory=list)
    bytes_in: int = 0
    closing: bool = False
    page_roots: set = field(default_factory=set)  # the root model ids the page's HTML names
    doc_roots: set = field(default_factory=set)  # the root model ids of the document the websocket pulled

    async def open(self, base: str, query: str) -> None:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        reply = await AsyncHTTPClient().fetch(base + query, request_timeout=OPEN_TIMEOUT_S)
        page = reply.body.decode()
        token = re.search(r'"token":\s*"([^"]+)"', page)
        if token is None:
            raise RuntimeError(f"{self.name}: the page {base + query} has no session token")
        self.page_roots = set(re.findall(r'"roots":\s*\{"([^"]+)"', page))
        host = base.split("//", 1)[1].rstrip("/")
        headers = {"Origin": f"http://{host}"}
        cookies = [c.split(";", 1)[0] for c in reply.headers.get_list("Set-Cookie")]  # a proxy's routing cookie
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        req = HTTPRequest(f"ws://{host}/ws", headers=headers, request_timeout=OPEN_TIMEOUT_S)
        self.ws = await websocket_connect(req, subprotocols=["bokeh", token.group(1)], max_message_size=256 << 20)
        kind, _, _ = await self._message()
        if kind != "ACK":
            raise RuntimeError(f"{self.name}: the server answered {kind}, not ACK")
        self._send("PULL-DOC-REQ", {})
        kind, content, _ = await self._message()
        if kind != "PULL-DOC-REPLY":
            raise RuntimeError(f"{self.name}: the server answered {kind}, not PULL-DOC-REPLY")
        doc = json.loads(content)
        self.models = _models(doc, {})
        self.doc_roots = {r.get("id") for r in doc.get("doc", {}).get("roots", [])}
        views = [i for i, m in self.models.items() if m.get("name", "").startswith("MissionView")]
        if len(views) != 1:
            raise RuntimeError(f"{self.name}: {len(views)} MissionView models in the document, not one")
        self.view_id = views[0]
        self.event(DOCUMENT_READY)
        self._reader = asyncio.ensure_future(self._read())

    @property
    def view(self) -> dict:
        return _plain(self.models[self.view_id]["attributes"])

    async def _frame(self):
        frame = await self.ws.read_message()
        if frame is None:
            raise ConnectionError("closed")
        return frame

    async def _message(self) -> tuple[str, str, float]:
        """(msgtype, content JSON text, time the content arrived); binary buffers are read, counted and skipped."""
        head = await self._frame()
        header = json.loads(head)
        meta = await self._frame()
        content = await self._frame()
        t = time.monotonic()
        self.bytes_in += len(head) + len(meta) + len(content)
        for _ in range(2 * int(header.get("num_buffers", 0))):
            self.bytes_in += len(await self._frame())
        return header["msgtype"], content, t

    async def _read(self) -> None:
        while True:
            try:
                kind, content, t = await self._message()
            except ConnectionError:
                if not self.closing:
                    self.errors.append(f"{self.name}: the server closed the connection")
                return
            if kind == "ERROR":
                self.errors.append(f"{self.name}: server ERROR {content[:200]}")
            if kind != "PATCH-DOC" or not ('"et"' in content or '"text"' in content):
                continue  # only messages that carry a time or a text are parsed
            if "Something went wrong" in content:
                self.errors.append(f"{self.name}: the app reported a failure: {content[:200]}")
            for ev in json.loads(content).get("events", []):
                if ev.get("kind") != "ModelChanged":
                    continue
                if ev.get("attr") == "et" and ev.get("model", {}).get("id") == self.view_id:
                    self.seen.append((float(ev["new"]), t))
                elif ev.get("attr") == "text":
                    self.texts.append(html.unescape(str(ev.get("new"))))

    def _send(self, msgtype: str, content: dict) -> None:
        self.ws.write_message(json.dumps({"msgid": str(time.monotonic_ns()), "msgtype": msgtype}))
        self.ws.write_message("{}")
        self.ws.write_message(json.dumps(content))

    def event(self, rep: dict) -> None:
        """A UI event (what BokehJS sends for a click or document_ready)."""
        self._send("PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": rep}]})

    def change(self, model_id: str, attr: str, new) -> None:
        """A property the browser changed (a typed value, the time slider)."""
        event = {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": new}
        self._send("PATCH-DOC", {"events": [event]})

    def click(self, model_id: str) -> None:
        self.event(
            {
                "type": "event",
                "name": "button_click",
                "values": {"type": "map", "entries": [["model", {"id": model_id}]]},
            }
        )

    def find(self, name: str, **attrs) -> list[str]:
        return [
            i
            for i, m in self.models.items()
            if m.get("name") == name and all(m.get("attributes", {}).get(k) == v for k, v in attrs.items())
        ]

    def close(self) -> None:
        self.closing = True
        self.ws.close()

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Close the websocket and wait for the server's answer (after ``timeout_s``, drop the socket), so the
        connection has ended on the server before this event loop stops; a socket left to the garbage collector
        can keep its session alive on the server."""
        self.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout_s)
        except TimeoutError:
            pass
        protocol = getattr(self.ws, "protocol", None)
        if protocol is not None and protocol.stream is not None:
            protocol.stream.close()


async def lead(base: str, pin: str = PIN) -> tuple[Client, str]:
    """The leader's session with a room open; (client, room code)."""
    leader = Client("leader")
    await leader.open(base, START)
    (pin_field,) = leader.find("PasswordInput")
    (button,) = leader.find("panel.models.widgets.Button", label="Lead a class")
    leader.change(pin_field, "value", pin)
    leader.click(button)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for text in leader.texts:
            m = re.search(r"Room ([A-Z2-9]{6})", text)
            if m:
                return leader, m.group(1)
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no room code on the leader's panel within 20 s ({leader.texts[-3:]})")


def plan(leader: Client) -> list[tuple[str, float, tuple]]:
    """The leader's actions, in a loop: (kind, the time the followers must reach, (method, args)). For each
    top-level phase: its button (a jump to its start), then a slider drag 40 % into it."""
    view = leader.view
    lo, hi = float(view["t0"]), float(view["t1"])
    buttons = {}
    for i, m in leader.models.items():
        for css in m.get("attributes", {}).get("css_classes", []) or []:
            if isinstance(css, str) and css.startswith("ce6-phase-") and css != "ce6-phase-btn":
                buttons[css.removeprefix("ce6-phase-")] = i
    out = []
    for p in view["phases"]:
        if p.get("parent") or p["id"] not in buttons:
            continue
        start, end = float(p["start"]), float(p["end"])
        out.append(("jump", min(max(start, lo), hi), ("click", (buttons[p["id"]],))))
        scrub = min(max(start + 0.4 * (end - start), lo), hi)
        out.append(("scrub", scrub, ("change", (leader.view_id, "et", scrub))))
    if len(out) < 4:
        raise RuntimeError(f"only {len(out) // 2} phase buttons found on the leader's page")
    return out


def reached(client: Client, et: float, since: float, until: float = math.inf) -> float | None:
    """When ``client`` first received the time ``et`` in [``since``, ``until``) (monotonic), or None."""
    for value, t in client.seen:
        if since <= t < until and abs(value - et) < 1e-3:
            return t
    return None


def _latencies(actions: list[dict], leader: Client, followers: list[Client]) -> None:
    """Each action's latency to each follower (None: never reached) and to the leader's own time bar; a moment is
    looked for until the leader goes to the same moment again."""
    for k, a in enumerate(actions):
        again = [b["t0"] for b in actions[k + 1 :] if b["et"] == a["et"]]
        until = again[0] if again else math.inf
        a["latency_s"] = [
            (t - a["t0"]) if (t := reached(f, a["et"], a["t0"], until)) is not None else None for f in followers
        ]
        own = reached(leader, a["et"], a["t0"], until)  # a jump also moves the leader's time bar (a scrub came from it)
        a["leader_s"] = None if own is None else own - a["t0"]


def log_problems(path: Path, offset: int) -> list[str]:
    with open(path, errors="replace") as f:
        f.seek(offset)
        return [line.rstrip() for line in f if any(p in line for p in LOG_PROBLEMS)]


async def _join(base: str, code: str, n: int) -> tuple[list[Client], list[float]]:
    followers, joins = [], []
    for i in range(n):
        t = time.monotonic()
        f = Client(f"follower {i + 1}")
        await f.open(base, f"?follow={code}")
        joins.append(time.monotonic() - t)
        followers.append(f)
    return followers, joins


async def _act(leader: Client, followers: list[Client], actions, seconds: float, interval: float) -> list[dict]:
    """The leader acts every ``interval`` s for ``seconds``; each action waits until every follower has its time."""
    done = []
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        kind, et, (method, args) = actions[k % len(actions)]
        before = [f.bytes_in for f in followers]
        t0 = time.monotonic()
        getattr(leader, method)(*args)
        while time.monotonic() - t0 < MOMENT_WAIT_S:
            if all(reached(f, et, t0) is not None for f in followers):
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(max(0.0, t0 + interval - time.monotonic()))
        moved = pct([f.bytes_in - b for f, b in zip(followers, before)], 50)  # to each follower, until the next action
        done.append({"kind": kind, "et": et, "t0": t0, "bytes": moved})
        k += 1
    return done


async def run(base: str, pid: int, log_path: Path, followers: int, seconds: float, interval: float, settle: float):
    """The whole load run against a served app; returns the figures (see :func:`report`)."""
    offset = log_path.stat().st_size
    await asyncio.sleep(settle)  # the server's start-up probe session expires
    res = {"followers": followers, "seconds": seconds, "interval_s": interval, "rss_idle_mb": rss_mb(pid)}
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res["load_start"] = os.getloadavg()
    leader, code = await lead(base)
    await asyncio.sleep(settle)
    res["rss_leader_mb"] = rss_mb(pid)
    class_, res["join_s"] = await _join(base, code, followers)
    start_et = leader.view["et"]
    res["joined_at_leader_time"] = sum(abs(f.view["et"] - start_et) < 1e-3 for f in class_)
    await asyncio.sleep(settle)
    res["rss_followers_mb"] = rss_mb(pid)
    bytes0 = [f.bytes_in for f in class_]
    res["actions"] = await _act(leader, class_, plan(leader), seconds, interval)
    res["load_end"] = os.getloadavg()
    await asyncio.sleep(settle)
    res["rss_end_mb"] = rss_mb(pid)
    res["bytes_per_action"] = [(f.bytes_in - b) / max(1, len(res["actions"])) for f, b in zip(class_, bytes0)]
    _latencies(res["actions"], leader, class_)
    errors = [e for c in [leader, *class_] for e in c.errors]
    for a in res["actions"]:
        missed = sum(x is None for x in a["latency_s"])
        if missed:
            errors.append(f"{missed} followers never reached the {a['kind']} to et {a['et']:.1f}")
    for c in [leader, *class_]:
        c.close()
    await asyncio.sleep(0.5)
    res["errors"] = errors + log_problems(log_path, offset)
    return res


def report(res: dict) -> str:
    def lat(kind=None, heavy=None):
        v = [
            x
            for a in res["actions"]
            if kind in (None, a["kind"]) and heavy in (None, a["bytes"] >= HEAVY_BYTES)
            for x in a["latency_s"]
            if x is not None
        ]
        return f"median {pct(v, 50) * 1e3:.0f} ms, p95 {pct(v, 95) * 1e3:.0f} ms ({len(v)} samples)"

    n = res["followers"]
    own = [a["leader_s"] for a in res["actions"] if a["kind"] == "jump" and a["leader_s"] is not None]
    per = (res["rss_followers_mb"] - res["rss_leader_mb"]) / n
    per_end = (res["rss_end_mb"] - res["rss_leader_mb"]) / n
    load = "{:.1f} {:.1f} {:.1f}".format
    every = [x for a in res["actions"] for x in a["latency_s"] if x is not None]
    within = 100 * sum(x <= 0.5 for x in every) / max(1, len(every))
    lines = [
        f"{res['date']}, load average {load(*res['load_start'])} at the start, {load(*res['load_end'])} at the end",
        f"1 leader + {n} followers (Bokeh-protocol websocket clients), {res['seconds']:.0f} s, "
        f"one leader action every {res['interval_s']:.1f} s: {len(res['actions'])} actions",
        f"join (page + websocket + document): median {pct(res['join_s'], 50):.2f} s, "
        f"p95 {pct(res['join_s'], 95):.2f} s; {res['joined_at_leader_time']}/{n} joined at the leader's time",
        f"latency, leader action -> follower's time patch: {lat()}",
        f"  within 500 ms: {within:.0f} %; the slowest {max(every, default=float('nan')):.1f} s",
        f"  jumps (phase button): {lat('jump')}",
        f"  scrubs (time slider): {lat('scrub')}",
        f"  actions that change the view (>= 1 MB to each follower: the view's tracks and scene): {lat(heavy=True)}",
        f"  actions within a view: {lat(heavy=False)}",
        f"  the leader's own time bar after a jump: median {pct(own, 50) * 1e3:.0f} ms, p95 {pct(own, 95) * 1e3:.0f} ms",
        f"server RSS: idle {res['rss_idle_mb']:.0f} MB, after the leader's room {res['rss_leader_mb']:.0f} MB, "
        f"{n} followers joined {res['rss_followers_mb']:.0f} MB, at the end {res['rss_end_mb']:.0f} MB",
        f"server RSS per follower: {per:.2f} MB joined, {per_end:.2f} MB at the end",
        f"websocket bytes to a follower per leader action: median {pct(res['bytes_per_action'], 50) / 1e3:.1f} kB",
        f"errors: {len(res['errors'])}",
        *[f"  {e}" for e in res["errors"][:20]],
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--followers", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between the leader's actions")
    ap.add_argument("--settle", type=float, default=12.0, help="seconds of quiet before each RSS reading")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO / "tests"))
    from test_ui_browser import serve_app

    t0 = time.monotonic()
    with serve_app("bench-classroom", VIEWER_TEACHER_PIN=PIN) as url:
        print(f"server ready in {time.monotonic() - t0:.1f} s at {url}", flush=True)
        res = asyncio.run(run(url, url.pid, url.log_path, args.followers, args.seconds, args.interval, args.settle))
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
