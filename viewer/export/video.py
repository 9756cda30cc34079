"""Video export: frames stepped by ET, piped to the ffmpeg that imageio-ffmpeg ships, written atomically.

The pipeline has three stages that overlap:

1. the main thread asks a :class:`FrameSource` for the frame at each ET (the mission scene renders offscreen),
   and burns in the overlays (:mod:`viewer.export.overlays`);
2. a writer thread takes frames from a small bounded queue and writes them to ffmpeg's stdin;
3. ffmpeg, a separate process, encodes H.264 (yuv420p, constant quality, ``+faststart``) or a lossless PNG
   sequence while the next frames render.

Frames are never captured in real time: frame ``i`` shows ``ets[i]`` exactly, so a slow machine makes the same
clip as a fast one, only later.

Nothing partial is left behind. ffmpeg writes to a temp file (or directory) beside the target; only a complete
encode is renamed onto the target. On any exception, ``KeyboardInterrupt``, SIGTERM or SIGHUP (the CLI turns
both into ``KeyboardInterrupt``) ffmpeg is killed and the temp is removed. Temps left by a process that is gone
(SIGKILL, a power cut) are removed before the next export to the same target. An existing target is kept unless
``force``.
"""

from __future__ import annotations

import functools
import math
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from viewer import paths
from viewer.errors import InputError, shown
from viewer.export.ffmpeg import DEFAULT_CRF, DEFAULT_PRESET, ExportError, ffmpeg_command
from viewer.export.progress import Progress

MAX_LONG_SIDE = 3840
MAX_SHORT_SIDE = 2160
MIN_SIDE = 16
QUEUE_FRAMES = 4
PNG_PATTERN = "frame_%06d.png"


@runtime_checkable
class FrameSource(Protocol):
    """Anything that renders the frame at an ET: ``render_frame(et)`` returns an (H, W, 3) uint8 array."""

    size: tuple[int, int]  # (width, height)

    def render_frame(self, et: float) -> np.ndarray: ...


