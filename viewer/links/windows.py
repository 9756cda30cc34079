"""Interval algebra on sorted, disjoint window lists ``[(et0, et1), …]``: intersection, union, complement,
membership of epochs and the covered fraction of a span."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

Window = tuple[float, float]


def intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    """Intersection of two sorted, disjoint window lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(lists: Sequence[Sequence[Window]]) -> list[Window]:
    """Intersection of several window lists."""
    out = list(lists[0])
    for other in lists[1:]:
        out = intersect(out, other)
    return out


def union(lists: Iterable[Sequence[Window]]) -> list[Window]:
    """Union of window lists (touching windows merge)."""
    items = sorted(w for lst in lists for w in lst)
    out: list[list[float]] = []
    for lo, hi in items:
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def complement(wins: Sequence[Window], t0: float, t1: float) -> list[Window]:
    """The parts of [t0, t1] outside the (sorted, disjoint) windows."""
    out, cur = [], t0
    for lo, hi in wins:
        if hi <= cur:
            continue
        if lo >= t1:
            break
        if lo > cur:
            out.append((cur, lo))
        cur = max(cur, hi)
    if cur < t1:
        out.append((cur, t1))
    return out


def states_from_windows(wins: Sequence[Window], ets) -> np.ndarray:
    """Boolean array: is each epoch inside one of the (sorted, disjoint) windows? Vectorised (searchsorted)."""
    ets = np.asarray(ets, dtype=float)
    if len(wins) == 0:
        return np.zeros(ets.shape, dtype=bool)
    w = np.asarray(wins, dtype=float)
    k = np.searchsorted(w[:, 0], ets, side="right") - 1
    kk = np.clip(k, 0, len(w) - 1)
    return (k >= 0) & (ets <= w[kk, 1])


def covered_fraction(wins: Sequence[Window], t0: float, t1: float) -> float:
    """Fraction of [t0, t1] inside the windows (1.0 for an instant inside a window)."""
    if t1 <= t0:
        return 1.0 if bool(states_from_windows(wins, [t0])[0]) else 0.0
    total = sum(max(0.0, min(hi, t1) - max(lo, t0)) for lo, hi in wins)
    return total / (t1 - t0)
