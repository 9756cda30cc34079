"""Dome masters and 360° frames of the mission scene, rendered through VTK's panoramic projection pass.

:class:`PanoramaSource` is a :class:`~viewer.export.scene_source.SceneSource` (same views, camera paths and
fly-tos, stepped by ET) whose renderer draws the scene into a cube map (five faces for a fisheye up to ~250°,
six for 360°) and samples it once per output pixel (``vtkPanoramicProjectionPass``). The geometry of each
projection is in :mod:`viewer.export.panorama`.

What changes from the ordinary frame:

- The camera the pass sees is the story camera, turned up by the dome tilt (fisheye only).
- The scene's screen texts (labels, notes, clock, title) are hidden: they are placed for a flat frame and would
  repeat on every cube face. The dome overlays (:mod:`viewer.export.dome_overlays`) carry title, clock and caption,
  the scene's notes (spacecraft scale, assumed attitudes, Sun and Earth at the site) from :meth:`notes_at` and the
  labels of the spacecraft, bodies and site at their panoramic pixels from :meth:`labels_at`.
- The clipping range covers every visible prop in every direction, not only in front of the camera.
- Frustum culling is off (it culls against the story camera's frustum, not the cube faces').
- Anti-aliasing is cube-map oversampling (1.5× the face resolution), not the scene's SSAA pass, which would
  replace this pass.
"""

from __future__ import annotations

import numpy as np

from viewer.export import camera_paths as cp
from viewer.export.dome_overlays import Label
from viewer.export.panorama import Projection, camera_frame
from viewer.export.scene_source import SceneSource, mesh_lod

AA_OVERSAMPLE = 1.5
NOTE_PREFIXES = ("note:", "badge:", "site:")  # the scene's screen notes (scale, attitudes, Sun and Earth at the site)
NEAR_FRACTION = 1e-5  # near plane as a fraction of the far one (the scene's own tolerance)