# ----------------------------------------------------------------------------------------------------------------
# Inputs


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``, checked by :func:`check_size`."""
    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"size {shown(text)} is not WIDTHxHEIGHT; write it like 1920x1080")
    return check_size((int(parts[0]), int(parts[1])))


def check_size(
    size: tuple[int, int], *, video: bool = True, max_size: tuple[int, int] = (MAX_LONG_SIDE, MAX_SHORT_SIDE)
) -> tuple[int, int]:
    """Check a (width, height): within ``max_size`` (long, short side; 3840×2160 for flat frames, either
    orientation) and, for video, both even.

    H.264 in yuv420p needs even sides. The exporter never rescales to make them so; it says which side is odd.
    """
    w, h = (int(size[0]), int(size[1]))
    long, short = max_size
    if min(w, h) < MIN_SIDE:
        raise InputError(f"size {w}x{h} is too small; both sides must be at least {MIN_SIDE} px")
    if max(w, h) > long or min(w, h) > short:
        raise InputError(f"size {w}x{h} is larger than {long}x{short}; choose a smaller size")
    if video and (w % 2 or h % 2):
        odd = " and ".join(n for n, v in (("width", w), ("height", h)) if v % 2)
        even = f"{w + (w % 2)}x{h + (h % 2)}"
        raise InputError(
            f"size {w}x{h}: the {odd} must be even for H.264 yuv420p; use e.g. {even} (frames are never rescaled)"
        )
    return w, h


def check_fps(fps: float) -> float:
    fps = float(fps)
    if not (math.isfinite(fps) and 1 <= fps <= 120):
        raise InputError(f"--fps {fps:g} is out of range; choose 1 … 120 frames per second")
    return fps


def frame_ets(
    start_et: float, end_et: float, fps: float, *, speed: float | None = None, duration: float | None = None
) -> np.ndarray:
    """The ET of every frame from ``start_et`` to ``end_et``.

    Give ``speed`` (mission seconds per video second) or ``duration`` (video seconds); with neither the clip
    lasts 10 s. The clip has ``n = round(duration * fps)`` frames, at least 2; frame ``i`` shows
    ``start_et + i * step`` with ``step = speed / fps`` (or ``span / n``): each frame stands for one step of
    mission time, so the range is half-open like the phases, ``start <= et < end``.
    """
    fps = check_fps(fps)
    span = float(end_et) - float(start_et)
    if not (span > 0):
        raise InputError("the time range is empty: --to must be after --from")
    if speed is not None and duration is not None:
        raise InputError("give either --speed or --duration, not both")
    if speed is not None:
        if not (speed > 0 and math.isfinite(speed)):
            raise InputError(f"--speed {speed:g} must be a positive number of mission seconds per video second")
        duration = span / speed
    elif duration is None:
        duration = 10.0
    if not (duration > 0 and math.isfinite(duration)):
        raise InputError(f"--duration {duration:g} must be a positive number of seconds")
    n = max(2, int(round(duration * fps)))
    if n > 120 * 60 * 60:
        raise InputError(f"the clip would have {n} frames (over an hour at {fps:g} fps); raise --speed")
    step = span / n if speed is None else speed / fps
    return float(start_et) + step * np.arange(n, dtype=float)


# ----------------------------------------------------------------------------------------------------------------
# The sink: temp target, ffmpeg process, writer thread


def _temp_sibling(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.part{suffix}")


def prepare_target(target: Path, *, force: bool, is_dir: bool = False) -> Path:
    """Check that ``target`` may be written: its directory exists, and it is new unless ``force``."""
    target = Path(target).expanduser().resolve()
    if not target.parent.is_dir():
        raise InputError(f"{target.parent} does not exist; create it first or choose another output path")
    paths.remove_stale_temps(target)
    if not is_dir and target.is_dir():
        raise InputError(f"output {target} is a directory; choose a file name ending in .mp4")
    if target.exists() or target.is_symlink():
        if not force:
            raise InputError(f"{target} already exists; pass --force to overwrite it")
        if is_dir and (not target.is_dir() or any(not p.name.startswith("frame_") for p in target.iterdir())):
            raise InputError(
                f"{target} exists and is not a PNG sequence written by the exporter; choose a new directory"
            )
    if not is_dir and target.suffix.lower() != ".mp4":
        raise InputError(f"output {shown(target.name)} must end in .mp4 (or use --png-dir DIR for a PNG sequence)")
    paths.check_writable(_temp_sibling(target, ".mp4" if not is_dir else ""))  # a read-only folder: before rendering
    return target


@dataclass
class SinkStats:
    frames: int = 0
    blocked_s: float = 0.0  # main thread waiting for room in the queue
    write_s: float = 0.0  # writer thread inside pipe writes (ffmpeg not keeping up shows here)
    hook_s: float = 0.0  # writer thread burning in overlays
    drain_s: float = 0.0  # ffmpeg finishing after the last frame


class FfmpegSink:
    """Feeds frames to ffmpeg through a bounded queue and a writer thread; commits or aborts atomically.

    Use as a context manager: leaving the block normally requires :meth:`commit` to have been called; leaving
    it any other way (exception, ``KeyboardInterrupt``) kills ffmpeg and removes the temp output.
    """

    def __init__(
        self,
        target: Path,
        size: tuple[int, int],
        fps: float,
        *,
        kind: str = "mp4",
        force: bool = False,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        threads: int | None = None,
        queue_frames: int = QUEUE_FRAMES,
        max_size: tuple[int, int] = (MAX_LONG_SIDE, MAX_SHORT_SIDE),
        finish: Callable[[Path], None] | None = None,
    ):
        self.kind = kind
        self.size = check_size(size, video=kind == "mp4", max_size=max_size)
        self.finish = finish  # runs on the finished temp file before it is renamed (e.g. 360° metadata)
        self.fps = check_fps(fps)
        self.target = prepare_target(target, force=force, is_dir=kind == "png")
        self.temp = _temp_sibling(self.target, ".mp4" if kind == "mp4" else "")
        out = str(self.temp / PNG_PATTERN) if kind == "png" else str(self.temp)
        self.cmd = ffmpeg_command(self.size, self.fps, out, kind=kind, crf=crf, preset=preset, threads=threads)
        self.stats = SinkStats()
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_frames)))
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None
        self._stderr = None
        self._committed = False
        self._written = 0

    # -- lifecycle
    def __enter__(self) -> FfmpegSink:
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or not self._committed:
            self.abort()

    def open(self) -> None:
        if self.kind == "png":
            self.temp.mkdir()
        self._stderr = tempfile.TemporaryFile()
        try:
            # A new session: a terminal's Ctrl-C reaches only us, and we stop ffmpeg ourselves (kill + delete)
            # rather than have it finish a partial file on its own.
            self._proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True
            )
        except BaseException:
            self._remove_temp()
            raise
        self._thread = threading.Thread(target=self._writer, name="ffmpeg-writer", daemon=True)
        self._thread.start()

    def _writer(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._write_queued(self._proc.stdin)
        except OSError as exc:  # BrokenPipe: ffmpeg died; write()/commit() report ffmpeg's own message
            self._stop_writing(exc)
        except Exception as exc:  # noqa: BLE001 - an overlay failed; the main thread re-raises it as itself
            self._stop_writing(exc)

    def _write_queued(self, stdin) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            frame, hook = item
            if hook is not None:  # overlays, burnt in here while the main thread renders the next frame
                t0 = time.perf_counter()
                frame = hook(frame)
                self.stats.hook_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            stdin.write(memoryview(frame).cast("B"))
            self.stats.write_s += time.perf_counter() - t0
            self._written += 1

    def _stop_writing(self, exc: Exception) -> None:
        """Keep the error for the main thread and drain the queue, so the producer never blocks on a dead pipe."""
        self._error = exc
        while True:
            try:
                if self._queue.get(timeout=0.5) is None:
                    return
            except queue.Empty:
                if self._committed or self._proc.poll() is not None:
                    return

    def _ffmpeg_message(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1] if text else ""

    def _raise_encoder_failure(self) -> None:
        if self._error is not None and not isinstance(self._error, OSError):
            raise self._error  # an overlay failed in the writer thread: report it as it is
        rc = self._proc.poll() if self._proc else None
        msg = self._ffmpeg_message() or (repr(self._error) if self._error else "no message")
        raise ExportError(f"ffmpeg stopped (exit {rc}) while writing {self.target.name}: {msg}")

    # -- frames
    def write(self, frame: np.ndarray, hook: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Queue one (H, W, 3) uint8 frame; blocks while the queue is full (ffmpeg is the bottleneck).

        The frame is copied first (the renderer may reuse its buffer); ``hook(copy)``, if given, runs in the
        writer thread and returns the frame to encode.
        """
        h, w = frame.shape[:2]
        if (w, h) != self.size or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ExportError(
                f"a frame is {w}x{h}x{frame.shape[2] if frame.ndim == 3 else 1} {frame.dtype}, "
                f"expected {self.size[0]}x{self.size[1]}x3 uint8; frames are never rescaled"
            )
        frame = np.array(frame, dtype=np.uint8, order="C", copy=True)
        t0 = time.perf_counter()
        while True:
            if self._error is not None or (self._proc is not None and self._proc.poll() is not None):
                self._raise_encoder_failure()
            try:
                self._queue.put((frame, hook), timeout=0.25)
                break
            except queue.Full:
                continue
        self.stats.blocked_s += time.perf_counter() - t0
        self.stats.frames += 1

    def flush(self) -> None:
        """Wait until the writer thread has taken every queued frame and written it."""
        while self._written < self.stats.frames:
            if self._error is not None or (self._proc is not None and self._proc.poll() is not None):
                self._raise_encoder_failure()
            time.sleep(0.005)

    def commit(self) -> Path:
        """Finish the encode and rename the temp output onto the target; returns the target."""
        if self.stats.frames == 0:
            raise ExportError("no frames were written")
        t0 = time.perf_counter()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            self._raise_encoder_failure()
        self._proc.stdin.close()
        rc = self._proc.wait()
        self.stats.drain_s = time.perf_counter() - t0
        if rc != 0:
            self._raise_encoder_failure()
        if self.finish is not None:
            self.finish(self.temp)
        if self.kind == "png":
            written = len(list(self.temp.glob("frame_*.png")))
            if written != self.stats.frames:
                raise ExportError(f"ffmpeg wrote {written} PNGs for {self.stats.frames} frames")
            if self.target.exists():
                old = _temp_sibling(self.target, ".old")
                os.replace(self.target, old)
                os.replace(self.temp, self.target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.temp, self.target)
        else:
            os.replace(self.temp, self.target)
        self._committed = True
        self._close_stderr()
        return self.target

    def abort(self) -> None:
        """Kill ffmpeg, stop the writer and remove the temp output. Safe to call more than once."""
        if self._committed:
            return
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
        if self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
            self._thread.join(timeout=5)
        self._remove_temp()
        self._close_stderr()

    def _remove_temp(self) -> None:
        if self.temp.is_dir():
            shutil.rmtree(self.temp, ignore_errors=True)
        else:
            try:
                self.temp.unlink()
            except OSError:  # absent, or a read-only folder: ffmpeg's own error is the one reported
                pass

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


