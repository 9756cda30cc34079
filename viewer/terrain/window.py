"""Fetching a window of a remote LOLA image line by line, resumably, into a small local PDS3 product.

A window is ``lines × samples`` pixels starting at (``line0``, ``sample0``) of the remote image. Each image line of
the window is one byte range; a request asks for ``ranges_per_request`` of them at once while the server answers
``multipart/byteranges``, else one (:class:`~viewer.terrain.remote.RangeReader`), over a few kept-open connections
in parallel. Lines land in ``<name>.img.part`` at their final place, and ``<name>.img.done`` records
(one byte per line) which are complete, so an interrupted fetch resumes with the missing lines only, on the same
run (``retries`` per line) or on the next one.

Before the result is kept it is checked against the source label: each answer's ``Content-Range`` and size (in
the reader), the file size the server announces against the label's, and every value against the label's
``MINIMUM``/``MAXIMUM``. Then the image is renamed into place (atomic) and its label written beside it (atomic):
a PDS3 label of the same sample type, scaling, offset and projection, the line and sample offsets moved to the
window, plus where it came from (``SOURCE_PRODUCT_ID``, ``SOURCE_FILE_URL``, the first source line and sample).
:class:`~viewer.terrain.lola.LolaDem` opens it like any LOLA product.
"""

from __future__ import annotations

import hashlib
import os
import queue
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.errors import DataError
from viewer.paths import atomic_write_bytes, atomic_write_text, write_error
from viewer.terrain.archive import Remote
from viewer.terrain.download import Progress
from viewer.terrain.lola import find_key, parse_label
from viewer.terrain.remote import Dropped, RangeReader


@dataclass(frozen=True)
class Window:
    """The pixels to fetch: the remote product, the first line and sample (0-based) and the size."""

    remote: Remote
    line0: int
    lines: int
    sample0: int
    samples: int

    @property
    def key(self) -> str:
        """Names the partial files of this very window (an attempt at another window never resumes them)."""
        text = f"{self.remote.image_url}|{self.line0}|{self.sample0}|{self.lines}|{self.samples}"
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    @property
    def nbytes(self) -> int:
        return self.lines * self.samples * self.remote.layout.dtype.itemsize

    def byte_range(self, i: int) -> tuple[int, int]:
        """[start, stop) in the remote file of the window's line ``i``."""
        lay = self.remote.layout
        start = lay.byte_offset + (self.line0 + i) * lay.row_bytes + self.sample0 * lay.dtype.itemsize
        return start, start + self.samples * lay.dtype.itemsize


def _take(todo: queue.Queue, n: int) -> list[int]:
    out = []
    while len(out) < n:
        try:
            out.append(todo.get_nowait())
        except queue.Empty:
            break
    return out


def _read_lines(reader: RangeReader, win: Window, lines: list[int], state: dict, retries: int, part: Path):
    """The bytes of ``lines`` (several per request while the server answers multipart), with retries."""
    total = win.remote.layout.file_size
    attempt = 0
    while True:
        try:
            if state["multi"] is not False and len(lines) > 1:
                got = reader.read_many([win.byte_range(i) for i in lines], total=total)
                if got is not None:
                    state["multi"] = True
                    return got
                state["multi"] = False  # the server answers one range per request
            return [reader.read(*win.byte_range(i), total=total) for i in lines]
        except Dropped as exc:
            attempt += 1
            if attempt > retries:
                err = DataError(
                    f"{win.remote.image_url}: the connection dropped {attempt} times near line "
                    f"{win.line0 + lines[0] + 1} ({exc}); run the same command again to resume from {part.name}",
                    path=part,
                )
                err.resumable = True
                raise err from None


def _worker(win: Window, todo: queue.Queue, part: Path, done: bytearray, state: dict, retries: int) -> None:
    row_len = win.samples * win.remote.layout.dtype.itemsize
    fd = os.open(part, os.O_WRONLY)
    try:
        with RangeReader(win.remote.image_url, stats=state["stats"]) as reader:
            while not state["stop"].is_set():
                lines = _take(todo, state["batch"] if state["multi"] is not False else 1)
                if not lines:
                    return
                for i, data in zip(lines, _read_lines(reader, win, lines, state, retries, part)):
                    os.pwrite(fd, data, i * row_len)
                    with state["lock"]:
                        done[i] = 1
                        state["progress"].update(len(data))
    except DataError as exc:
        with state["lock"]:
            state.setdefault("error", exc)
        state["stop"].set()
    except OSError as exc:  # writing the partial file failed (disk full, permissions)
        with state["lock"]:
            line = f"{write_error(part, exc)}; then run the same command again to resume"
            state.setdefault("error", DataError(line, path=part))
        state["stop"].set()
    finally:
        os.close(fd)


