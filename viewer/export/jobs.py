"""Background video exports for the web app: start one, watch its progress, download the file when done.

Each job runs ``python -m viewer export video ... --progress json`` in its own process, so it has its own
offscreen GL context, does not hold the server's GIL, and can be cancelled cleanly (SIGTERM: the exporter kills
its ffmpeg and deletes its temp file). The job reads the child's JSON progress lines from stderr.

No Panel here: the web app polls :meth:`ExportJob.status` (e.g. from a periodic callback) and offers
``status().path`` for download once ``state == "done"``.

>>> job = start_phase_export("powered_descent", lang="zh")      # doctest: +SKIP
>>> job.status().state, job.status().fraction                    # doctest: +SKIP
('running', 0.25)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from viewer import paths
from viewer.errors import ViewerError
from viewer.export.video import check_size

MAX_RENDERS = max(1, int(os.environ.get("VIEWER_MAX_EXPORTS", "2") or 2))  # child renders at once, this process
KEEP_S = 2 * 3600.0  # finished clips and stills older than this are removed ...
KEEP_FILES = 40  # ... and only this many of the newest are kept
_renders: list[subprocess.Popen] = []
_renders_lock = threading.Lock()


class ServerBusy(ViewerError):
    """Every render slot of this server process is taken; the visitor should try again shortly."""


def launch(argv: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start a render child process (a video export or a still), or raise :class:`ServerBusy` when
    :data:`MAX_RENDERS` of them already run in this process (``VIEWER_MAX_EXPORTS`` sets it): every session of a
    shared server counts, so three tabs cannot start three encodes on a two-core machine."""
    with _renders_lock:
        _renders[:] = [p for p in _renders if p.poll() is None]
        if len(_renders) >= MAX_RENDERS:
            raise ServerBusy(f"busy: {len(_renders)} exports are running on this server; try again in a minute")
        proc = subprocess.Popen(argv, **popen_kwargs)
        _renders.append(proc)
        return proc


def clean_exports(folder: Path | None = None, keep_s: float = KEEP_S, keep_files: int = KEEP_FILES) -> list[Path]:
    """Remove finished exports older than ``keep_s`` and all but the ``keep_files`` newest (temps of running
    exports, hidden ``.NAME.PID.part``, are left to :func:`viewer.paths.remove_stale_temps`); returns the removed."""
    folder = Path(folder) if folder is not None else exports_dir()
    try:
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        ages = {p: p.stat().st_mtime for p in files}
    except OSError:
        return []
    now = time.time()
    newest = sorted(files, key=ages.get, reverse=True)
    removed = []
    for i, p in enumerate(newest):
        if i >= keep_files or now - ages[p] > keep_s:
            try:
                p.unlink()
            except OSError:
                continue
            removed.append(p)
    return removed


@dataclass(frozen=True)
class JobStatus:
    state: str  # "running", "done", "failed", "cancelled"
    done: int
    total: int
    fps: float
    eta_s: float | None
    path: Path | None  # the finished file (only when done)
    error: str | None  # the exporter's one-line error (when failed)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class ExportJob:
    """One export running in a child process; thread-safe status."""

    def __init__(self, argv: list[str], output: Path, *, env: dict | None = None):
        self.id = uuid.uuid4().hex[:12]
        self.output = Path(output)
        self.argv = [sys.executable, "-m", "viewer", "export", "video", *argv, "--progress", "json"]
        self._lock = threading.Lock()
        self._progress = {"done": 0, "total": 0, "fps": 0.0, "eta_s": None}
        self._error: str | None = None
        self._cancelled = False
        child_env = dict(os.environ)
        child_env.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        child_env.update(env or {})
        self._proc = launch(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env,
        )
        self._reader = threading.Thread(target=self._read, name=f"export-{self.id}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._proc.stderr:
            line = line.strip()
            if line.startswith("{"):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                with self._lock:
                    self._progress.update({k: row.get(k) for k in self._progress})
            elif line.startswith("error:"):
                with self._lock:
                    self._error = line[len("error:") :].strip()

    def status(self) -> JobStatus:
        rc = self._proc.poll()
        with self._lock:
            p = dict(self._progress)
            error = self._error
        if rc is None:
            state = "running"
        elif self._cancelled:
            state = "cancelled"
        elif rc == 0 and self.output.exists():
            state = "done"
        else:
            state = "failed"
            self._reader.join(timeout=2)
            with self._lock:
                error = self._error or (
                    f"the exporter exited with status {rc}"
                    if rc
                    else f"the exporter finished but {self.output} is missing"
                )
        return JobStatus(
            state=state,
            done=int(p["done"] or 0),
            total=int(p["total"] or 0),
            fps=float(p["fps"] or 0.0),
            eta_s=p["eta_s"],
            path=self.output if state == "done" else None,
            error=error if state == "failed" else None,
        )

    def wait(self, timeout: float | None = None) -> JobStatus:
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=2)
        return self.status()

    def cancel(self, timeout: float = 20.0) -> JobStatus:
        """Stop the export; it removes its temp file and writes nothing."""
        if self._proc.poll() is None:
            self._cancelled = True
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self.status()


def exports_dir() -> Path:
    d = paths.cache_dir() / "exports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def start_phase_export(
    phase: str,
    *,
    lang: str | None = "en",
    view: str | None = None,
    size=(1280, 720),
    fps: float = 30.0,
    duration: float = 20.0,
    out_dir: Path | None = None,
    extra_args: list[str] | None = None,
) -> ExportJob:
    """Start exporting mission phase ``phase`` as an MP4 in the background; returns the running job.

    The file lands in ``out_dir`` (default: the user cache's ``exports/``) under a new name, so jobs never
    collide and nothing is overwritten; old files there are removed first (:func:`clean_exports`). Raises
    :class:`ServerBusy` while every render slot of the process is taken.
    """
    w, h = check_size(size)
    out_dir = Path(out_dir) if out_dir is not None else exports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_exports(out_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    output = out_dir / f"change6_{phase}_{lang or 'nocaptions'}_{w}x{h}_{stamp}_{uuid.uuid4().hex[:6]}.mp4"
    argv = [
        "--phase",
        phase,
        "--size",
        f"{w}x{h}",
        "--fps",
        f"{fps:g}",
        "--duration",
        f"{duration:g}",
        "--captions",
        lang or "none",
        str(output),
    ]
    if view:
        argv += ["--view", view]
    argv += list(extra_args or [])
    return ExportJob(argv, output)