class PanoramaSource(SceneSource):
    """A frame source of fisheye or equirectangular frames of the mission scene (same plan as SceneSource)."""

    def __init__(
        self,
        size: tuple[int, int],
        segments: list[cp.Segment],
        projection: Projection,
        *,
        ets: np.ndarray,
        aa: bool = False,
        lang: str = "en",
        speed: float = 1.0,
        detail: str = "auto",
        scene=None,
    ):
        if scene is None:
            from viewer.scene.scene import MissionScene, body_meshes

            scene = MissionScene(
                segments[0].view,
                window_size=(int(size[0]), int(size[1])),
                off_screen=True,
                language=lang,
                quality="fast",
                bodies=body_meshes(mesh_lod(detail, _flat_equivalent(size))),
            )
        super().__init__(size, segments, ets=ets, lang=lang, speed=speed, detail=detail, scene=scene)
        self.projection = projection
        self._notes: dict[float, tuple[str, ...]] = {}
        self._labels: dict[float, tuple[Label, ...]] = {}
        self.cube_resolution = projection.cube_resolution(self.size, AA_OVERSAMPLE if aa else 1.0)
        self._install_pass()

    def _install_pass(self) -> None:
        from vtkmodules.vtkRenderingOpenGL2 import vtkPanoramicProjectionPass, vtkRenderStepsPass

        renderer = self.scene.renderer
        self._steps = vtkRenderStepsPass()
        self._pass = vtkPanoramicProjectionPass()
        if self.projection.kind == "equirect":
            self._pass.SetProjectionTypeToEquirectangular()
        else:
            self._pass.SetProjectionTypeToAzimuthal()
        self._pass.SetAngle(self.projection.angle_deg)
        self._pass.SetCubeResolution(self.cube_resolution)
        self._pass.SetInterpolate(True)
        self._pass.SetDelegatePass(self._steps)
        renderer.SetPass(self._pass)
        renderer.GetCullers().RemoveAllItems()
        # the scene places its labels and legends just before it renders (MissionScene.fit_to_camera): hide them
        # when the render starts, after that
        self._observer = renderer.AddObserver("StartEvent", self._on_render_start)

    def _on_render_start(self, _caller, _event) -> None:
        self._hide_screen_texts()

    # -- frames
    def _apply(self, pose: cp.Pose) -> None:
        super()._apply(pose)
        if self.projection.kind == "fisheye" and self.projection.tilt_deg:
            self._tilt(pose)
        self._notes[self.scene.et] = self._screen_notes()
        self._labels[self.scene.et] = self._label_marks(pose)
        self._hide_screen_texts()
        self._clip_all_around()

    def _screen_notes(self) -> tuple[str, ...]:
        out = []
        for name, actor in self.scene.actors.items():
            # by their text, not their visibility: this source hides every screen text itself (an empty text is
            # the scene's way of hiding a note)
            if name.startswith(NOTE_PREFIXES) and hasattr(actor, "GetInput"):
                text = " ".join(str(actor.GetInput() or "").split())
                if text:
                    out.append(text)
        return tuple(out)

    def _label_marks(self, pose: cp.Pose) -> tuple[Label, ...]:
        """The frame's labels (the scene's anchors, hidden behind the Moon or the Earth) at their pixels in the
        panorama; those outside a fisheye's aperture are left out. The overlays draw each just above its point."""
        from viewer.scene.frame import occluded
        from viewer.scene.vehicles import colour

        scene = self.scene
        f = scene.frame
        if f is None or not scene.layers.get("labels", True):
            return ()
        eye = np.asarray(pose.position, float)
        rot = camera_frame(pose.position, pose.focal_point, pose.view_up)
        out = []
        for anchor in f.labels:
            point = np.asarray(anchor.point, float)
            if anchor.occludable and occluded(point, eye, f):
                continue
            x, y = self.projection.pixel_of(rot @ (point - eye), self.size)[0]
            if np.isfinite(x) and np.isfinite(y):
                text = scene.model.label_text(anchor, scene.language)
                out.append(Label(text, (float(x), float(y)), colour(anchor.key, scene.cfg)))
        return tuple(out)

    def labels_at(self, et: float) -> tuple[Label, ...]:
        """The labels of the frame at ``et`` with their pixels (for the dome overlays; each handed out once)."""
        return self._labels.pop(float(et), ())

    def notes_at(self, et: float) -> tuple[str, ...]:
        """The scene's screen notes of the frame at ``et`` (for the dome overlays; each is handed out once)."""
        return self._notes.pop(float(et), ())

    def _tilt(self, pose: cp.Pose) -> None:
        """Point the camera along the dome axis: the story camera's direction turned up by the tilt."""
        right, up, fwd = camera_frame(pose.position, pose.focal_point, pose.view_up)
        t = np.radians(self.projection.tilt_deg)
        axis = np.sin(t) * up + np.cos(t) * fwd
        c = self.scene.plotter.camera
        c.focal_point = tuple(pose.position + axis * pose.distance)
        c.up = tuple(np.cos(t) * up - np.sin(t) * fwd)
        c.OrthogonalizeViewUp()

    def _hide_screen_texts(self) -> None:
        props = self.scene.renderer.GetViewProps()
        props.InitTraversal()
        for _ in range(props.GetNumberOfItems()):
            prop = props.GetNextProp()
            if prop.IsA("vtkActor2D") and prop.GetVisibility():
                prop.SetVisibility(False)

    def _clip_all_around(self) -> None:
        """Near and far planes that keep every visible prop, whichever cube face it falls on."""
        cam = self.scene.renderer.GetActiveCamera()
        eye = np.asarray(cam.GetPosition(), float)
        far = 0.0
        props = self.scene.renderer.GetViewProps()
        props.InitTraversal()
        for _ in range(props.GetNumberOfItems()):
            prop = props.GetNextProp()
            if not prop.GetVisibility() or prop.IsA("vtkActor2D"):
                continue
            b = prop.GetBounds()
            if b is None or not np.all(np.isfinite(b)) or b[0] > b[1]:
                continue
            corners = np.array(np.meshgrid(b[0:2], b[2:4], b[4:6])).reshape(3, -1).T
            far = max(far, float(np.linalg.norm(corners - eye, axis=1).max()))
        near_now, far_now = cam.GetClippingRange()
        far = max(far * 1.01, far_now)
        cam.SetClippingRange(max(min(near_now, 0.05 * cam.GetDistance()), far * NEAR_FRACTION), far)


def _flat_equivalent(size: tuple[int, int]) -> tuple[int, int]:
    """The flat frame whose detail matches a panorama: the cube face is about a third of the width."""
    side = max(16, int(size[0]) // 3)
    return side, side


def panorama_still(
    et: float,
    view: str,
    size: tuple[int, int],
    projection: Projection,
    *,
    follow: str | None = None,
    aa: bool = True,
    language: str = "en",
    story: bool = False,
) -> np.ndarray:
    """One fisheye or equirectangular frame at ``et`` in ``view``, (H, W, 3) uint8: the view's preset camera, or
    with ``story`` the director's camera at that moment (the same as a video frame of it).

    Like a flat still it carries the scene's texts, here in the viewing band (:class:`DomeOverlays`): the clock,
    the scene's notes (the ground under the site, the spacecraft scale, assumed attitudes, Sun and Earth at the
    site) and the labels at their points."""
    from viewer.export.dome_overlays import DomeOverlays
    from viewer.export.overlays import OverlayContent

    camera = "story" if story else f"follow:{follow}" if follow and view == "follow" else "preset"
    segment = cp.Segment(float(et), float(et) + 1.0, view, camera)
    source = PanoramaSource(size, [segment], projection, ets=np.array([float(et)]), aa=aa, lang=language)
    try:
        frame = source.render_frame(float(et))
        overlays = DomeOverlays(
            source.size, OverlayContent(language, []), projection, notes=source.notes_at, labels=source.labels_at
        )
        return overlays(frame, float(et))
    finally:
        source.close()
