"""The web app served for the tests: ``python app.py`` in a subprocess on a 127.0.0.1 port (:func:`serve_app`), and
the one shared server most browser test modules use (``conftest.py``'s session fixture ``server``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOT_TIMEOUT_S = 400  # a cold start computes every view's tracks once (then they are cached on disk)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp(str):
    """The served app's URL, with the server's process id (``pid``) and its log file (``log_path``)."""

    pid: int
    log_path: Path


@contextlib.contextmanager
def serve_app(name: str = "ui", *args: str, port: int | None = None, **env_extra):
    """``python app.py ARGS`` on ``port`` (default: a free 127.0.0.1 port) with ``env_extra``; yields its URL (a
    :class:`ServedApp`) once it answers, stops it after. The server writes its log to
    ``$TMPDIR/viewer-NAME-test-PORT.log``."""
    port = port or free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env_extra)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"viewer-{name}-test-{port}.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port), *args],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = ServedApp(f"http://127.0.0.1:{port}/")
    url.pid, url.log_path = proc.pid, Path(log.name)
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within {BOOT_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)
        log.close()


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process is still there after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
