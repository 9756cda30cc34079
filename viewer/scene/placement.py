"""Where labels and minimum-size markers go on screen, for a frame and a camera (no VTK; the browser can use the
same rule).

Rules, for a picture ``size`` = (width, height) pixels seen through a pinhole camera
(:func:`viewer.scene.camera.projector`):

- **Markers.** A body or a vehicle drawn smaller than ``marker_px`` (its true size, spacecraft enlarged as the
  view says) gets a ring ``marker_px`` across at its centre, in its colour, unless a body hides it.
- **Labels.** One per thing: a stack of co-located modules has one label (:meth:`FrameModel.label_text`). Each label
  is a box of the text's estimated size (:func:`text_box`), put at the first of ``CANDIDATES`` around its subject,
  ``offset_px`` beyond the subject's on-screen radius (or its marker's), then farther (``RINGS``), where it lies
  inside the picture and overlaps no other label, no screen text, its own subject and no other small subject (one
  under ``BIG_FRACTION`` of the picture's height: a label may lie on a large body). Labels are placed in anchor
  order (vehicles, then bodies, then the site); a label that finds no free place is left out.

Boxes are (x0, y0, x1, y1) in pixels, x right and y down, as :meth:`MissionScene.project` gives points.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from viewer.scene.camera import CameraPose, projector
from viewer.scene.frame import BODY_RADIUS_KM, Frame, FrameModel, occluded
from viewer.scene.vehicles import colour

# unit direction (dx, dy) from the subject to the box's near edge centre, in the order tried
CANDIDATES = ((0, -1), (1, 0), (0, 1), (-1, 0), (1, -1), (1, 1), (-1, 1), (-1, -1))
RINGS = (1.0, 2.0, 3.0, 4.5)
LATIN_EM, WIDE_EM, LINE_EM, PAD_PX = 0.62, 1.0, 1.2, 2.0
BODY_MARKER_COLOUR = "#C9D2E3"
MODEL_EXTENT = 0.7  # a model's on-screen half-width seen from any side, as a fraction of its bounding radius
BIG_FRACTION = 0.1  # a subject wider than this × the picture height may carry other things' labels


@dataclass(frozen=True)
class Marker:
    key: str
    centre: tuple[float, float]
    radius_px: float
    colour: str


@dataclass(frozen=True)
class PlacedLabel:
    key: str
    text: str
    box: tuple[float, float, float, float]


def marker_px(cfg: dict, height: int) -> float:
    """The minimum-size markers' width in pixels for a picture ``height`` high (scene.yaml ``markers``)."""
    m = cfg["markers"]
    return max(float(m["min_px"]), float(m["px_at_1080"]) * height / 1080.0)


def text_box(text: str, font_px: float) -> tuple[float, float]:
    """(width, height) in pixels that ``text`` at ``font_px`` fits in (a generous estimate: Arial averages 0.5 em
    per Latin character, Noto Sans CJK 1 em per wide one)."""
    em = sum(WIDE_EM if unicodedata.east_asian_width(c) in "WF" else LATIN_EM for c in text)
    return em * font_px + 2 * PAD_PX, LINE_EM * font_px + 2 * PAD_PX


def subjects(f: Frame, model: FrameModel, pose: CameraPose, size, scale: float) -> dict:
    """{key: (centre px, radius px, shown)} of every body and drawn vehicle (radius: its true on-screen size;
    shown: no body hides it)."""
    project = projector(pose, size)
    ppr = size[1] / (2.0 * np.tan(np.radians(pose.view_angle) / 2.0))
    keys, points, radii = [], [], []
    for body, rec in f.bodies.items():
        if rec.shown:
            keys.append(body)
            points.append(rec.position)
            radii.append(BODY_RADIUS_KM[body] * f.view.units_per_km)
    m_to_units = f.view.units_per_m * scale
    for v, rec in f.vehicles.items():
        if rec.drawn and not rec.stacked_on:
            keys.append(v)
            points.append(rec.position)
            radii.append(model.model_radius_m.get(v, 0.0) * MODEL_EXTENT * m_to_units)
    if not keys:
        return {}
    pts = np.array(points)
    centres = project(pts)
    d = np.maximum(np.linalg.norm(pts - pose.position, axis=1), np.array(radii) * 1.0001)
    px = np.arcsin(np.minimum(np.array(radii) / d, 1.0)) * ppr
    out = {}
    for k, c, r, p in zip(keys, centres, px, pts):
        out[k] = (c, float(r), k in f.bodies or not occluded(p, pose.position, f))
    return out


