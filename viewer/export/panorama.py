"""Dome and 360° projections: what each one is, its checks, and where a direction lands in the frame.

Three projections of the same scene and camera:

- ``perspective``: the ordinary frame (the camera's view angle).
- ``fisheye``: a dome master, square. The angular (equidistant) fisheye: a direction at angle θ from the dome
  axis lands at radius ``θ / (fov/2) · R`` from the centre, ``R`` half the side; its bearing around the axis is
  the camera's (the camera's up is the top of the frame, its right the right). Outside the circle it is black.
  ``tilt`` degrees turn the dome axis up from where the camera looks, so the camera's subject sits that far
  towards the bottom (the front of the dome) for a tilted dome.
- ``equirect``: 360° × 180°, 2:1. Azimuth ``az`` (degrees, positive to the camera's right) and elevation ``el``
  (positive up) land at ``x = (0.5 + az/360)·W``, ``y = (0.5 − el/180)·H``: the camera's view direction is the
  centre of the frame, the zenith the top row.

The renderer (:mod:`viewer.export.panorama_source`) uses VTK's panoramic projection pass: a cube map of the
scene, sampled per output pixel on the GPU side. This module is numpy only; the tests use it to say where the
Moon or the Earth must appear, and the overlays where the dome's viewing band is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viewer.errors import InputError, shown

PROJECTIONS = ("perspective", "fisheye", "equirect")
DEFAULT_FOV = 180.0
MIN_FOV, MAX_FOV = 90.0, 220.0
MAX_TILT = 90.0
MIN_PANORAMA_SIDE = 256
MAX_FISHEYE_SIDE = 4096  # dome masters are 2048² … 4096²
MAX_EQUIRECT_WIDTH = 8192  # 8192 × 4096 (4096 × 2048 plays on most headsets)


@dataclass(frozen=True)
class Projection:
    """A projection and its parameters: ``kind`` is perspective, fisheye or equirect."""

    kind: str = "perspective"
    fov_deg: float = DEFAULT_FOV  # fisheye aperture
    tilt_deg: float = 0.0  # fisheye: the dome axis this far above the camera's view direction

    @property
    def panoramic(self) -> bool:
        return self.kind != "perspective"

    @property
    def angle_deg(self) -> float:
        """The angle VTK's pass spans: the fisheye's aperture, or 360 across an equirectangular frame."""
        return 360.0 if self.kind == "equirect" else self.fov_deg

    def cube_resolution(self, size: tuple[int, int], oversample: float = 1.0) -> int:
        """Side of each cube-map face, so a face pixel at its centre is no larger than an output pixel.

        A face spans 90° over ``n`` pixels: ``2/n`` radians a pixel at its centre (finer towards its edges). An
        equirectangular pixel is ``2π/W``, a fisheye pixel ``fov/N``.
        """
        w = size[0]
        per_px = 2 * math.pi / w if self.kind == "equirect" else math.radians(self.fov_deg) / w
        n = int(math.ceil(oversample * 2.0 / per_px))
        return n + (n % 2)

    # -- geometry: camera-frame directions (x right, y up, z forward) <-> pixels
    def axis_rotation(self) -> np.ndarray:
        """Rotation from the camera frame to the dome's frame (the tilt about the camera's right axis)."""
        t = math.radians(self.tilt_deg if self.kind == "fisheye" else 0.0)
        c, s = math.cos(t), math.sin(t)
        # the dome axis is the camera's forward turned up by t: a direction d has dome coordinates R @ d
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])

    def pixel_of(self, direction, size: tuple[int, int]) -> np.ndarray:
        """Pixel (x right, y down; continuous, pixel centres at +0.5) of camera-frame directions, (N, 2).

        Fisheye directions outside the aperture get NaN.
        """
        d = np.atleast_2d(np.asarray(direction, float))
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        w, h = size
        if self.kind == "equirect":
            az = np.arctan2(d[:, 0], d[:, 2])
            el = np.arcsin(np.clip(d[:, 1], -1, 1))
            return np.column_stack([(0.5 + az / (2 * math.pi)) * w, (0.5 - el / math.pi) * h])
        if self.kind == "fisheye":
            d = d @ self.axis_rotation().T
            theta = np.arccos(np.clip(d[:, 2], -1, 1))
            bearing = np.arctan2(d[:, 1], d[:, 0])
            r = theta / math.radians(self.fov_deg / 2) * (w / 2)
            r = np.where(theta <= math.radians(self.fov_deg / 2), r, np.nan)
            return np.column_stack([w / 2 + r * np.cos(bearing), h / 2 - r * np.sin(bearing)])
        raise ValueError(f"pixel_of is for the panoramic projections, not {self.kind!r}")

    def inside(self, size: tuple[int, int]) -> np.ndarray:
        """(H, W) bool: the pixels that show the scene (the fisheye's circle; every pixel of an equirect)."""
        w, h = size
        if self.kind != "fisheye":
            return np.ones((h, w), bool)
        y, x = np.mgrid[0:h, 0:w]
        return (x + 0.5 - w / 2) ** 2 + (y + 0.5 - h / 2) ** 2 <= (w / 2) ** 2


def camera_frame(position, focal_point, view_up) -> np.ndarray:
    """(3, 3) rows right, up, forward of a camera: ``camera_frame(...) @ (p - position)`` is p in the camera frame."""
    fwd = np.asarray(focal_point, float) - np.asarray(position, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, np.asarray(view_up, float))
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return np.array([right, up, fwd])


def make_projection(kind: str, *, fov: float | None = None, tilt: float | None = None) -> Projection:
    """Check the CLI's --projection, --fov and --dome-tilt; each mistake is one line naming the value."""
    if kind not in PROJECTIONS:
        raise InputError(f"--projection {shown(kind)} is unknown; choose one of {', '.join(PROJECTIONS)}")
    if kind != "fisheye":
        if fov is not None or tilt is not None:
            flag = "--fov" if fov is not None else "--dome-tilt"
            raise InputError(f"{flag} is for --projection fisheye (a dome master); remove it for {kind}")
        return Projection(kind)
    fov = DEFAULT_FOV if fov is None else float(fov)
    if not (math.isfinite(fov) and MIN_FOV <= fov <= MAX_FOV):
        raise InputError(f"--fov {fov:g} is out of range; a dome master spans {MIN_FOV:g} … {MAX_FOV:g} degrees")
    tilt = 0.0 if tilt is None else float(tilt)
    if not (math.isfinite(tilt) and -MAX_TILT <= tilt <= MAX_TILT):
        raise InputError(f"--dome-tilt {tilt:g} is out of range; choose -{MAX_TILT:g} … {MAX_TILT:g} degrees")
    return Projection(kind, fov, tilt)


def check_panorama_size(projection: Projection, size: tuple[int, int]) -> tuple[int, int]:
    """A fisheye frame is square, an equirectangular one 2:1; both even, 256 px and up (one-line errors)."""
    w, h = int(size[0]), int(size[1])
    kind = projection.kind
    if kind == "fisheye":
        if w != h:
            raise InputError(f"size {w}x{h}: a fisheye dome master is square; use e.g. {max(w, h)}x{max(w, h)}")
        limit = MAX_FISHEYE_SIDE
        example = f"{min(limit, w + w % 2)}x{min(limit, w + w % 2)}"
    elif kind == "equirect":
        if w != 2 * h:
            even_h = h + h % 2
            raise InputError(f"size {w}x{h}: a 360° equirectangular frame is 2:1; use e.g. {2 * even_h}x{even_h}")
        limit = MAX_EQUIRECT_WIDTH
        example = f"{w + 2 * (h % 2)}x{h + h % 2}"
    else:  # pragma: no cover - perspective sizes are checked by viewer.export.video.check_size
        raise ValueError(kind)
    if h < MIN_PANORAMA_SIDE:
        raise InputError(f"size {w}x{h} is too small for {kind}; the height must be at least {MIN_PANORAMA_SIDE} px")
    if w > limit:
        raise InputError(f"size {w}x{h} is larger than {kind} allows ({limit} px wide); choose a smaller size")
    if w % 2 or h % 2:
        raise InputError(f"size {w}x{h} has an odd side; H.264 needs even sides, e.g. {example}")
    return w, h


DEFAULT_SIZES = {"fisheye": (2048, 2048), "equirect": (4096, 2048)}


def parse_panorama_size(text: str | None, projection: Projection) -> tuple[int, int]:
    """``--size`` for a panorama (``None``: 2048x2048 for a dome master, 4096x2048 for 360°), checked."""
    if text is None:
        return DEFAULT_SIZES[projection.kind]
    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"size {shown(text)} is not WIDTHxHEIGHT; write it like 2048x2048")
    return check_panorama_size(projection, (int(parts[0]), int(parts[1])))
