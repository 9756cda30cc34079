"""The viewer behind a real nginx (Debian's package) with two ``python app.py`` processes on 127.0.0.1, configured
by docs/nginx.conf itself (only its ports replaced). Twenty sessions, as Bokeh-protocol websocket clients
(benchmarks/bench_classroom.py), load the page, scrub the time and jump between phases through nginx with no
error in any client or server log; nginx's routing cookie spreads them over both processes and keeps each
session's page and websocket on one. Without the sticky key (plain round robin) a page's websocket reaches the
other process, which builds a second document that the page's HTML does not name."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from conftest import _missing
from test_ui_browser import free_port, serve_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_classroom as bench  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "docs" / "nginx.conf"
SESSIONS = 20
ARRIVING = 4  # pages being opened at one time (visitors arrive over a few seconds, not in the same instant)
# What the test adds around the site file: a private prefix for nginx's files, and an access log naming, for
# each request, the routing key and the process that answered.
MAIN_CONF = """pid {prefix}/nginx.pid;
worker_processes 1;
error_log {prefix}/error.log info;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    log_format ce6 '$ce6_route $upstream_addr $status "$request"';
    access_log {prefix}/access.log ce6;
    include {site};
}}
"""


def site_conf(port: int, backends: list[int], sticky: bool = True) -> str:
    """docs/nginx.conf listening on 127.0.0.1:``port`` in front of ``backends``; ``sticky=False`` drops the hash
    (nginx's default round robin)."""
    text = SITE.read_text()
    text, n = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    assert n == 1, "docs/nginx.conf has no `listen 80;` line"
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in backends)
    text, n = re.subn(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, text)
    assert n == 1, "docs/nginx.conf has no upstream server lines"
    if not sticky:
        text, n = re.subn(r"\n    hash \$ce6_route consistent;[^\n]*", "", text)
        assert n == 1
    return text


@contextlib.contextmanager
def run_nginx(tmp: Path, port: int, backends: list[int], sticky: bool = True):
    """nginx in the foreground with docs/nginx.conf; yields the access log's path."""
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if exe is None:
        _missing("nginx is not installed (apt-get install -y nginx; .ci/run installs it)")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "site.conf").write_text(site_conf(port, backends, sticky))
    (tmp / "nginx.conf").write_text(MAIN_CONF.format(prefix=tmp, site=tmp / "site.conf"))
    cmd = [exe, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited with {proc.returncode}: {proc.stdout.read().decode()[-2000:]}")
            try:
                with urlopen(f"http://127.0.0.1:{port}/", timeout=30):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not answer within 10 s")
                time.sleep(0.2)
        yield tmp / "access.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def backends(mission_kernels):  # noqa: F811
    """Two ``python app.py`` processes that answer to the proxy's name, booted side by side; (nginx port, urls)."""
    front = free_port()
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        urls, errors, lock = {}, [], threading.Lock()

        def boot(p):
            try:
                url = serve_app("nginx", "--allow-origin", f"127.0.0.1:{front}", port=p)
                entered = url.__enter__()
                with lock:
                    stack.push(url)
                    urls[p] = entered
            except BaseException as exc:  # noqa: BLE001 - pytest.fail in a thread raises a BaseException
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(p,)) for p in ports]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        yield front, [urls[p] for p in ports]


async def _session(base: str, name: str, arriving: asyncio.Semaphore, rounds: int = 2) -> bench.Client:
    """One visitor: the page, its websocket and document, then ``rounds`` of a phase jump and a time drag."""
    c = bench.Client(name)
    async with arriving:
        await c.open(base, bench.START)
    actions = [a for a in bench.plan(c)]
    for k in range(rounds):
        for kind, et, (method, args) in actions[2 * k : 2 * k + 2]:
            t0 = time.monotonic()
            getattr(c, method)(*args)
            if kind == "jump":  # the server moves the page's time to the phase's start
                while bench.reached(c, et, t0) is None and time.monotonic() - t0 < 30:
                    await asyncio.sleep(0.02)
                if bench.reached(c, et, t0) is None:
                    c.errors.append(f"{name}: the jump to et {et:.1f} never reached the page")
            else:
                await asyncio.sleep(0.3)
    return c


async def _visit(base: str, n: int) -> list[bench.Client]:
    arriving = asyncio.Semaphore(ARRIVING)
    clients = await asyncio.gather(*[_session(base, f"session {i + 1}", arriving) for i in range(n)])
    await asyncio.sleep(1.0)  # anything the server still sends after the last action
    for c in clients:
        c.close()
    await asyncio.sleep(0.3)
    return list(clients)


