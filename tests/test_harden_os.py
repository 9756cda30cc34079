"""OS errors are one line naming the path (or port) and the fix, never a traceback:

- an output path that is a directory (screenshot, export video);
- a read-only output folder: the screenshot and the export refuse before rendering; an export whose ffmpeg cannot
  write reports ffmpeg's own error (abort() does not mask it);
- a full disk: the screenshot (too little free space: before rendering; ENOSPC while writing: after), ``data
  fetch`` (too little space: before downloading; ENOSPC midway: the ``.part`` is kept and the next run resumes);
- a full cache folder: every cache write (they all go through :mod:`viewer.cache`) is one warning and the caller
  carries on; the meta-kernel, which SPICE must read from disk, is one line;
- the port already in use: ``python app.py`` says so before the warm-up (exit status 3, which scripts/kiosk.sh
  does not restart);
- no mission kernels: ``python app.py`` says "build them" in one line.

A full disk is simulated (``os.statvfs`` reporting 1 kB free, or ``os.fsync`` / a write raising ENOSPC); the
read-only folder is a real one (``/sys`` as root, else a folder without write permission).
"""

from __future__ import annotations

import errno
import http.server
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_terrain_site import volume  # noqa: F401
from test_ui_browser import REPO

from viewer import cache
from viewer.errors import DataError, InputError

T = "2024-06-01T22:23:16Z"


def _one_line(err) -> str:
    text = str(err.value if hasattr(err, "value") else err)
    assert "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture()
def read_only_dir(tmp_path) -> Path:
    """A real folder that takes no new file."""
    if os.geteuid() == 0:
        path = Path("/sys")  # sysfs: even root cannot create a file there
    else:
        path = tmp_path / "ro"
        path.mkdir()
        path.chmod(0o500)
    try:
        open(path / ".probe", "xb").close()
    except OSError:
        return path
    (path / ".probe").unlink()
    pytest.skip(f"{path} takes new files here, so it cannot stand for a read-only folder")


class _NoScene:
    """Stands in for MissionScene: records that rendering started and returns a black image."""

    made: list = []

    def __init__(self, view, *, follow=None, window_size=(64, 64), quality="fast", language="en"):
        self.size, self.language = window_size, language
        _NoScene.made.append(view)

    def set_quality(self, q):
        pass

    def set_language(self, lang):
        pass

    def set_view(self, view, follow=None, et=None):
        pass

    def screenshot(self):
        return np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def close(self):
        pass


@pytest.fixture()
def no_render(monkeypatch, kernels_loaded):
    import viewer.scene.scene as scene_mod

    _NoScene.made = []
    monkeypatch.setattr(scene_mod, "MissionScene", _NoScene)
    return _NoScene.made


def _shot(path, **kw):
    from viewer.epochs import et_from_utc
    from viewer.export.screenshot import screenshot

    return screenshot(path, et_from_utc(T), view="site", size=(64, 64), quality="fast", **kw)


@pytest.mark.parametrize("force", [False, True])
def test_a_screenshot_to_a_directory_is_one_line_before_rendering(no_render, tmp_path, force):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(InputError) as err:
        _shot(tmp_path / "out.png", force=force)
    assert "is a directory; choose a file name" in _one_line(err) and str(tmp_path / "out.png") in str(err.value)
    assert no_render == []


def test_a_screenshot_into_a_read_only_folder_fails_before_rendering(no_render, read_only_dir):
    with pytest.raises(InputError) as err:
        _shot(read_only_dir / "out.png")
    line = _one_line(err)
    assert f"cannot write {read_only_dir / 'out.png'}" in line and "choose a writable folder" in line, line
    assert no_render == []


def test_a_screenshot_on_a_full_disk_is_one_line(no_render, tmp_path, monkeypatch):
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda p: os.statvfs_result((4096, 1024, 100, 1, 1, 10, 1, 1, 0, 255)))
    with pytest.raises(InputError) as err:  # 1 kB free: refused before rendering
        _shot(tmp_path / "a.png")
    assert "the disk is full" in _one_line(err) and "free some space" in err.value.args[0]
    assert no_render == []
    monkeypatch.setattr(os, "statvfs", real)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the space went while rendering
    with pytest.raises(InputError) as err:
        _shot(tmp_path / "b.png")
    assert (
        _one_line(err)
        == f"cannot write {tmp_path / 'b.png'} (the disk is full); free some space or choose another folder"
    )
    assert no_render == ["site"] and list(tmp_path.iterdir()) == []  # no temp file left


def test_export_video_to_a_directory_or_a_read_only_folder_is_one_line(tmp_path, read_only_dir):
    from viewer.export.video import prepare_target

    (tmp_path / "clip.mp4").mkdir()
    for force in (False, True):
        with pytest.raises(InputError) as err:
            prepare_target(tmp_path / "clip.mp4", force=force)
        assert "is a directory; choose a file name ending in .mp4" in _one_line(err)
    for is_dir, name in ((False, "clip.mp4"), (True, "frames")):
        with pytest.raises(InputError) as err:
            prepare_target(read_only_dir / name, force=False, is_dir=is_dir)
        assert "cannot write" in _one_line(err) and "choose a writable folder" in str(err.value)


