"""MissionScene: one PyVista scene for the web app, the kiosk and the exporter. It never imports Panel.

The scene composes three parts: the frame model (:mod:`viewer.scene.frame`: ``et`` -> plain records), the actor
groups (:mod:`viewer.scene.groups`: each builds its actors once and moves them from a frame) and the camera
(:mod:`viewer.scene.camera`). Actor names are stable: ``earth``, ``moon``, ``terrain``, the vehicles' actors
(``orbiter`` …), ``trail:<actor>``, ``trail-future:<actor>``, ``label:<actor>``, ``link:<link id>`` (the relay chain's legs, with
``relay:*``: its names, edge markers and legend; not in the web scene), ``stars``,
``indicator:earth`` and the screen texts (``clock``, ``title``, ``note:scale``, ``badge:grade``, ``site:sun``,
``site:earth``, ``note:terrain``). :meth:`update` changes transforms, visibility, line points, colours and text;
it never adds or removes an actor.

>>> scene = build_scene("site", window_size=(640, 360))            # doctest: +SKIP
>>> scene.update(et_from_utc("2024-06-01T22:23:16Z"))              # doctest: +SKIP
>>> png = scene.screenshot()                                        # doctest: +SKIP

The meshes and the relay model are passed in (:func:`build_scene` and the constructor load the defaults when they
are not). Every view renders relative to its focus (a floating origin): km for the Earth–Moon system, metres around
the site.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv
from spiceypy.utils.exceptions import SpiceyError

from viewer.errors import InputError, ViewerError, shown
from viewer.scene import camera, placement, texts
from viewer.scene.frame import Frame, FrameModel
from viewer.scene.groups.bodies import Bodies, BodyMeshes, body_meshes
from viewer.scene.groups.labels import Labels
from viewer.scene.groups.link_lines import LinkLines
from viewer.scene.groups.markers import Markers
from viewer.scene.groups.site import Site, exposure
from viewer.scene.groups.sky import Sky
from viewer.scene.groups.spacecraft import Spacecraft
from viewer.scene.groups.trails import Trails
from viewer.scene.kinematics import Poses, scene_config
from viewer.scene.vehicles import actors
from viewer.scene.views import View, default_view, get_view

__all__ = ["BodyMeshes", "MissionScene", "body_meshes", "build_scene", "default_relay"]
log = logging.getLogger(__name__)
QUALITIES = ("fast", "still")
DEFAULT = "default"  # the relay argument that asks for viewer.links' model of the loaded kernels


def default_relay():
    """The relay model of the loaded kernels (:func:`viewer.links.default_model`), or None without one."""
    from viewer import links

    try:
        return links.default_model()
    except (ViewerError, SpiceyError, OSError) as exc:  # kernels, stations or the DEM missing: no link layer
        log.warning("relay links not drawn: %s", exc)
        return None


def build_scene(view: str | None = None, *, bodies: BodyMeshes | None = None, relay=DEFAULT, **kwargs):
    """A :class:`MissionScene` with the default meshes (for its quality) and relay model where none is given."""
    web = kwargs.get("web", False)
    lod = "browser" if (web or kwargs.get("quality", "fast") == "fast") else "export"
    bodies = bodies or body_meshes(lod)
    return MissionScene(view, bodies=bodies, relay=default_relay() if relay == DEFAULT else relay, **kwargs)


class MissionScene:
    """The mission scene. ``view`` is a preset of ``assets/views.yaml``; ``follow`` a NAIF vehicle for ``follow``.

    ``web=True`` always uses the light meshes (browser LOD) for ``pn.pane.VTK``. Otherwise ``quality`` chooses:
    ``"fast"`` (browser LOD, no anti-aliasing: video frames) or ``"still"`` (export LOD, SSAA). Offscreen, the site
    patch shows cast shadows at both qualities (:mod:`viewer.scene.shadows`). ``relay``: a
    :class:`viewer.links.RelayModel`, None (no links), or ``"default"``.
    """

    def __init__(
        self,
        view: str | None = None,
        *,
        follow: str | None = None,
        web: bool = False,
        off_screen: bool = True,
        window_size: tuple[int, int] = (1280, 720),
        plotter: pv.Plotter | None = None,
        language: str = "en",
        quality: str = "fast",
        bodies: BodyMeshes | None = None,
        et: float | None = None,
        relay=DEFAULT,
    ):
        if quality not in QUALITIES:
            raise InputError(f"quality {shown(quality)} is unknown; choose one of {', '.join(QUALITIES)}")
        self.cfg = scene_config()
        self.view: View = get_view(view or default_view())
        self.web, self.quality = web, quality
        self.language = language if language in ("en", "zh") else "en"
        self.layers = dict(self.cfg["layers"])
        self.follow = follow or self.view.follow
        self.spacecraft_scale = self.view.spacecraft_scale
        self._scale_override: float | None = None
        # the light LOD for the web and for fast frames, the export LOD for stills (set_quality swaps)
        self._fixed_bodies = bodies is not None
        self._lod = "browser" if (web or quality == "fast") else "export"
        self.bodies = bodies or body_meshes(self._lod)
        self.et: float | None = None
        self.frame: Frame | None = None
        pv.global_theme.multi_samples = 0
        self.plotter = plotter or pv.Plotter(off_screen=off_screen, window_size=list(window_size), lighting="none")
        self.plotter.set_background(self.cfg["background"])
        self.renderer = self.plotter.renderer
        self.renderer.SetNearClippingPlaneTolerance(1e-5)  # floating origin: near objects metres, far bodies Mm
        self.vehicle_actor = actors(self.cfg)
        radius = Spacecraft.model_radius_m(self.vehicle_actor)
        relay = default_relay() if relay == DEFAULT else relay
        self.model = FrameModel(self.cfg, relay, web=web, model_radius_m=radius)
        self._build()
        self.model.set_view(self.view, self.follow)
        self._aa = False
        if et is not None:
            self.set_view(self.view.name, follow=self.follow, et=et)

    def _build(self) -> None:
        p, cfg = self.plotter, self.cfg
        self.sky = Sky(p, cfg)
        self.globes = Bodies(p, self.bodies, cfg)
        self.site = Site(p, self.bodies.terrain, self.globes.textures["moon"], cfg, self.web)
        self.spacecraft = Spacecraft(p, self.vehicle_actor)
        self.trails = Trails(p, self.vehicle_actor, cfg, smooth=not self.web)
        self.labels = Labels(self.renderer, self.vehicle_actor, cfg)
        self.link_lines = LinkLines(p, self.model.link_defs, cfg, web=self.web)
        self.groups = (self.sky, self.globes, self.site, self.spacecraft, self.trails, self.labels, self.link_lines)
        if not self.web:  # (the browser draws its own markers)
            keys = ["EARTH", "MOON", *self.vehicle_actor]
            self.markers = Markers(self.renderer, keys, float(cfg["markers"]["width_px"]))
            self.groups += (self.markers,)
        self.actors = {name: a for g in self.groups for name, a in g.actors.items()}
        self.labels.set_fonts(self.plotter.window_size[1], self.language)
        self.link_lines.set_fonts(self.plotter.window_size[1], self.language)

    # ================================================================================================ state
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the render window, for :class:`viewer.export.video.FrameSource`."""
        w, h = self.plotter.window_size
        return int(w), int(h)

    @property
    def sun(self) -> pv.Light:
        return self.sky.sun

    @property
    def _names(self) -> dict[str, dict[str, str]]:  # the web app's name table (viewer.ui.app)
        return self.model.names

    @property
    def terrain_exaggeration(self) -> float:
        return self.site.exaggeration

    def actor_names(self) -> list[str]:
        return list(self.actors)

    def _refresh(self) -> None:
        if self.et is not None:
            self.update(self.et)
            self._update_labels()

    def set_language(self, language: str) -> None:
        if language not in ("en", "zh"):
            raise InputError(f"language {shown(language)} is unknown; choose en or zh")
        self.language = language
        self.labels.set_fonts(self.plotter.window_size[1], language)
        self.link_lines.set_fonts(self.plotter.window_size[1], language)
        self._refresh()

    def set_layer(self, name: str, visible: bool) -> None:
        """Show or hide a layer: ``links``, ``trails``, ``labels`` or ``stars``."""
        if name not in self.layers:
            raise InputError(f"layer {shown(name)} is unknown; choose one of {', '.join(self.layers)}")
        self.layers[name] = bool(visible)
        self._refresh()

    def set_spacecraft_scale(self, n: float) -> None:
        """Draw spacecraft ``n`` times their true size (the screen then says so)."""
        n = float(n)
        if not (np.isfinite(n) and 1 <= n <= 1e7):
            raise InputError(f"spacecraft scale {n:g} is out of range; choose 1 … 10,000,000")
        self._scale_override = self.spacecraft_scale = n
        self._refresh()

    def set_terrain_exaggeration(self, x: float) -> None:
        """Exaggerate the relief of the site patch ``x`` times (heights above the reference sphere only)."""
        x = float(x)
        if not (np.isfinite(x) and 0 < x <= 50):
            raise InputError(f"terrain exaggeration {x:g} is out of range; choose 0 < x ≤ 50")
        self.site.set_exaggeration(x)
        self._refresh()

    def set_quality(self, quality: str) -> None:
        """``"fast"``: light meshes, no anti-aliasing; ``"still"``: fine meshes and SSAA."""
        if quality not in QUALITIES:
            raise InputError(f"quality {shown(quality)} is unknown; choose one of {', '.join(QUALITIES)}")
        self.quality = quality
        self._apply_quality()

    def _apply_quality(self) -> None:
        lod = "export" if self.quality == "still" else "browser"
        if not (self._fixed_bodies or self.web or lod == self._lod):  # swap the meshes, same actors
            self.bodies, self._lod = body_meshes(lod), lod
            self.globes.set_meshes(self.bodies)
            x = self.site.exaggeration
            self.site.set_mesh(self.bodies.terrain)
            if x != 1.0:
                self.site.set_exaggeration(x)
        want_aa = self.quality == "still"
        # anisotropic filtering (VTK's default 4x) costs llvmpipe ~40 % of a lunar-view frame with the Moon filling
        # half of it (720p: 96 vs 58 ms, measured 2026-12-02); stills keep it for a crisp limb
        self.globes.set_anisotropy(want_aa, self.globes.textures)
        if want_aa != self._aa:
            self.plotter.enable_anti_aliasing("ssaa") if want_aa else self.plotter.disable_anti_aliasing()
            self._aa = want_aa

    def exposure(self, sun: np.ndarray | None) -> float:
        """The site view's exposure for the Sun direction ``sun`` (:func:`viewer.scene.groups.site.exposure`)."""
        return exposure(self.cfg, sun)

    def terrain_label(self) -> str:
        """The terrain's source ("illustrative relief", "LOLA LDEM_16") in the scene's language."""
        return texts.terrain_label(self.bodies.terrain_label, self.cfg, self.language)

    def set_view(self, name: str, follow: str | None = None, et: float | None = None) -> None:
        """Switch to the view preset ``name`` (``follow`` names the vehicle for the follow view) and reset its camera."""
        view = get_view(name)
        if follow is not None and follow not in self.vehicle_actor:
            raise InputError(f"cannot follow {shown(follow)}; choose one of {', '.join(self.vehicle_actor)}")
        self.view, self.follow = view, follow or view.follow
        self.spacecraft_scale = self._scale_override or view.spacecraft_scale
        et = self.et if et is None else float(et)
        self.model.set_view(view, self.follow, et)
        self._apply_quality()
        if et is not None:
            self.update(et)
            self.reset_camera()
            self._update_labels()  # labels are placed for the new camera

    # ================================================================================================ camera
    def reset_camera(self) -> None:
        """Put the camera where the view preset says, for the current time."""
        if self.frame is None:
            return
        camera.apply(self.plotter.camera, camera.preset_pose(self.frame, self.model.kin, self.follow))
        self.plotter.camera_set = True  # else PyVista resets the camera at the first render
        self.camera_moved()

    def camera_moved(self) -> None:
        """Call after moving the camera yourself: re-centres the stars, the clipping range and the texture
        filtering (which depends on how large each body looks from the camera), and puts the relay chain through it."""
        self._place_links()
        self.place_stars()
        self.clip()
        self._choose_textures()

    def place_stars(self) -> None:
        """Centre the star sphere on the camera (call after moving the camera yourself), turned to the view frame."""
        self.sky.place_stars(self.plotter.camera)

    def clip(self) -> None:
        camera.clip(self.renderer)

    def _choose_textures(self) -> None:
        if not self.web:
            cam, still = self.plotter.camera, self.quality == "still"
            ppr = camera.pixels_per_radian(cam, self.plotter.window_size[1])
            self.globes.choose_textures(cam, ppr, self.view.units_per_km, still, {"terrain": self.actors["terrain"]})

    # ================================================================================================ update
    def poses(self, ets) -> Poses:
        """Poses of every actor at ``ets`` for the current view (see :mod:`viewer.scene.kinematics`)."""
        return self.model.kin.poses(ets, scale=self.spacecraft_scale)

    def update(self, et: float) -> None:
        """Move, show and hide actors for ``et`` (ET). Changes transforms, visibility, line points, colours, text."""
        self.et = et = float(et)
        f = self.frame = self.model.frame(et, self.spacecraft_scale, self.layers)
        gain = exposure(self.cfg, f.sun_dir) if "TERRAIN" in f.view.bodies else 1.0
        self.globes.update(f)
        self.site.update(f)
        self.spacecraft.update(f, f.view.units_per_m * self.spacecraft_scale, gain)
        self.sky.update(f, gain, self.layers.get("stars", True))
        self.trails.update(f, self.layers.get("trails", True))
        self.link_lines.update(f, self.layers.get("links", True))
        self.labels.set_texts(texts.for_scene(self, f))
        if self.web:  # offscreen, fit_to_camera() places them for the camera in use
            self._update_labels()
        self._place_links()  # again in fit_to_camera offscreen
        self.place_stars()
        self.clip()
        self._choose_textures()

    def marker_px(self) -> float:
        return placement.marker_px(self.cfg, self.size[1])

    def _place_links(self) -> None:
        render_pass = self.renderer.GetPass()  # a panoramic pass shows every direction: nothing leaves the frame
        panorama = render_pass is not None and render_pass.IsA("vtkPanoramicProjectionPass")
        self.link_lines.place(self.plotter.camera, self.size, self.language, all_around=bool(panorama))

    def _update_labels(self, pose: camera.CameraPose | None = None) -> None:
        """Labels and markers for the camera in use (:mod:`viewer.scene.placement`)."""
        pose, show = pose or camera.pose_of(self.plotter.camera), self.layers.get("labels", True)
        found = placement.subjects(self.frame, self.model, pose, self.size, self.spacecraft_scale)
        kw = {"found": found, "marker_px": self.marker_px()}
        self.labels.update(self.frame, self.model, pose, self.size, self.language, show, **kw)
        if not self.web:
            self.markers.update(placement.markers(found, self.model, kw["marker_px"]), self.size[1], show)

    # ================================================================================================ output
    def fit_to_camera(self) -> None:
        """Draw what depends on the camera in use (smooth trails); :meth:`render` and :meth:`screenshot` call it."""
        if not self.web and self.frame is not None:
            pose = camera.pose_of(self.plotter.camera)
            self.trails.fit(pose, self.size)
            self._update_labels(pose)
        if self.frame is not None:
            self._place_links()

    def render(self) -> None:
        self.fit_to_camera()
        self.plotter.render()

    def screenshot(self) -> np.ndarray:
        """Render and return the frame as (H, W, 3) uint8."""
        self.render()
        return self.plotter.screenshot(return_img=True)[..., :3]

    def render_frame(self, et: float) -> np.ndarray:
        """The frame at ``et`` as (H, W, 3) uint8 (the :class:`viewer.export.video.FrameSource` protocol)."""
        self.update(et)
        return self.screenshot()

    def project(self, points: np.ndarray) -> np.ndarray:
        """Display coordinates (x right, y down, pixels) of world points (render units), (N, 2)."""
        pts = np.atleast_2d(np.asarray(points, float))
        ren, h = self.renderer, self.plotter.window_size[1]
        out = np.empty((len(pts), 2))
        for i, p in enumerate(pts):
            ren.SetWorldPoint(p[0], p[1], p[2], 1.0)
            ren.WorldToDisplay()
            x, y, _ = ren.GetDisplayPoint()
            out[i] = (x, h - 1 - y)
        return out

    def export_tracks(self, view: str | None = None, **kwargs) -> dict:
        """Per-actor sample tracks for the browser (see :mod:`viewer.scene.tracks` for the format)."""
        from viewer.scene import tracks

        if view is not None and view != self.view.name:
            self.set_view(view, et=self.et)
        return tracks.export_tracks(self.model, self.et, self.spacecraft_scale, **kwargs)

    def close(self) -> None:
        self.plotter.close()
