"""Spherical Video V2 metadata for 360° MP4s: the ``st3d`` and ``sv3d`` boxes in the video sample entry.

ffmpeg's MP4 muxer writes these boxes only when its input already carries spherical side data, and raw frames
on a pipe carry none; so after the encode the boxes are added here, as the Spherical Video V2 specification
(google/spatial-media, docs/spherical-video-v2-rfc.md) lays them out:

- ``st3d`` (full box): ``stereo_mode`` 0, monoscopic;
- ``sv3d``: ``svhd`` (full box: the metadata source, a null-terminated string) and ``proj``, holding ``prhd``
  (full box: pose yaw, pitch, roll, 16.16 fixed point, all 0) and ``equi`` (full box: projection bounds top,
  bottom, left, right, 0.32 fixed point, all 0: the whole sphere).

They go at the end of the ``avc1`` sample entry of the video track (``moov/trak/mdia/minf/stbl/stsd``). Every
enclosing box grows by their size; when ``moov`` precedes ``mdat`` (``+faststart``) the chunk offsets
(``stco``/``co64``) move by the same amount. The file is rewritten beside itself (only ``moov`` is
read into memory) and renamed over it.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from viewer.export.ffmpeg import ExportError

METADATA_SOURCE = "change6-viewer"
_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd")
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
VISUAL_SAMPLE_ENTRY = 78  # bytes of fields after the box header, before the child boxes (ISO/IEC 14496-12)
STSD_HEADER = 8  # version/flags and entry_count


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def equirect_boxes(source: str = METADATA_SOURCE) -> bytes:
    """``st3d`` + ``sv3d`` for a monoscopic, full-sphere equirectangular video."""
    st3d = _full_box(b"st3d", b"\x00")
    svhd = _full_box(b"svhd", source.encode("utf-8") + b"\x00")
    prhd = _full_box(b"prhd", struct.pack(">iii", 0, 0, 0))
    equi = _full_box(b"equi", struct.pack(">IIII", 0, 0, 0, 0))
    return st3d + _box(b"sv3d", svhd + _box(b"proj", prhd + equi))


def _children(data: bytes, start: int, end: int):
    """(kind, box start, header length, box end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ExportError(f"the MP4 has a damaged {kind.decode('latin-1')!r} box; export it again")
        yield kind, pos, header, pos + size
        pos += size


def _with_size(data: bytes, start: int, header: int, end: int, grow: int) -> bytes:
    """The header of the box at ``start`` with its size grown by ``grow`` (32-bit or 64-bit form kept)."""
    if header == 16:
        return data[start : start + 8] + struct.pack(">Q", end - start + grow)
    return struct.pack(">I", end - start + grow) + data[start + 4 : start + 8]


def _is_video_trak(data: bytes, start: int, header: int, end: int) -> bool:
    for kind, s, h, e in _children(data, start + header, end):
        if kind == b"mdia":
            for k2, s2, h2, _e2 in _children(data, s + h, e):
                if k2 == b"hdlr":
                    return data[s2 + h2 + 8 : s2 + h2 + 12] == b"vide"
    return False


def _insert(data: bytes, start: int, end: int, depth: int, extra: bytes) -> bytes | None:
    """The box data[start:end] (on the path at ``depth``) with ``extra`` appended to its video sample entry."""
    kind = _PATH[depth]
    header = 16 if struct.unpack(">I", data[start : start + 4])[0] == 1 else 8
    body_start = start + header
    if kind == b"stsd":
        first = body_start + STSD_HEADER
        entries = list(_children(data, first, end))
        if not entries or entries[0][0] not in (b"avc1", b"avc3"):
            return None
        _k, es, eh, ee = entries[0]
        if ee - es < eh + VISUAL_SAMPLE_ENTRY:
            raise ExportError("the MP4's video sample entry is too short; export it again")
        entry = _with_size(data, es, eh, ee, len(extra)) + data[es + eh : ee] + extra
        body = data[body_start:es] + entry + data[ee:end]
        return _with_size(data, start, header, end, len(extra)) + body
    parts, found = [], False
    for k, s, h, e in _children(data, body_start, end):
        if not found and k == _PATH[depth + 1] and (k != b"trak" or _is_video_trak(data, s, h, e)):
            new = _insert(data, s, e, depth + 1, extra)
            if new is not None:
                parts.append(new)
                found = True
                continue
        parts.append(data[s:e])
    if not found:
        return None
    return _with_size(data, start, header, end, len(extra)) + b"".join(parts)


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, s, h, e in _children(bytes(moov), start, end):
        if kind in _CONTAINERS:
            _shift_chunk_offsets(moov, s + h, e, delta)
        elif kind in (b"stco", b"co64"):
            n = struct.unpack(">I", moov[s + h + 4 : s + h + 8])[0]
            fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
            base = s + h + 8
            for i in range(n):
                at = base + i * width
                (offset,) = struct.unpack(fmt, moov[at : at + width])
                moov[at : at + width] = struct.pack(fmt, offset + delta)


def _top_level(fh, size: int) -> list[tuple[bytes, int, int, int]]:
    """(kind, start, header length, end) of each top-level box of an open file, reading only the headers."""
    out, pos = [], 0
    while pos + 8 <= size:
        fh.seek(pos)
        head = fh.read(16)
        length, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if length == 1:
            length, header = struct.unpack(">Q", head[8:16])[0], 16
        elif length == 0:
            length = size - pos
        if length < header or pos + length > size:
            raise ExportError(f"the MP4 has a damaged top-level {kind.decode('latin-1')!r} box; export it again")
        out.append((kind, pos, header, pos + length))
        pos += length
    return out


def add_equirect_metadata(path: Path) -> None:
    """Add the Spherical Video V2 boxes (mono, equirectangular) to the MP4 at ``path``, atomically."""
    path = Path(path)
    extra = equirect_boxes()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.sv3d")
    with open(path, "rb") as src:
        top = _top_level(src, path.stat().st_size)
        moov = next((t for t in top if t[0] == b"moov"), None)
        mdat = next((t for t in top if t[0] == b"mdat"), None)
        if moov is None or mdat is None:
            raise ExportError(f"{path.name} has no moov or mdat box; it is not a finished MP4")
        _k, ms, _mh, me = moov
        src.seek(ms)
        data = src.read(me - ms)
        new_moov = _insert(data, 0, len(data), 0, extra)
        if new_moov is None:
            raise ExportError(f"{path.name} has no H.264 video track to mark as 360°")
        new_moov = bytearray(new_moov)
        if ms < mdat[1]:  # moov first (+faststart): the media data moves down by the boxes' size
            header = 16 if struct.unpack(">I", new_moov[:4])[0] == 1 else 8
            _shift_chunk_offsets(new_moov, header, len(new_moov), len(extra))
        try:
            with open(tmp, "wb") as out:
                src.seek(0)
                out.write(src.read(ms))
                out.write(new_moov)
                src.seek(me)
                shutil.copyfileobj(src, out, 1 << 22)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
