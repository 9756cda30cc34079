"""The window search: when each link is open, from the geometry.

Each elementary link is sampled on a grid (the model's ``step_s``, default 60 s). Around grid points where its
continuous margin (elevation above the mask or horizon, angle of the ray from a blocking limb) has a local extremum
close to zero it is sampled every ``DENSE_S``, so that windows and gaps shorter than a step are not missed, and each
change of state is bisected down to ``tolerance_s`` (0.01 s). Every position is read Moon-centred in J2000, one
SPICE query per body over the grid, with the Earth-fixed and topocentric rotations read once per epoch. Composite
links are interval algebra of their parts.
"""

from __future__ import annotations

import math
import time

import numpy as np

from viewer.links.kinds import COMPOSITES, KINDS, Link, all_hold, fetch
from viewer.links.windows import Window

DENSE_S = 2.0  # sample spacing around near-zero extrema of a link's margin (brief windows and gaps)


def _grid_range(step_s: float, wins: list[Window]) -> tuple[int, int] | None:
    if not wins:
        return None
    return math.ceil(wins[0][0] / step_s), math.floor(wins[-1][1] / step_s)


def search(model) -> dict[str, list[Window]]:
    """Every link's windows of ``model`` (a :class:`~viewer.links.model.RelayModel`), searched without a cache."""
    t0 = time.perf_counter()
    model.densified = 0
    elementary = [link for link in model.links.values() if not link.composite]
    # one grid query per (target, frame, observer) over the union of the links that need it
    need: dict[tuple, list[int]] = {}
    for link in elementary:
        rng = _grid_range(model.step_s, model.coverage(link.id))
        if rng is None:
            continue
        for key in KINDS[link.kind].reads(link, model.bodies):
            lo, hi = need.get(key, [rng[0], rng[1]])
            need[key] = [min(lo, rng[0]), max(hi, rng[1])]
    grid = {key: (k0, fetch(model.bodies, key, np.arange(k0, k1 + 1) * model.step_s)) for key, (k0, k1) in need.items()}
    found: dict[str, list[Window]] = {}
    for link in elementary:
        found[link.id] = [w for c0, c1 in model.coverage(link.id) for w in _search_interval(model, link, c0, c1, grid)]
    for link in model.links.values():  # parts come before the composites that use them
        if link.composite:
            found[link.id] = COMPOSITES[link.kind][0]([found[p] for p in link.parts])
    model.search_seconds = time.perf_counter() - t0
    return found


def _grid_reads(model, link: Link, c0: float, c1: float, grid: dict) -> tuple[np.ndarray, dict]:
    """The epochs (c0, the grid points inside, c1) and the link's reads there, sliced from the shared grid."""
    step = model.step_s
    k0, k1 = math.ceil(c0 / step), math.floor(c1 / step)
    ends = np.array([c0, c1])
    pos = {}
    for key in KINDS[link.kind].reads(link, model.bodies):
        g0, arr = grid[key]
        body = arr[k0 - g0 : k1 - g0 + 1] if k1 >= k0 else np.zeros((0,) + arr.shape[1:])
        edge = fetch(model.bodies, key, ends)
        pos[key] = np.concatenate([edge[:1], body, edge[1:]])
    ets = np.concatenate([[c0], np.arange(k0, k1 + 1) * step, [c1]])
    keep = np.concatenate([[True], np.diff(ets) > 0])  # grid points that coincide with the coverage edges
    return ets[keep], {key: p[keep] for key, p in pos.items()}


def _search_interval(model, link: Link, c0: float, c1: float, grid: dict) -> list[Window]:
    ets, pos = _grid_reads(model, link, c0, c1, grid)
    checks, margin = model.checks(link, pos, margin=True)
    ets, states = _densify(model, link, ets, all_hold(checks), margin)
    change = np.flatnonzero(states[1:] != states[:-1])
    lo, hi = ets[change].copy(), ets[change + 1].copy()
    s_lo = states[change]
    while len(lo) and np.max(hi - lo) > model.tolerance_s:
        mid = 0.5 * (lo + hi)
        same = model.evaluate_at(link, mid) == s_lo
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    edges = 0.5 * (lo + hi)
    out: list[Window] = []
    start = c0 if states[0] else None
    for t, was_open in zip(edges, s_lo):
        if was_open:
            out.append((start, float(t)))
            start = None
        else:
            start = float(t)
    if start is not None:
        out.append((start, c1))
    return out


def _densify(model, link: Link, ets: np.ndarray, states: np.ndarray, margin: np.ndarray):
    """Sample every ``DENSE_S`` around grid points where the margin has a local extremum close enough to zero
    (within twice its change over one step) that a brief window or gap may hide between the grid points."""
    if len(ets) < 3:
        return ets, states
    left, mid, right = margin[:-2], margin[1:-1], margin[2:]
    reach = 2.0 * np.maximum(np.abs(mid - left), np.abs(right - mid))
    dip = (mid < left) & (mid < right) & (mid > 0) & (mid < reach)
    bump = (mid > left) & (mid > right) & (mid <= 0) & (-mid < reach)
    steady = (states[:-2] == states[1:-1]) & (states[1:-1] == states[2:])
    k = np.flatnonzero((dip | bump) & steady) + 1
    model.densified += len(k)
    if not len(k):
        return ets, states
    n = max(2, int(np.ceil(2.0 * model.step_s / DENSE_S)))
    frac = np.arange(1, n) / n
    extra = (ets[k - 1][:, None] + (ets[k + 1] - ets[k - 1])[:, None] * frac[None, :]).ravel()
    extra = extra[~np.isin(extra, ets)]
    every = np.concatenate([ets, extra])
    order = np.argsort(every, kind="stable")
    return every[order], np.concatenate([states, model.evaluate_at(link, extra)])[order]