def _save_done(part: Path, done_path: Path, done: bytearray, lock: threading.Lock) -> None:
    """Persist the line map, after the lines it marks are on disk."""
    with lock:
        snapshot = bytes(done)
    fd = os.open(part, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    atomic_write_bytes(done_path, snapshot)


def _run_workers(win, todo, files, done, state, retries: int, connections: int, save_every_s: float = 2.0) -> None:
    """Fetch the queued lines on ``connections`` threads; the line map is saved every ``save_every_s`` and at the
    end, so even a killed process resumes from about where it stopped."""
    part, done_path = files
    threads = [
        threading.Thread(target=_worker, args=(win, todo, part, done, state, retries), daemon=True)
        for _ in range(max(1, min(connections, todo.qsize())))
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=save_every_s)
                if t.is_alive():
                    _save_done(part, done_path, done, state["lock"])
    finally:
        _save_done(part, done_path, done, state["lock"])  # what has arrived stays for the next attempt


def _prepare_part(win: Window, part: Path, done_path: Path) -> bytearray:
    """The done-map of an earlier attempt at this very window, or a fresh one (and a fresh, sparse ``.part``)."""
    if part.exists() and done_path.exists() and part.stat().st_size == win.nbytes:
        done = bytearray(done_path.read_bytes())
        if len(done) == win.lines and set(done) <= {0, 1}:
            return done
    part.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "wb") as fh:
        fh.truncate(win.nbytes)
    done = bytearray(win.lines)
    atomic_write_bytes(done_path, bytes(done))
    return done


