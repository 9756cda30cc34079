"""The story camera's framing rules, measured on a camera through a pinhole projection (VTK's perspective camera).

:func:`measure` projects the subject and the context body through each sampled camera and returns, per moment:
the subject's position in normalised device coordinates (±1 at the frame's edges), its drawn height in pixels
(the model enlarged by the view's ``spacecraft_scale``, or the story marker, whichever is larger), whether the
camera is on the context body's sunlit side, whether the context body is in the frame, and whether a body hides
the subject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viewer.director.framing import Geometry

CENTRAL = 0.6  # the subject stays inside the central 60 % of the frame: |NDC| <= 0.6 on both axes
MIN_HEIGHT_PX = 24.0
STORY_MARKER_PX = 24.0  # the scene draws the story's subject at least this tall (a marker where the model is smaller)


@dataclass
class Measured:
    ndc: np.ndarray  # (N, 2)
    height_px: np.ndarray  # (N,) the model's drawn height, without the marker
    sunlit: np.ndarray  # (N,) camera on the context body's sunlit side (site view: the Sun above the horizon)
    context_in_view: np.ndarray
    occluded: np.ndarray

    def centred(self) -> np.ndarray:
        return (np.abs(self.ndc) <= CENTRAL).all(axis=1)

    def tall(self) -> np.ndarray:
        return np.maximum(self.height_px, STORY_MARKER_PX) >= MIN_HEIGHT_PX


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v, dtype=float), where=n > 0)


def project(cam, focal, up, points, view_angle_deg: float, aspect: float) -> np.ndarray:
    """(N, 2) NDC of ``points`` (N, 3) seen by cameras (N, 3 each); NaN behind the camera."""
    f = _unit(focal - cam)
    r = _unit(np.cross(f, up))
    u = np.cross(r, f)
    rel = points - cam
    depth = np.sum(rel * f, axis=1)
    t = math.tan(math.radians(view_angle_deg) / 2)
    x = np.sum(rel * r, axis=1) / (depth * t * aspect)
    y = np.sum(rel * u, axis=1) / (depth * t)
    out = np.stack([x, y], axis=1)
    out[depth <= 0] = np.nan
    return out


def _segment_hits(cam, target, centre, radius) -> np.ndarray:
    seg = target - cam
    t = np.clip(np.sum((centre - cam) * seg, axis=1) / np.maximum(np.sum(seg * seg, axis=1), 1e-30), 0, 1)
    reach = np.minimum(radius, np.linalg.norm(target - centre, axis=1))
    return np.linalg.norm(cam + t[:, None] * seg - centre, axis=1) < reach * 0.999


def measure(cam, focal, up, g: Geometry, *, view_angle_deg, aspect, height_px, subject_radius) -> Measured:
    """The framing figures of N cameras framing the subjects of ``g`` (see the module docstring)."""
    ndc = project(cam, focal, up, g.subject, view_angle_deg, aspect)
    dist = np.linalg.norm(g.subject - cam, axis=1)
    t = math.tan(math.radians(view_angle_deg) / 2)
    model_px = (2 * subject_radius / np.maximum(dist, 1e-9)) / (2 * t) * height_px
    if g.ground:
        sunlit = g.sun[:, 2] > 0
        in_view = np.ones(len(cam), dtype=bool)
        occluded = (cam[:, 2] < 0) & (g.subject[:, 2] >= 0)
    else:
        sunlit = np.sum(_unit(cam - g.context) * g.sun, axis=1) > 0
        c_ndc = project(cam, focal, up, g.context, view_angle_deg, aspect)
        depth = np.linalg.norm(g.context - cam, axis=1)
        ang = np.arcsin(np.clip(g.context_radius / np.maximum(depth, 1e-9), 0, 1))
        pad = np.tan(ang) / t  # the body's angular radius in NDC (vertical units)
        in_view = (
            np.isfinite(c_ndc).all(axis=1)
            & (np.abs(c_ndc[:, 0]) <= 1 + pad / aspect)
            & (np.abs(c_ndc[:, 1]) <= 1 + pad)
        )
        occluded = np.zeros(len(cam), dtype=bool)
        for centre, radius in g.bodies:
            occluded |= _segment_hits(cam, g.subject, centre, radius)
    return Measured(ndc, model_px, sunlit, in_view, occluded)
