"""The adapter from :class:`~viewer.scene.scene.MissionScene` to the video pipeline's frame source.

``SceneSource(size, segments, ets=...)`` builds one offscreen scene (export meshes). For each frame it switches
view where the clip's plan says so, updates the scene to the frame's ET, puts the camera where the segment's
camera path says (on top of the view preset's camera at that ET), renders and reads the pixels back.

The scene's own clock and view title are hidden: the burnt-in overlays show the UTC clock and the phase title
instead. Its other screen notes (spacecraft scale, assumed attitudes, Sun and Earth at the site) stay.

A fly-to carries the previous view's last camera through SPICE into the new view's frame and units (its
floating origin), then eases into the new camera, so changing from the lunar-orbit view (km, Moon-centred,
J2000) to the landing-site view (m, site-centred, CHANGE6_TOPO) is one continuous move.
"""

from __future__ import annotations

import numpy as np

from viewer.director.track import camera_track
from viewer.export import camera_paths as cp

HIDDEN_SCENE_TEXTS = ("clock", "title")
DETAILS = ("auto", "light", "full")


def mesh_lod(detail: str, size: tuple[int, int]) -> str:
    """The terrain meshes' level of detail for an output size.

    ``auto``: the light (browser) meshes up to 1080 lines, the full (export) meshes above. On llvmpipe the
    globe's vertex count, not the pixel count, sets the frame time (517k triangles cost ~2.5x the 99k ones even at
    640x360), and at 1080p the Moon of the lunar view is ~650 px wide, where the two look alike (docs/export.md).
    """
    if detail not in DETAILS:
        from viewer.errors import InputError, shown

        raise InputError(f"--detail {shown(detail)}: choose auto, light or full")
    if detail == "auto":
        return "browser" if min(size) <= 1080 else "export"
    return "browser" if detail == "light" else "export"


def vehicle_positions(scene, vehicle: str):
    """``positions(ets) -> (N, 3)``: the vehicle's drawn positions in the scene's render units, NaN where it is absent
    (outside its kernels); the target of a camera path."""

    def positions(ets: np.ndarray) -> np.ndarray:
        uniq, back = np.unique(np.atleast_1d(ets), return_inverse=True)  # the scene wants ascending ETs
        poses = scene.poses(uniq)
        p = np.array(poses.positions[vehicle], dtype=float)
        p[~poses.visible[vehicle]] = np.nan  # outside its kernels: Follow keeps the view's camera
        return p[back.ravel()]

    return positions


def scene_pose(scene) -> cp.Pose:
    """The scene's camera as a :class:`~viewer.export.camera_paths.Pose`."""
    c = scene.plotter.camera
    return cp.Pose.of(c.position, c.focal_point, c.up, c.view_angle)


def apply_pose(scene, pose: cp.Pose) -> None:
    """Put the scene's camera at ``pose``."""
    c = scene.plotter.camera
    c.focal_point = tuple(pose.focal_point)
    c.position = tuple(pose.position)
    c.up = tuple(pose.view_up)
    c.view_angle = pose.view_angle
    c.OrthogonalizeViewUp()
    scene.camera_moved()  # stars, clipping range, and texture filtering for how large the bodies look


