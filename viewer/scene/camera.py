"""The camera of a view preset (``assets/views.yaml`` ``camera``) for a frame, and the camera chores after a move.

:func:`preset_pose` is plain numpy (the browser's tracks carry what it needs); :func:`apply`, :func:`clip` and
:func:`pixels_per_radian` act on the VTK camera and renderer they are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.scene.frame import Frame
from viewer.scene.kinematics import Kinematics, frame_from_x, rotations


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is (render units of the view), what it looks at, its up and its vertical field of view."""

    position: np.ndarray
    focal_point: np.ndarray
    view_up: np.ndarray
    view_angle: float


def basis(f: Frame, kin: Kinematics, follow: str | None) -> np.ndarray:
    """3×3 (columns x, y, z) of the camera preset's basis, in the view frame (see ``assets/views.yaml``)."""
    name = f.view.camera.basis
    if name == "frame":
        return np.eye(3)
    if name == "sun":  # x: the Sun's direction in the frame's x-y plane (its azimuth at the site), z up
        s = f.sun_dir
        return frame_from_x(np.array([[s[0], s[1], 0.0]]), np.array([[0.0, 0.0, 1.0]]))[0]
    kind, _, target = name.partition(":")
    if target == "FOLLOWED":
        target = follow or "CHANGE6_ORBITER"
    ets = f.poses.ets[:1]
    rel = kin.states_moon(target, ets)[0] - kin.states_moon(kin.center, ets)[0]
    if not np.all(np.isfinite(rel)):
        return np.eye(3)
    rot = rotations("J2000", f.view.frame, ets)[0]
    r, v = rot @ rel[:3], rot @ rel[3:]
    if kind == "orbit":
        return frame_from_x(r[None], np.cross(r, v)[None])[0]
    return frame_from_x(r[None], np.array([[0.0, 0.0, 1.0]]))[0]


def preset_pose(f: Frame, kin: Kinematics, follow: str | None) -> CameraPose:
    """The view preset's camera at the frame's time: ``focus + distance·direction`` in the preset's basis."""
    cam = f.view.camera
    focus = np.zeros(3)
    name, _, frac = cam.focus.partition("*")  # "MOON*0.5": half-way from the origin to the Moon
    if name != "origin" and name in f.poses.positions:
        focus = f.poses.positions[name][0] * (float(frac) if frac else 1.0)
    b = basis(f, kin, follow)
    d = np.asarray(cam.direction, float)
    d = b @ (d / np.linalg.norm(d))
    up = b @ np.asarray(cam.view_up, float)
    return CameraPose(focus + d * cam.distance, focus, up, cam.view_angle_deg)


def apply(camera, pose: CameraPose) -> None:
    """Put the VTK camera ``camera`` at ``pose``."""
    camera.focal_point = tuple(pose.focal_point)
    camera.position = tuple(pose.position)
    camera.up = tuple(pose.view_up)
    camera.view_angle = pose.view_angle
    camera.OrthogonalizeViewUp()


def clip(renderer) -> None:
    """Clipping range from the visible props, with the near plane never beyond 5 % of the camera distance."""
    renderer.ResetCameraClippingRange()
    cam = renderer.GetActiveCamera()
    near, far = cam.GetClippingRange()
    cam.SetClippingRange(min(near, 0.05 * cam.GetDistance()), far)


def pixels_per_radian(camera, height: int) -> float:
    """Pixels per radian at the centre of a picture ``height`` pixels high."""
    return height / (2.0 * np.tan(np.radians(camera.view_angle) / 2.0))


def pose_of(camera) -> CameraPose:
    """The pose of a VTK camera."""
    return CameraPose(
        np.asarray(camera.position, float),
        np.asarray(camera.focal_point, float),
        np.asarray(camera.up, float),
        float(camera.view_angle),
    )


def pose_key(pose: CameraPose, size: tuple[int, int]) -> bytes:
    """Bytes that are equal when two poses agree to single precision (a relative 1e-7: under a thousandth of a pixel
    on screen) and the picture sizes are the same."""
    parts = (pose.position, pose.focal_point, pose.view_up, [pose.view_angle, size[0], size[1]])
    return b"".join(np.asarray(x, np.float32).tobytes() for x in parts)


def projector(pose: CameraPose, size: tuple[int, int]):
    """A function of world points (N,3) giving their on-screen pixels (N,2), x right and y down as
    :meth:`MissionScene.project` gives them; NaN for points behind the camera. A pinhole camera with ``pose``'s
    vertical field of view over a picture ``size`` = (width, height)."""
    w, h = size
    fwd = pose.focal_point - pose.position
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, pose.view_up)
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    f = 1.0 / np.tan(np.radians(pose.view_angle) / 2.0)
    axes = np.stack([right, up, fwd])

    def project(points: np.ndarray) -> np.ndarray:
        c = (np.asarray(points, float) - pose.position) @ axes.T
        z = np.where(c[:, 2] > 1e-9 * np.linalg.norm(fwd), c[:, 2], np.nan)
        x = (c[:, 0] / z * f / (w / h) + 1.0) * 0.5 * w
        y = h - 1.0 - (c[:, 1] / z * f + 1.0) * 0.5 * h
        return np.stack([x, y], axis=1)

    return project