def markers(found: dict, model: FrameModel, marker_px: float) -> list[Marker]:
    """Rings for the bodies and vehicles of ``found`` (:func:`subjects`) drawn smaller than ``marker_px``."""
    out = []
    for key, (c, r, shown) in found.items():
        if shown and np.all(np.isfinite(c)) and 2 * r < marker_px:
            tint = colour(key, model.cfg) if key in model.vehicle_actor else BODY_MARKER_COLOUR
            out.append(Marker(key, (float(c[0]), float(c[1])), marker_px / 2.0, tint))
    return out


def place_labels(
    f: Frame,
    model: FrameModel,
    pose: CameraPose,
    size: tuple[int, int],
    lang: str,
    *,
    found: dict,
    font_px: float,
    offset_px: float,
    marker_px: float,
    keep_out: list[tuple[float, float, float, float]] = (),
) -> list[PlacedLabel]:
    """The frame's labels placed on screen (see the module docstring): ``found`` from :func:`subjects`;
    ``keep_out``: boxes of the screen texts."""
    w, h = size
    project = projector(pose, size)
    discs = {k: (c, max(r, marker_px / 2.0)) for k, (c, r, shown) in found.items() if shown and np.all(np.isfinite(c))}
    taken = list(keep_out)
    out = []
    for anchor in f.labels:
        if anchor.occludable and occluded(anchor.point, pose.position, f):
            continue
        c = project(anchor.point[None])[0]
        if not np.all(np.isfinite(c)) or not (0 <= c[0] < w and 0 <= c[1] < h):
            continue
        radius = max(found.get(anchor.key, (c, 0.0, True))[1], marker_px / 2.0 if anchor.key in found else 0.0)
        text = model.label_text(anchor, lang)
        bw, bh = text_box(text, font_px)
        own = [discs[anchor.key]] if anchor.key in discs else []
        # other subjects to keep clear of: the small ones (a label may lie on a large body), unless the anchor itself
        # lies on one (the site on the Moon)
        others = [
            d
            for k, d in discs.items()
            if k != anchor.key and d[1] < BIG_FRACTION * h and np.hypot(*(c - d[0])) > d[1] + 1.0
        ]
        box = _free_box(c, radius + offset_px, bw, bh, (w, h), taken, own + others)
        if box is not None:
            taken.append(box)
            out.append(PlacedLabel(anchor.key, text, box))
    return out


def _free_box(c, gap, bw, bh, size, taken, discs):
    for ring in RINGS:
        for dx, dy in CANDIDATES:
            n = np.hypot(dx, dy)
            ex, ey = c[0] + dx / n * gap * ring, c[1] + dy / n * gap * ring  # the box's near edge point
            x0 = ex - bw / 2 if dx == 0 else (ex if dx > 0 else ex - bw)
            y0 = ey - bh / 2 if dy == 0 else (ey if dy > 0 else ey - bh)
            box = (x0, y0, x0 + bw, y0 + bh)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= size[0] and box[3] <= size[1]
            if inside and not any(overlap(box, b) for b in taken) and not any(_hits(box, d) for d in discs):
                return box
    return None


def overlap(a, b) -> bool:
    """Whether two boxes (x0, y0, x1, y1) overlap."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _hits(box, disc) -> bool:
    (cx, cy), r = disc
    nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
    return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r
