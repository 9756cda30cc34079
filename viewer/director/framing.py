"""Where the story camera stands at each moment: a nominal direction per framing, then the best of nearby candidates.

Pure numpy, vectorised over moments. Every position is in one view's render units relative to its origin.

For each moment the framing gives a nominal direction from the subject toward the camera (:func:`nominal`). Around
it a fixed set of candidate directions is scored (:func:`choose`):

- rejected: a camera inside a body, or a body (or, in the site view, the ground) between the camera and the subject;
- preferred, most first: the camera on the context body's sunlit side; the context body in the frame; close to
  the nominal direction.

Where every candidate is rejected the nominal direction is kept and the moment is marked ``hidden`` (the subject is
behind a body from anywhere near: the screen says so). The chosen directions are then smoothed over time, so the
camera never jumps between candidates. The focal point is the subject, pulled toward the context body just far
enough to bring the body's centre into the frame while the subject stays in the central part of the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Candidate directions: rings around the nominal direction (degrees off it) and how many on each ring.
RINGS_DEG = (0, 15, 30, 50, 75, 105, 140, 180)
RING_COUNT = (1, 8, 12, 16, 20, 20, 16, 1)
SUNLIT_MIN = 0.15  # cos of the angle from the context body's sub-solar direction that counts as the lit side
SUBJECT_MAX_NDC = 0.5  # the focal shift keeps the subject this far from the centre (NDC units, 1 = frame edge)
CONTEXT_MAX_NDC = 0.9  # ... while bringing the context body's centre this far in
SMOOTH_SAMPLES = 5  # Gaussian smoothing of the chosen direction, samples either side
FOCAL_SMOOTH_SAMPLES = 8  # ... and of the focal point's shift toward the context body (it switches on and off)
STAY_BONUS = 1.0  # score bonus per unit cosine toward the previous moment's direction


@dataclass
class Geometry:
    """Per-moment geometry (N moments), render units, relative to the view's origin.

    ``partner`` is the second subject (NaN where there is none); ``bodies`` are (centre (N, 3), radius) pairs that
    can hide the subject; ``ground`` is True in the site view (the plane z = 0 hides what is below it).
    """

    subject: np.ndarray
    velocity: np.ndarray
    partner: np.ndarray
    context: np.ndarray
    context_radius: float
    sun: np.ndarray
    bodies: list[tuple[np.ndarray, float]]
    ground: bool = False


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v, dtype=float), where=n > 0)


def _perp(a: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each row of ``a``."""
    helper = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    return _unit(np.cross(a, helper))


def nominal(framing: str, g: Geometry) -> np.ndarray:
    """(N, 3) unit directions from the subject toward the camera for ``framing``."""
    n = len(g.subject)
    z = np.tile([0.0, 0.0, 1.0], (n, 1))
    out = z if g.ground else _unit(g.subject - g.context)
    back = -_unit(g.velocity)
    back = np.where(np.linalg.norm(back, axis=1, keepdims=True) > 0, back, _perp(out))
    sun_flat = _unit(g.sun - np.sum(g.sun * out, axis=1, keepdims=True) * out)
    if framing == "chase":
        d = back + 0.6 * out + 0.3 * sun_flat
    elif framing == "over_shoulder":
        d = out + 0.45 * back + 0.35 * sun_flat
    elif framing == "top_down":
        d = out + 0.55 * sun_flat
    elif framing == "side_on":
        line = g.partner - g.subject
        line = np.where(np.isfinite(line).all(axis=1, keepdims=True), line, -back)
        across = _unit(np.cross(_unit(line), out))
        across = np.where(np.sum(across * sun_flat, axis=1, keepdims=True) < 0, -across, across)
        d = across + 0.5 * out
    elif framing == "limb":
        tangent = _unit(back - np.sum(back * out, axis=1, keepdims=True) * out)
        d = tangent + 0.2 * out + 0.3 * sun_flat
    elif framing == "system":
        d = z + 0.7 * g.sun
    else:
        raise ValueError(f"unknown framing {framing!r}")
    return _unit(d)