def fetch_window(
    win: Window,
    dest: Path,
    *,
    retries: int = 3,
    connections: int = 4,
    ranges_per_request: int = 64,
    progress: bool = True,
    stream=None,
    stats: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Fetch ``win`` into ``dest`` (``.img``, its ``.lbl`` beside it); resumes an earlier interrupted attempt."""
    stream = stream or sys.stderr
    stats = stats if stats is not None else {}
    dest = Path(dest)
    part, done_path = partial_paths(win, dest)
    for stale in dest.parent.glob(f"{dest.name}.*.part"):
        if stale != part:  # an attempt at another window
            stale.unlink(missing_ok=True)
            stale.with_suffix(".done").unlink(missing_ok=True)
    done = _prepare_part(win, part, done_path)
    todo: queue.Queue = queue.Queue()
    for i in range(win.lines):
        if not done[i]:
            todo.put(i)
    row_len = win.samples * win.remote.layout.dtype.itemsize
    have = (win.lines - todo.qsize()) * row_len
    bar = Progress(dest.name, win.nbytes, have, stream, progress)
    state = {"stop": threading.Event(), "lock": threading.Lock(), "progress": bar, "stats": stats}
    state.update(multi=None, batch=max(1, int(ranges_per_request)))
    _run_workers(win, todo, (part, done_path), done, state, retries, connections)
    if "error" not in state and not all(done):
        state["error"] = DataError(
            f"{win.remote.image_url}: {done.count(0)} of {win.lines} window lines did not arrive; "
            f"run the same command again to resume from {part.name}",
            path=part,
        )
        state["error"].resumable = True
    if "error" in state:
        if not getattr(state["error"], "resumable", False):
            part.unlink(missing_ok=True)  # nothing of a refused answer is kept
            done_path.unlink(missing_ok=True)
        raise state["error"]
    bar.update(0, final=True)
    _verify_values(win, part, done_path)
    os.replace(part, dest)
    atomic_write_text(dest.with_suffix(".lbl"), window_label(win, dest, extra or {}, part_values(dest, win)))
    done_path.unlink(missing_ok=True)
    return dest


def part_values(path: Path, win: Window) -> np.ndarray:
    lay = win.remote.layout
    return np.fromfile(path, dtype=lay.dtype).reshape(win.lines, win.samples)


def partial_paths(win: Window, dest: Path) -> tuple[Path, Path]:
    """The ``.part`` image and ``.done`` line map of an attempt at ``win``."""
    return dest.with_name(f"{dest.name}.{win.key}.part"), dest.with_name(f"{dest.name}.{win.key}.done")


def _verify_values(win: Window, part: Path, done_path: Path) -> None:
    """Every value within the label's MINIMUM … MAXIMUM; else the data is not the product the label describes."""
    dn = win.remote.layout.dn_range
    if dn is None:
        return
    values = part_values(part, win)
    lo, hi = float(values.min()), float(values.max())
    if lo < dn[0] or hi > dn[1]:
        part.unlink(missing_ok=True)
        done_path.unlink(missing_ok=True)
        raise DataError(
            f"{win.remote.image_url}: values {lo:g} … {hi:g} lie outside the label's {dn[0]:g} … {dn[1]:g} "
            f"(MINIMUM/MAXIMUM of {win.remote.product.label_url.rsplit('/', 1)[-1]}); the file is not the product its "
            "label describes. Nothing was kept; report it to the archive or fetch again later",
            path=win.remote.image_url,
        )


def _fmt(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def window_label(win: Window, dest: Path, extra: dict, values: np.ndarray) -> str:
    """The PDS3 label of the local window product."""
    src = parse_label(win.remote.label_text)
    lay, g = win.remote.layout, win.remote.layout.grid
    image = find_key(src, "IMAGE") if isinstance(find_key(src, "IMAGE"), dict) else src
    proj = find_key(src, "IMAGE_MAP_PROJECTION") or {}
    lat_top, lat_bottom = g.lat_of(win.line0 - 0.5), g.lat_of(win.line0 + win.lines - 0.5)
    lon_west, lon_east = g.lon_of(win.sample0 - 0.5), g.lon_of(win.sample0 + win.samples - 0.5)
    head = {
        "PDS_VERSION_ID": "PDS3",
        "DATA_SET_ID": str(find_key(src, "DATA_SET_ID", "LRO-L-LOLA-4-GDR-V1.0")),
        "PRODUCT_ID": f"{win.remote.product.name}_WINDOW",
        "SOURCE_PRODUCT_ID": str(find_key(src, "PRODUCT_ID", win.remote.product.name)),
        "SOURCE_PRODUCT_VERSION_ID": str(find_key(src, "PRODUCT_VERSION_ID", "unknown")),
        "SOURCE_FILE_URL": win.remote.image_url,
        "SOURCE_LABEL_URL": win.remote.product.label_url,
        "SOURCE_LINE_FIRST_PIXEL": win.line0 + 1,
        "SOURCE_SAMPLE_FIRST_PIXEL": win.sample0 + 1,
        **extra,
        "RECORD_TYPE": "FIXED_LENGTH",
        "RECORD_BYTES": win.samples * lay.dtype.itemsize,
        "FILE_RECORDS": win.lines,
        "^IMAGE": dest.name,
    }
    img = {
        "LINES": win.lines,
        "LINE_SAMPLES": win.samples,
        "SAMPLE_TYPE": str(find_key(image, "SAMPLE_TYPE")),
        "SAMPLE_BITS": int(find_key(image, "SAMPLE_BITS")),
        "UNIT": str(find_key(image, "UNIT", "METER")),
        "SCALING_FACTOR": lay.scale,
        "OFFSET": lay.offset,
        "MINIMUM": int(values.min()) if values.dtype.kind in "iu" else float(values.min()),
        "MAXIMUM": int(values.max()) if values.dtype.kind in "iu" else float(values.max()),
    }
    keep = ("A_AXIS_RADIUS", "B_AXIS_RADIUS", "C_AXIS_RADIUS", "POSITIVE_LONGITUDE_DIRECTION", "CENTER_LATITUDE")
    mp = {
        "MAP_PROJECTION_TYPE": "SIMPLE CYLINDRICAL",
        "MAP_RESOLUTION": g.resolution,
        "MAP_SCALE": float(find_key(proj, "MAP_SCALE", 0.0)),
        **{k: proj[k] for k in keep if k in proj},
        "CENTER_LONGITUDE": g.center_lon,
        "LINE_PROJECTION_OFFSET": g.line_offset - win.line0,
        "SAMPLE_PROJECTION_OFFSET": g.sample_offset - win.sample0,
        "MAXIMUM_LATITUDE": float(lat_top),
        "MINIMUM_LATITUDE": float(lat_bottom),
        "WESTERNMOST_LONGITUDE": float(lon_west),
        "EASTERNMOST_LONGITUDE": float(lon_east),
        "COORDINATE_SYSTEM_NAME": str(find_key(proj, "COORDINATE_SYSTEM_NAME", "MEAN EARTH/POLAR AXIS OF DE421")),
    }
    lines = [f"{k:<26}= {_fmt(v)}" for k, v in head.items()]
    lines += ["OBJECT                    = IMAGE"] + [f"  {k:<24}= {_fmt(v)}" for k, v in img.items()]
    lines += ["END_OBJECT                = IMAGE", "OBJECT                    = IMAGE_MAP_PROJECTION"]
    lines += [f"  {k:<24}= {_fmt(v)}" for k, v in mp.items()]
    lines += ["END_OBJECT                = IMAGE_MAP_PROJECTION", "END", ""]
    return "\r\n".join(lines)