# ----------------------------------------------------------------------------------------------------------------
# The export loop


@dataclass
class ExportResult:
    path: Path
    frames: int
    seconds: float  # wall time of the whole export
    render_s: float  # inside source.render_frame
    overlay_s: float  # burning in overlays
    sink: SinkStats = field(default_factory=SinkStats)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


FrameHook = Callable[[np.ndarray, float, int], np.ndarray]


def export(
    source: FrameSource,
    ets: Iterable[float],
    target: Path,
    *,
    fps: float,
    kind: str = "mp4",
    overlay: FrameHook | None = None,
    tail: Callable[[], Iterable[np.ndarray]] | None = None,
    force: bool = False,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    threads: int | None = None,
    progress: Progress | None = None,
    overlay_in_writer: bool = True,
    max_size: tuple[int, int] = (MAX_LONG_SIDE, MAX_SHORT_SIDE),
    finish: Callable[[Path], None] | None = None,
) -> ExportResult:
    """Render ``source`` at every ET and encode it to ``target`` (``kind`` "mp4" or "png").

    ``overlay(frame, et, index)`` burns text into each frame and returns it; with ``overlay_in_writer`` it runs
    in the writer thread, overlapping the next render (VTK releases the GIL while it renders). ``tail()`` yields
    extra frames after the last ET (the closing credits); it runs after every overlay. Either the whole clip
    lands at ``target`` or nothing does. ``max_size`` and ``finish`` go to :class:`FfmpegSink` (panoramas are
    larger than flat frames; a 360° MP4 gets its spherical metadata in ``finish``).
    """
    ets = np.asarray(list(ets) if not isinstance(ets, np.ndarray) else ets, dtype=float)
    t_start = time.perf_counter()
    render_s = overlay_s = 0.0
    sink = FfmpegSink(
        target,
        source.size,
        fps,
        kind=kind,
        force=force,
        crf=crf,
        preset=preset,
        threads=threads,
        max_size=max_size,
        finish=finish,
    )
    with sink:
        for i, et in enumerate(ets):
            t0 = time.perf_counter()
            frame = source.render_frame(float(et))
            render_s += time.perf_counter() - t0
            hook = None
            if overlay is not None and overlay_in_writer:
                hook = functools.partial(_apply_overlay, overlay, float(et), i)
            elif overlay is not None:
                t1 = time.perf_counter()
                frame = overlay(np.array(frame, dtype=np.uint8, order="C", copy=True), float(et), i)
                overlay_s += time.perf_counter() - t1
            sink.write(frame, hook)
            if progress is not None:
                progress.update(sink.stats.frames)
        if tail is not None:
            sink.flush()  # the credits may use what the overlays saw
            for frame in tail():
                sink.write(frame)
                if progress is not None:
                    progress.update(sink.stats.frames)
        path = sink.commit()
    return ExportResult(
        path, sink.stats.frames, time.perf_counter() - t_start, render_s, overlay_s + sink.stats.hook_s, sink.stats
    )


def _apply_overlay(overlay: FrameHook, et: float, index: int, frame: np.ndarray) -> np.ndarray:
    return overlay(frame, et, index)


INTERRUPT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class sigterm_as_interrupt:
    """Within the block, SIGTERM and SIGHUP (a closed terminal) raise ``KeyboardInterrupt`` in the main thread, so
    cleanup runs."""

    def __enter__(self):
        self._old = {}
        if threading.current_thread() is threading.main_thread():

            def _handler(signum, frame):
                raise KeyboardInterrupt(f"signal {signum}")

            self._old = {sig: signal.signal(sig, _handler) for sig in INTERRUPT_SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False