class SceneSource:
    """A :class:`viewer.export.video.FrameSource` backed by the mission scene and a camera plan."""

    def __init__(
        self,
        size: tuple[int, int],
        segments: list[cp.Segment],
        *,
        ets: np.ndarray,
        aa: bool = False,
        lang: str = "en",
        speed: float = 1.0,
        detail: str = "auto",
        scene=None,
    ):
        from viewer import kernels

        kernels.furnish()
        self.segments = list(segments)
        self.size = (int(size[0]), int(size[1]))
        self.speed = float(speed)  # mission seconds per video second (for smoothing and fly-to lengths)
        if scene is None:
            from viewer.scene.scene import MissionScene, body_meshes

            scene = MissionScene(
                self.segments[0].view,
                window_size=self.size,
                off_screen=True,
                language=lang,
                quality="still" if aa else "fast",
                bodies=body_meshes(mesh_lod(detail, self.size)),
            )
        self.scene = scene
        for name in HIDDEN_SCENE_TEXTS:
            if name in scene.actors:
                scene.actors[name].SetVisibility(False)
        self._ets = np.asarray(ets, float)
        self._seg_index = -1
        self._path: cp.CameraPath = cp.Preset()
        self._last_pose: cp.Pose | None = None
        self._last_view = None

    # -- plan
    def _segment_at(self, et: float) -> int:
        for i, s in enumerate(self.segments):
            if et < s.end_et or i == len(self.segments) - 1:
                return i
        return len(self.segments) - 1

    def _enter(self, i: int, et: float) -> None:
        seg = self.segments[i]
        prev_pose, prev_view = self._last_pose, self._last_view
        kind, arg = cp.parse_spec(seg.camera)
        follow = arg if kind == "follow" else None
        if self.scene.view.name != seg.view or self.scene.et is None or seg.view == "follow":
            self.scene.set_view(seg.view, follow=follow if seg.view == "follow" else None, et=et)
        seg_ets = self._ets[(self._ets >= seg.start_et) & (self._ets <= seg.end_et)]
        if kind == "story":
            path: cp.CameraPath = cp.Story(camera_track(seg.start_et, seg.end_et), self._target)
        elif kind == "orbit":
            path = cp.Orbit(seg.start_et, seg.end_et, float(arg) if arg else cp.DEFAULT_ORBIT_TURNS)
        elif kind == "follow" and self.scene.view.name != "follow":
            path = cp.Follow(self._target(follow or self._default_follow()), tau_s=cp.follow_tau(self.speed))
            if len(seg_ets):
                path.prepare(seg_ets)
        else:
            path = cp.Preset()
        if seg.flyto and prev_pose is not None:
            carry = self._carrier(prev_pose, prev_view, self._origin(), self.scene.view)
            start, end = carry(seg.start_et), path.pose(seg.start_et, scene_pose(self.scene))
            turn = cp.turn_deg(start, end) if start is not None else 0.0
            span = cp.flyto_span(kind, self.speed, seg.end_et - seg.start_et, turn)
            path = cp.FlyTo(carry, seg.start_et, seg.start_et + span, path)
        self._path = path
        self._seg_index = i

    def _default_follow(self) -> str:
        return self.scene.follow or "CHANGE6_ORBITER"

    def _target(self, vehicle: str):
        return vehicle_positions(self.scene, vehicle)

    def _origin(self) -> str:
        """The body or vehicle at the render origin of the current view (the followed one in the follow view)."""
        view = self.scene.view
        return (self.scene.follow or "CHANGE6_ORBITER") if view.name == "follow" else view.center

    def _carrier(self, pose: cp.Pose, from_view: tuple, to_origin: str, to_view):
        """A function of ET giving ``pose`` (render units of ``from_view`` = (view, origin)) in ``to_view``'s
        units and frame, or None where SPICE cannot relate the two origins (then the new view just cuts in)."""
        from spiceypy.utils.exceptions import SpiceyError

        from viewer import ephemeris
        from viewer.errors import ViewerError

        from_view, from_origin = from_view

        def carry(et: float) -> cp.Pose | None:
            ets = np.array([et])
            try:
                rot = ephemeris.rotation(from_view.frame, to_view.frame, ets)[0]
                shift_km = ephemeris.positions(from_origin, ets, observer=to_origin, frame=to_view.frame)[0]
            except (ViewerError, SpiceyError):  # an origin outside its kernels at this time (CoverageError)
                return None
            k_from, k_to = from_view.units_per_km, to_view.units_per_km

            def point(p):
                return (rot @ (np.asarray(p) / k_from) + shift_km) * k_to

            return cp.Pose(point(pose.position), point(pose.focal_point), rot @ pose.view_up, pose.view_angle)

        return carry

    # -- frames
    def _base_pose(self) -> cp.Pose:
        return scene_pose(self.scene)

    def _apply(self, pose: cp.Pose) -> None:
        apply_pose(self.scene, pose)

    def render_frame(self, et: float) -> np.ndarray:
        i = self._segment_at(et)
        if i != self._seg_index:
            self._enter(i, et)
        self.scene.update(et)
        self.scene.reset_camera()  # the view preset's camera at this ET: the base of the path
        pose = self._path.pose(et, self._base_pose())
        self._apply(pose)
        self._last_pose, self._last_view = pose, (self.scene.view, self._origin())
        frame = self.scene.screenshot()
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            from viewer.export.video import ExportError

            raise ExportError(
                f"the scene rendered {frame.shape[1]}x{frame.shape[0]} instead of "
                f"{self.size[0]}x{self.size[1]}; frames are never rescaled"
            )
        return frame

    def close(self) -> None:
        self.scene.close()