def test_an_export_that_ffmpeg_cannot_write_reports_ffmpegs_error(read_only_dir, monkeypatch):
    from viewer.export import video
    from viewer.export.ffmpeg import ExportError

    monkeypatch.setattr(video, "prepare_target", lambda target, **kw: Path(target))  # past the early check
    frame = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ExportError) as err:
        with video.FfmpegSink(read_only_dir / "clip.mp4", (64, 64), 24) as sink:
            for _ in range(200):
                sink.write(frame)
            sink.commit()
    line = _one_line(err)
    assert line.startswith("ffmpeg stopped") and "clip.mp4" in line, line


class _Bytes(http.server.BaseHTTPRequestHandler):
    body = bytes(range(256)) * 4096  # 1 MiB

    def log_message(self, *args):
        pass

    def do_GET(self):
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}")
        self.send_header("Content-Length", str(len(self.body) - start))
        self.end_headers()
        self.wfile.write(self.body[start:])


@pytest.fixture()
def byte_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Bytes)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/x.img"
    httpd.shutdown()
    httpd.server_close()


def test_data_fetch_on_a_full_disk_is_one_line_and_resumes(byte_server, tmp_path, monkeypatch):
    from viewer.terrain import download

    size = len(_Bytes.body)
    dest = tmp_path / "x.img"
    real = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda p: os.statvfs_result((4096, 1024, 100, 1, 1, 10, 1, 1, 0, 255)))
    with pytest.raises(DataError) as err:
        download.fetch_file(byte_server, dest, expected_size=size, progress=False)
    assert "MB free but x.img needs 1.0 MB" in _one_line(err) and "free some space" in str(err.value)
    monkeypatch.setattr(os, "statvfs", real)

    class Full:  # the disk fills after 300 kB
        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, chunk):
            if self.n + len(chunk) > 300_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.n += len(chunk)
            return self.fh.write(chunk)

    monkeypatch.setattr(download, "open", lambda p, mode: Full(open(p, mode)), raising=False)
    with pytest.raises(DataError) as err:
        download.fetch_file(byte_server, dest, expected_size=size, progress=False)
    line = _one_line(err)
    assert f"cannot write {dest}.part (the disk is full)" in line and "again to resume" in line, line
    kept = (tmp_path / "x.img.part").stat().st_size
    assert 0 < kept <= 300_000
    monkeypatch.undo()  # space freed: the next run resumes from the .part
    assert download.fetch_file(byte_server, dest, expected_size=size, progress=False).read_bytes() == _Bytes.body


def test_a_full_cache_folder_is_a_warning_and_the_caller_carries_on(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.WARNING, logger="viewer.cache"):
        assert cache.write_json("web", "tracks-site", "k1", {"a": 1}) is None
        assert cache.write_arrays("meshes", "site", "k1", {"x": np.arange(3.0)}) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("\n" not in w and "the disk is full" in w for w in warnings), warnings
    assert "carrying on without caching web/tracks-site" in warnings[0]
    assert cache.read_json("web", "tracks-site", "k1") is None  # computed again next time
    with pytest.raises(InputError) as err:  # the meta-kernel must be on disk for SPICE: one line
        cache.store_text("meta", "change6-viewer", "k1", "KPL/MK\n", ext="tm")
    assert "the disk is full" in _one_line(err)
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []


def _app(*args, timeout=120, **env):
    run_env = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    return subprocess.run(
        [sys.executable, str(REPO / "app.py"), *args],
        cwd=REPO,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_port_in_use_is_one_line_before_the_warm_up():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        t0 = time.monotonic()
        run = _app("--port", str(port), "--kiosk")
        took = time.monotonic() - t0
    assert run.returncode == 3, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 cannot be used" in lines[0] and "--port N" in lines[0]
    assert "preparing the scene" not in run.stdout and took < 60, (run.stdout, took)


def test_the_app_without_mission_kernels_says_build_them(tmp_path):
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    shutil.copy(REPO / "kernels" / "viewer_bodies.tpc", kernels)  # the repository's own file, no mission kernel
    run = _app("--port", "0", VIEWER_KERNELS_DIR=str(kernels))
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.strip() == (
        f"error: no mission kernel in {kernels}; build them with `python -m viewer kernels build`"
    )


def test_data_fetch_site_on_a_disk_that_fills_is_one_line_and_resumes(volume, monkeypatch):  # noqa: F811
    from viewer.terrain import site

    real, calls = os.pwrite, []

    def filling(fd, data, offset):  # the disk fills after 40 lines
        calls.append(offset)
        if len(calls) > 40:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", filling)
    with pytest.raises(DataError) as err:
        site.fetch_site(60, progress=False, retries=0)
    line = _one_line(err)
    assert "(the disk is full); free some space" in line and "again to resume" in line, line
    monkeypatch.setattr(os, "pwrite", real)
    found, _ = site.fetch_site(60, progress=False)  # space freed: the same command finishes
    assert found[0].exists()
