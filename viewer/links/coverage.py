"""What the loaded kernels cover: each body's SPK intervals, the kernel files loaded (a cache-key source), and
the epoch at which the site is first known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import spiceypy

from viewer.errors import KernelError
from viewer.links.windows import Window, union


def body_coverage(name: str) -> list[Window]:
    """Union of the loaded SPK coverage of a body (its intervals, sorted). [] when no loaded SPK covers it."""
    try:
        code = spiceypy.bods2c(name)
    except spiceypy.utils.exceptions.SpiceyError:  # the name is unknown: no names kernel defines it
        return []
    wins: list[Window] = []
    for i in range(spiceypy.ktotal("SPK")):
        file = spiceypy.kdata(i, "SPK")[0]
        if code not in set(spiceypy.spkobj(file)):
            continue
        cov = spiceypy.spkcov(file, code)
        wins += [tuple(spiceypy.wnfetd(cov, j)) for j in range(spiceypy.wncard(cov))]
    return union([wins])


def loaded_kernel_files() -> list[Path]:
    """Every loaded kernel file except meta-kernels (which only list the others), in load order."""
    out = []
    for i in range(spiceypy.ktotal("ALL")):
        file, kind = spiceypy.kdata(i, "ALL")[:2]
        if kind != "META":
            out.append(Path(file))
    return out


def first_epoch(body: str) -> np.ndarray:
    """[et] of the start of ``body``'s SPK coverage; a one-line KernelError when nothing covers it."""
    cov = body_coverage(body)
    if not cov:
        raise KernelError(f"no loaded SPK covers {body}; rebuild with `python -m viewer kernels build`")
    return np.array([cov[0][0]])
