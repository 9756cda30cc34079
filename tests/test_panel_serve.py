"""``panel serve app.py`` is as guarded as ``python app.py``: a page asked for under a foreign Host before the first
session gets the 403 line instead of the app; from the first session on, a foreign Host gets 403 on HTTP and on the
websocket, responses are gzipped and a websocket message over 1 MB closes that connection (1009)."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from test_harden_browser import _close_code_for_announced_size, _get, _session_token, _ws
from test_ui_browser import REPO, free_port, stop_process

BOOT_S = 180


@pytest.fixture(scope="module")
def panel_serve(mission_kernels, tmp_path_factory):  # noqa: F811
    """``panel serve app.py --port PORT``; yields (url, log path) once its static files answer."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("panel-serve") / "server.log"
    log = open(log_path, "w+")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/app/"  # panel serve's route for app.py (``/`` redirects there)
    try:
        deadline = time.monotonic() + BOOT_S
        while not _up(f"http://127.0.0.1:{port}/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"panel serve app.py did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, log_path
    finally:
        stop_process(proc)
        log.close()


def _up(url: str) -> bool:
    try:
        with urlopen(url + "static/js/bokeh.min.js", timeout=5):
            return True
    except OSError:
        return False


def test_panel_serve_guards_like_python_app_py(panel_serve):
    url, log = panel_serve
    port = url.split(":")[2].split("/")[0]
    # the very first page, under a foreign name: the session is built as the 403 line, not the app
    status, _ = _get(url, Host=f"evil.example:{port}", Origin=f"http://evil.example:{port}")
    assert status == 200, status
    assert "refused a page for Host 'evil.example:" in Path(log).read_text()
    # from then on every foreign request is refused before any handler runs
    with urlopen(url, timeout=600) as r:  # the first real session builds the scene (no --warm here)
        assert r.status == 200
    assert _get(url, Host=f"localhost:{port}")[0] == 200
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{int(port) + 1}"):
        status, body = _get(url, Host=host, Origin=f"http://{host}")
        assert status == 403 and "Host" in body and len(body.splitlines()) == 1, (host, status, body[:200])
    assert asyncio.run(_ws(url, f"evil.example:{port}", _session_token(url))) == 403
    # gzip, as python app.py's compress_response
    req = Request(f"http://127.0.0.1:{port}/static/js/bokeh.min.js", headers={"Accept-Encoding": "gzip"})
    with urlopen(req, timeout=60) as r:
        assert r.headers.get("Content-Encoding") == "gzip", dict(r.headers)
        raw = r.read()
    assert len(gzip.decompress(raw)) > 3 * len(raw)
    # the 1 MB websocket cap: a message one byte over closes that connection with 1009, and the server goes on
    code = asyncio.run(_close_code_for_announced_size(url, _session_token(url), 1024 * 1024 + 1))
    assert code == 1009, code
    assert _get(url)[0] == 200
    assert "websocket messages up to 1048576 bytes, gzip on" in Path(log).read_text()