def _routes(access_log: Path) -> dict[str, set[str]]:
    """For each routing key in nginx's access log, the processes that answered its requests."""
    out: dict[str, set[str]] = {}
    for line in access_log.read_text().splitlines():
        key, upstream, *_ = line.split(" ", 2)
        out.setdefault(key, set()).add(upstream)
    return out


def test_twenty_sessions_through_nginx_on_two_processes(backends, tmp_path):
    front, urls = backends
    offsets = [u.log_path.stat().st_size for u in urls]
    with run_nginx(tmp_path / "nginx", front, [int(u.rstrip("/").rsplit(":", 1)[1]) for u in urls]) as log:
        base = f"http://127.0.0.1:{front}/"
        t0 = time.monotonic()
        clients = asyncio.run(_visit(base, SESSIONS))
        took = time.monotonic() - t0
        ws_lines = [line for line in log.read_text().splitlines() if '"GET /ws ' in line]
    errors = [e for c in clients for e in c.errors]
    errors += [e for u, off in zip(urls, offsets) for e in bench.log_problems(u.log_path, off)]
    assert errors == [], "\n".join(errors[:20])
    for c in clients:  # each page's websocket reached the process that built the page's document
        assert c.page_roots and c.page_roots <= c.doc_roots, (c.name, c.page_roots, c.doc_roots)
    routes = _routes(log)
    assert all(len(up) == 1 for up in routes.values()), {k: v for k, v in routes.items() if len(v) > 1}
    served = {line.split(" ")[1] for line in ws_lines if " 101 " in line}
    split = {u: sum(line.split(" ")[1] == u for line in ws_lines) for u in sorted(served)}
    print(f"{SESSIONS} sessions through nginx: {took:.1f} s; websockets per process {split}")
    assert len(ws_lines) == SESSIONS
    expected = {u.rstrip("/").split("//", 1)[1] for u in urls}
    assert served == expected, f"websockets went to {served}, not to both {expected}"


def test_round_robin_sends_a_page_and_its_websocket_apart(backends, tmp_path):
    """Why docs/nginx.conf is sticky: with round robin some websocket reaches the other process, whose document
    (built anew from the page's token) has root models the page's HTML does not name, so BokehJS draws nothing."""
    front, urls = backends
    with run_nginx(tmp_path / "rr", front, [int(u.rstrip("/").rsplit(":", 1)[1]) for u in urls], sticky=False):

        async def four():
            out = []
            for i in range(4):
                c = bench.Client(f"round robin {i + 1}")
                await c.open(f"http://127.0.0.1:{front}/", bench.START)
                out.append(c)
                c.close()
            return out

        clients = asyncio.run(four())
    split = [c.name for c in clients if not c.page_roots <= c.doc_roots]
    assert split, "every websocket reached its page's process under round robin"


def test_a_browser_page_through_nginx(backends, browser, tmp_path):
    """Chromium through nginx: the page comes up (its scene bound to the websocket's document) with no error, and
    the browser's cookie keeps its page, scripts and websocket on one process."""
    from test_ui_browser import Page

    front, urls = backends
    with run_nginx(tmp_path / "browser", front, [int(u.rstrip("/").rsplit(":", 1)[1]) for u in urls]) as log:
        page = Page(browser, f"http://127.0.0.1:{front}/{bench.START}")
        try:
            page.settle(1500)
            assert page.errors == [], page.errors
            cookies = {c["name"]: c["value"] for c in page.page.context.cookies()}
            assert len(cookies.get("ce6_route", "")) == 32, cookies
        finally:
            page.page.close()
        deadline = time.monotonic() + 15  # nginx logs a websocket once it has closed
        while '"GET /ws' not in log.read_text() and time.monotonic() < deadline:  # /ws?t=... from a browser
            time.sleep(0.2)
        lines = [line.split(" ", 3) for line in log.read_text().splitlines()]
    mine = [line for line in lines if line[0] == cookies["ce6_route"]]
    assert any(line[3].startswith('"GET /ws') and line[2] == "101" for line in mine), mine
    assert len({line[1] for line in mine}) == 1, mine  # one process for all of them
    assert all(line[2] in ("101", "200", "304") for line in mine), [line for line in mine if line[2] >= "400"]