def _candidates(d0: np.ndarray) -> np.ndarray:
    """(N, K, 3) candidate directions on rings around each nominal direction."""
    e1 = _perp(d0)
    e2 = np.cross(d0, e1)
    rows = []
    for ring, count in zip(RINGS_DEG, RING_COUNT):
        r = math.radians(ring)
        for k in range(count):
            a = 2 * math.pi * (k + 0.5 * (ring // 15 % 2)) / count
            rows.append((math.cos(r), math.sin(r) * math.cos(a), math.sin(r) * math.sin(a)))
    c = np.asarray(rows)
    return c[None, :, 0:1] * d0[:, None, :] + c[None, :, 1:2] * e1[:, None, :] + c[None, :, 2:3] * e2[:, None, :]


def _blocked(cam: np.ndarray, subject: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """(N, K) True where the sphere (centre, radius) holds the camera or cuts the segment camera -> subject."""
    seg = subject[:, None, :] - cam
    rel = centre[:, None, :] - cam
    seg_len2 = np.maximum(np.sum(seg * seg, axis=2), 1e-30)
    t = np.clip(np.sum(rel * seg, axis=2) / seg_len2, 0.0, 1.0)
    closest = cam + t[..., None] * seg - centre[:, None, :]
    inside = np.linalg.norm(cam - centre[:, None, :], axis=2) < radius * 1.02
    # A subject on the surface (below the mean sphere) is hidden only by what lies deeper than itself.
    reach = np.minimum(radius, np.linalg.norm(subject - centre, axis=1))[:, None]
    return inside | (np.linalg.norm(closest, axis=2) < reach * 0.999)


def _in_view(cam: np.ndarray, subject: np.ndarray, target: np.ndarray, half_fov: float) -> np.ndarray:
    """(N, K) True where ``target`` lies within ``half_fov`` of the camera's aim at the subject."""
    aim = _unit(subject[:, None, :] - cam)
    to = _unit(target[:, None, :] - cam)
    return np.sum(aim * to, axis=2) > math.cos(half_fov)


def choose(
    framing: str, g: Geometry, distance: float, half_fov: float, ets: np.ndarray | None = None, max_rate_deg_s=None
) -> tuple[np.ndarray, np.ndarray]:
    """((N, 3) chosen unit directions, (N,) hidden flags) for ``framing`` at camera ``distance``.

    Moments are taken in order: each prefers the candidate nearest the previous choice, and with ``max_rate_deg_s``
    the direction turns toward its choice by at most that rate (degrees per mission second between ``ets``).
    """
    d0 = nominal(framing, g)
    cand = _candidates(d0)
    cam = g.subject[:, None, :] + distance * cand
    bad = np.zeros(cam.shape[:2], dtype=bool)
    for centre, radius in g.bodies:
        bad |= _blocked(cam, g.subject, centre, radius)
    if g.ground:
        bad |= cam[..., 2] < np.maximum(g.subject[:, None, 2], 0.0) + 0.15 * distance
        lit = np.sum(cand * g.sun[:, None, :], axis=2) > -0.2
    else:
        lit = np.sum(_unit(cam - g.context[:, None, :]) * g.sun[:, None, :], axis=2) > SUNLIT_MIN
    context_ok = np.ones_like(bad) if g.ground else _in_view(cam, g.subject, g.context, 0.9 * half_fov)
    score = 4.0 * lit + 2.0 * context_ok + np.sum(cand * d0[:, None, :], axis=2)
    score = np.where(bad, -np.inf, score)
    hidden = ~np.isfinite(score.max(axis=1))
    steps = None
    if max_rate_deg_s is not None and ets is not None and len(ets) > 1:
        steps = np.radians(max_rate_deg_s) * np.diff(np.asarray(ets, float), prepend=ets[0])
    return _follow(cand, score, d0, hidden, steps), hidden


def _follow(cand, score, d0, hidden, steps) -> np.ndarray:
    """Pick, moment by moment, the best candidate with a bonus for staying near the previous direction, and turn
    toward it by at most ``steps`` radians per moment (None: no limit)."""
    out = np.empty((len(cand), 3))
    prev = None
    for i in range(len(cand)):
        if hidden[i]:
            target = d0[i]
        else:
            s = score[i] if prev is None else score[i] + STAY_BONUS * (cand[i] @ prev)
            target = cand[i, int(np.argmax(s))]
        if prev is not None and steps is not None:
            angle = math.acos(max(-1.0, min(1.0, float(target @ prev))))
            if angle > steps[i] > 0:
                axis = np.cross(prev, target)
                n = np.linalg.norm(axis)
                if n > 1e-12:
                    target = _rotate(prev, axis / n, steps[i])
        out[i] = target
        prev = target
    return out


def _rotate(v: np.ndarray, k: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(k, v) * s + k * np.dot(k, v) * (1 - c)


def smooth_directions(d: np.ndarray, keep: np.ndarray | None = None, width: int = SMOOTH_SAMPLES) -> np.ndarray:
    """Gaussian-smoothed unit directions over neighbouring samples (``keep``: sample indices where runs break)."""
    return _smooth(d, keep, width, unit=True)


def smooth_shifts(v: np.ndarray, width: int = FOCAL_SMOOTH_SAMPLES) -> np.ndarray:
    """Gaussian-smoothed vectors (the focal point's shift from the subject) over neighbouring samples: a shift that
    starts or stops at once (the context body's centre crossing the camera's plane) ramps over a few samples."""
    return _smooth(v, None, width, unit=False)


def _smooth(d: np.ndarray, keep, width: int, unit: bool) -> np.ndarray:
    if len(d) < 3 or width < 1:
        return d
    k = np.arange(-width, width + 1)
    w = np.exp(-0.5 * (k / (0.5 * width)) ** 2)
    out = np.zeros_like(d)
    bounds = [0, *sorted(set(int(i) for i in (keep if keep is not None else []))), len(d)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        seg = d[a:b]
        if len(seg) == 0:
            continue
        padded = np.concatenate([np.repeat(seg[:1], width, 0), seg, np.repeat(seg[-1:], width, 0)])
        acc = sum(wi * padded[width + ki : width + ki + len(seg)] for wi, ki in zip(w, k))
        out[a:b] = _unit(acc) if unit else acc / w.sum()
    return out


def focal_points(cam_dir: np.ndarray, g: Geometry, distance: float, half_fov: float, aspect: float) -> np.ndarray:
    """(N, 3) focal points: the subject, shifted toward the context body's centre until it is in the frame."""
    if g.ground:
        return g.subject.copy()
    cam = g.subject + distance * cam_dir
    aim = -cam_dir
    to_c = g.context - cam
    depth = np.sum(to_c * aim, axis=1)
    lateral = to_c - depth[:, None] * aim
    tan_h = math.tan(half_fov)
    half_w = np.maximum(depth, 1e-9) * tan_h * np.minimum(aspect, 1.0)
    ndc = np.linalg.norm(lateral, axis=1) / half_w
    need = np.clip((ndc - CONTEXT_MAX_NDC) / np.maximum(ndc, 1e-9), 0.0, 1.0)
    # Shifting the focal point by a fraction f of the lateral offset moves the subject f * ndc off centre.
    cap = np.divide(SUBJECT_MAX_NDC, ndc, out=np.zeros_like(ndc), where=ndc > 0)
    f = np.where(depth > 0, np.minimum(need, cap), 0.0)
    return g.subject + f[:, None] * lateral * (distance / np.maximum(depth, 1e-9))[:, None]
