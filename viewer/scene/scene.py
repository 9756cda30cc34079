"""MissionScene: one PyVista scene for the web app, the kiosk and the exporter. It never imports Panel.

The constructor builds every actor once, each with a stable name (``earth``, ``moon``, ``terrain``, ``orbiter``,
``returner``, ``lander``, ``ascender``, ``queqiao2``, ``trail:<actor>``, ``trail-future:<actor>``,
``label:<actor>``, ``link:<link id>``, ``stars``, ``indicator:earth``) plus the Sun light and the screen texts
(``clock``, ``title``, ``note:scale``, ``badge:grade``, ``site:sun``, ``site:earth``). :meth:`update` then only
changes transforms, visibility, point coordinates of lines, colours and text; it never adds or removes an actor.

>>> scene = MissionScene("site", window_size=(640, 360))          # doctest: +SKIP
>>> scene.update(et_from_utc("2024-06-01T22:23:16Z"))              # doctest: +SKIP
>>> png = scene.screenshot()                                        # doctest: +SKIP

Geometry is computed outside (terrain meshes from :mod:`viewer.terrain`, states from :mod:`viewer.ephemeris`
through :mod:`viewer.scene.kinematics`); the scene only places it. Every view renders relative to its focus
(floating origin, design rule 6): km for the Earth–Moon system, metres around the site.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv
import vtk

from viewer.constants import VEHICLES
from viewer.errors import InputError
from viewer.scene import models
from viewer.scene.kinematics import Kinematics, Poses, frame_from_x, scene_config
from viewer.scene.views import View, get_view, load_views

BODY_ACTORS = {"EARTH": "earth", "MOON": "moon"}
QUALITIES = ("fast", "still")
# Self-lit look (lines, stars, the indicator): lit with ambient only. Truly unlit actors (lighting=False) break the
# shadow-map shaders of VTK 9.7 ("vertexVC undeclared"), so shadows would fail in the site view.
FLAT = {"lighting": True, "ambient": 1.0, "diffuse": 0.0, "specular": 0.0}


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


@dataclass
class BodyMeshes:
    """The meshes the scene places: Moon globe (km, MOON_ME), site patch (m, ENU), Earth (km, ITRF93), textures.

    :func:`body_meshes` loads them from :mod:`viewer.terrain`; tests may pass their own.
    """

    moon: pv.PolyData
    moon_texture: np.ndarray
    terrain: pv.PolyData
    earth: pv.PolyData
    earth_texture: np.ndarray
    terrain_label: str = ""


def body_meshes(lod: str = "browser", exaggeration: float = 1.0) -> BodyMeshes:
    """Load the Moon globe, the site patch and the Earth from :mod:`viewer.terrain` (cached on disk there)."""
    from viewer.terrain import meshes, textures

    moon = meshes.globe_mesh(lod)
    terrain = meshes.site_patch(lod, exaggeration=exaggeration)
    label = str(terrain.field_data["source_label"][0]) if "source_label" in terrain.field_data else ""
    return BodyMeshes(
        moon=moon,
        moon_texture=textures.texture_image("moon"),
        terrain=terrain,
        earth=meshes.earth_mesh(lod),
        earth_texture=textures.texture_image("earth"),
        terrain_label=label,
    )


def _matrix(rot: np.ndarray, pos: np.ndarray, scale: float) -> vtk.vtkMatrix4x4:
    m = vtk.vtkMatrix4x4()
    _set_matrix(m, rot, pos, scale)
    return m


def _set_matrix(m: vtk.vtkMatrix4x4, rot: np.ndarray, pos: np.ndarray, scale: float) -> None:
    a = np.eye(4)
    a[:3, :3] = rot * scale
    a[:3, 3] = pos
    m.DeepCopy(a.ravel())


class MissionScene:
    """The mission scene. ``view`` is a preset of ``assets/views.yaml``; ``follow`` a NAIF vehicle for ``follow``.

    ``web=True`` always uses the light meshes (browser LOD) for ``pn.pane.VTK``. Otherwise ``quality`` chooses:
    ``"fast"`` (browser LOD, no anti-aliasing: video frames) or ``"still"`` (export LOD, SSAA). Offscreen, the site
    patch shows cast shadows at both qualities (:mod:`viewer.scene.shadows`).
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
    ):
        self.cfg = scene_config()
        self.views = load_views()
        from viewer.scene.views import default_view

        self.view: View = get_view(view or default_view())
        self.web = web
        self.language = language if language in ("en", "zh") else "en"
        if quality not in QUALITIES:
            raise InputError(f"quality {quality!r} is unknown; choose one of {', '.join(QUALITIES)}")
        self.quality = quality
        self.layers = dict(self.cfg["layers"])
        self.terrain_exaggeration = 1.0
        self.follow = follow or self.view.follow
        self.spacecraft_scale = self.view.spacecraft_scale
        self._scale_override: float | None = None
        # Body meshes: the light LOD for the web and for fast frames, the export LOD for stills (set_quality swaps)
        self._fixed_bodies = bodies is not None
        self._lod = "browser" if (web or quality == "fast") else "export"
        self.bodies = bodies or body_meshes(self._lod)
        self.et: float | None = None
        self._names = self._load_names()
        pv.global_theme.multi_samples = 0
        self.plotter = plotter or pv.Plotter(off_screen=off_screen, window_size=list(window_size), lighting="none")
        self.plotter.set_background(self.cfg["background"])
        self.renderer = self.plotter.renderer
        self.renderer.SetNearClippingPlaneTolerance(1e-5)  # floating origin: near objects metres, far bodies Mm
        self.actors: dict[str, vtk.vtkProp] = {}
        self._matrices: dict[str, vtk.vtkMatrix4x4] = {}
        self._build()
        self._kin = Kinematics(self.view, follow=self.follow if self.view.name == "follow" else None)
        self._trail_cache: dict[tuple, dict | None] = {}
        self._trail_key: dict[str, tuple] = {}
        self._trail_range: dict[str, tuple] = {}
        self._live_len: dict[tuple, int] = {}  # follow view: (vehicle, 0 past / 1 future) -> live points held
        self._trail_drawn: dict[str, int] = {}
        self._links = self._load_links()
        self._aa = False
        if et is not None:
            self.set_view(self.view.name, follow=self.follow, et=et)

    # ================================================================================================ build
    def _load_names(self) -> dict:
        names = {k: dict(v) for k, v in self.cfg["names"].items()}
        try:
            from viewer.mission import load_mission

            mission = load_mission()
            for sc in getattr(mission, "spacecraft", None) or []:
                naif = getattr(sc, "naif_name", None) or (sc.get("naif_name") if isinstance(sc, dict) else None)
                name = getattr(sc, "name", None) or (sc.get("name") if isinstance(sc, dict) else None)
                if naif and isinstance(name, dict):
                    names[naif] = {"en": str(name.get("en", naif)).split(" (")[0], "zh": str(name.get("zh", naif))}
        except Exception:  # the mission data names are a refinement; scene.yaml holds the fallback names
            pass
        return names

    @staticmethod
    def _texture(image: np.ndarray, mipmap: bool = True) -> pv.Texture:
        tex = pv.Texture(image)  # row 0 is the top (north): never flipped (tech-notes §1)
        tex.interpolate = True
        tex.mipmap = mipmap
        return tex

    def _textures(self, image: np.ndarray) -> tuple[pv.Texture, pv.Texture]:
        """(trilinear, bilinear) textures of one image. llvmpipe's trilinear (mipmapped) sampling doubles the cost
        of a textured body filling a 1080p frame (lunar view: 224 vs 122 ms, measured 2026-11-25); it is only
        needed where the texture is minified, so fast frames use the bilinear one when the body looks large."""
        return self._texture(image, True), self._texture(image, False)

    def _display_albedo(self, image: np.ndarray) -> np.ndarray:
        """The WAC albedo stretched for display (scene.yaml ``albedo_display``): the mare median is ~64/255."""
        cfg = self.cfg.get("albedo_display") or {}
        if not cfg:
            return image
        top = max(float(np.percentile(image[::4, ::4, 0], float(cfg["percentile"]))), 1.0)
        x = np.clip(image.astype(np.float32) / top, 0.0, 1.0) ** float(cfg["gamma"])
        return (x * 255.0 + 0.5).astype(np.uint8)

    def _add(self, name: str, prop: vtk.vtkProp) -> vtk.vtkProp:
        self.actors[name] = prop
        return prop

    def _build(self) -> None:
        p = self.plotter
        # Sun: one scene light, directional
        self.sun = pv.Light(light_type="scene light", intensity=float(self.cfg.get("sun_intensity", 1.0)))
        self.sun.positional = False
        p.add_light(self.sun)
        # stars (deterministic), drawn on a sphere around the camera
        st = self.cfg["stars"]
        rng = np.random.default_rng(int(st["seed"]))
        v = rng.normal(size=(int(st["count"]), 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        stars = _with_normals(pv.PolyData(v))
        b = st["min_brightness"] + (1 - st["min_brightness"]) * rng.power(4.0, len(v))[::-1] ** 3
        stars.point_data["rgb"] = (np.clip(b, 0, 1)[:, None] * [255, 255, 255]).astype(np.uint8)
        a = p.add_mesh(
            stars,
            scalars="rgb",
            rgb=True,
            point_size=1.6,
            **FLAT,
            name="stars",
            render_points_as_spheres=False,
            reset_camera=False,
        )
        self._add("stars", a)
        # bodies
        earth = self.bodies.earth.copy()
        self._body_tex = {"earth": self._textures(self.bodies.earth_texture)}
        # the globes are closed, outward-wound surfaces: culling their far halves saves llvmpipe (and SwiftShader)
        # the triangle setup of half the mesh (lunar view at 1080p: 55 -> 35 ms a frame, measured 2026-12-02)
        a = p.add_mesh(
            earth,
            texture=self._body_tex["earth"][0],
            smooth_shading=True,
            name="earth",
            ambient=0.03,
            diffuse=1.0,
            specular=0.05,
            culling="back",
            reset_camera=False,
        )
        self._add("earth", a)
        moon = self.bodies.moon.copy()
        self._body_tex["moon"] = self._textures(self._display_albedo(self.bodies.moon_texture))
        self._body_tex["terrain"] = self._body_tex["moon"]
        self._moon_tex = self._body_tex["moon"][0]
        a = p.add_mesh(
            moon,
            texture=self._moon_tex,
            smooth_shading=True,
            name="moon",
            ambient=0.02,
            diffuse=1.0,
            specular=0.0,
            culling="back",
            reset_camera=False,
        )
        self._add("moon", a)
        self._set_terrain_mesh(self.bodies.terrain)
        # the site patch is a height field seen from above: the first surface a view ray meets faces the camera, so
        # culling the back faces hides nothing (1080p site view: 50 -> 42 ms a frame)
        a = p.add_mesh(
            self._terrain_mesh,
            texture=self._moon_tex,
            smooth_shading=True,
            culling="back",
            name="terrain",
            ambient=0.02,
            diffuse=1.0,
            specular=0.0,
            reset_camera=False,
        )
        self._add("terrain", a)
        # cast shadows: a per-vertex grey ("shade") that multiplies the lit, textured terrain (viewer.scene.shadows)
        if self.terrain_shadows:  # (the web scene sends no shade colours)
            mapper = a.GetMapper()
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("shade")
            mapper.SetColorModeToDirectScalars()
            mapper.ScalarVisibilityOn()
        # spacecraft
        self.vehicle_actor = {v: c["actor"] for v, c in self.cfg["vehicles"].items() if v in VEHICLES}
        self._vehicle_look = (0.9, 0.3)  # diffuse, specular
        for v, name in self.vehicle_actor.items():
            a = p.add_mesh(
                models.model(v),
                scalars="rgb",
                rgb=True,
                name=name,
                smooth_shading=False,
                ambient=0.22,
                diffuse=self._vehicle_look[0],
                specular=self._vehicle_look[1],
                specular_power=20,
                reset_camera=False,
            )
            self._add(name, a)
        self._model_radius = {
            v: float(np.max(np.linalg.norm(models.model(v).points, axis=1))) * 0.8 for v in self.vehicle_actor
        }
        # trails: past (solid) and future (faint) share points
        tcfg = self.cfg["trails"]
        self._trail_polys: dict[str, tuple[pv.PolyData, pv.PolyData]] = {}
        for v, name in self.vehicle_actor.items():
            col = np.array(_rgb(self.cfg["vehicles"][v]["colour"]))
            past = _with_normals(pv.PolyData(np.zeros((2, 3)), lines=np.array([2, 0, 1])))
            fut = _with_normals(pv.PolyData(np.zeros((2, 3)), lines=np.array([2, 0, 1])))
            a1 = p.add_mesh(
                past, color=col, line_width=tcfg["width_past"], **FLAT, name=f"trail:{name}", reset_camera=False
            )
            a2 = p.add_mesh(
                fut,
                color=col * tcfg["future_dim"],
                line_width=tcfg["width_future"],
                **FLAT,
                name=f"trail-future:{name}",
                reset_camera=False,
            )
            self._add(f"trail:{name}", a1)
            self._add(f"trail-future:{name}", a2)
            self._trail_polys[v] = (past, fut)
        # labels
        # (2-D text anchored at a world point: unlit, always readable, offset a few pixels above the object)
        self._labels: dict[str, vtk.vtkTextActor] = {}
        self._label_anchor: dict[str, vtk.vtkCoordinate] = {}
        for key in list(self.vehicle_actor) + ["EARTH", "MOON", "CHANGE6_SITE"]:
            actor_name = self.vehicle_actor.get(key) or BODY_ACTORS.get(key) or "site"
            lab = vtk.vtkTextActor()
            anchor = vtk.vtkCoordinate()
            anchor.SetCoordinateSystemToWorld()
            pos = lab.GetPositionCoordinate()
            pos.SetCoordinateSystemToDisplay()
            pos.SetReferenceCoordinate(anchor)
            pos.SetValue(0, int(self.cfg["labels"]["offset_px"]))
            tp = lab.GetTextProperty()
            colour = self.cfg["vehicles"].get(key, {}).get("colour", "#DDDDDD")
            tp.SetColor(*_rgb(colour))
            tp.SetJustificationToCentered()
            tp.SetVerticalJustificationToBottom()
            tp.SetShadow(True)
            self.renderer.AddViewProp(lab)
            self._labels[key] = lab
            self._label_anchor[key] = anchor
            self._add(f"label:{actor_name}", lab)
        # Earth-below-horizon indicator for the site view: an arrow along the surface towards Earth's azimuth
        arrow = pv.Arrow(start=(0, 0, 0), direction=(1, 0, 0), tip_length=0.2, tip_radius=0.06, shaft_radius=0.02)
        a = p.add_mesh(arrow, color=_rgb("#56B4E9"), **FLAT, name="indicator:earth", reset_camera=False)
        self._add("indicator:earth", a)
        # screen texts
        self._texts: dict[str, vtk.vtkTextActor] = {}
        self._text_size: dict[str, float] = {}
        for key, (x, y, just, size) in {
            "title": (0.015, 0.965, "left", 1.25),
            "clock": (0.015, 0.925, "left", 1.0),
            "note:scale": (0.015, 0.02, "left", 0.85),
            "badge:grade": (0.985, 0.02, "right", 0.75),
            "site:sun": (0.985, 0.965, "right", 0.9),
            "site:earth": (0.985, 0.93, "right", 0.9),
            "note:terrain": (0.015, 0.055, "left", 0.8),
        }.items():
            t = vtk.vtkTextActor()
            t.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
            t.GetPositionCoordinate().SetValue(x, y)
            tp = t.GetTextProperty()
            tp.SetJustificationToLeft() if just == "left" else tp.SetJustificationToRight()
            tp.SetVerticalJustificationToTop() if y > 0.5 else tp.SetVerticalJustificationToBottom()
            tp.SetColor(0.85, 0.85, 0.85) if key != "badge:grade" else tp.SetColor(0.6, 0.6, 0.6)
            self._text_size[key] = size
            self.renderer.AddViewProp(t)
            self._texts[key] = t
            self._add(key, t)
        self._apply_fonts()
        # link lines get built in _load_links
        for name, prop in self.actors.items():
            if isinstance(prop, vtk.vtkActor) and name not in self._matrices:
                m = vtk.vtkMatrix4x4()
                prop.SetUserMatrix(m)
                self._matrices[name] = m

    def _apply_fonts(self) -> None:
        h = self.plotter.window_size[1]
        base = int(self.cfg["labels"]["font_size"]) * max(h, 360) / 1080.0
        cjk = self.cfg.get("cjk_font")
        use_cjk = self.language == "zh" and cjk and os.path.exists(cjk)
        props = [lab.GetTextProperty() for lab in self._labels.values()]
        props += [t.GetTextProperty() for t in self._texts.values()]
        for tp in props:
            if use_cjk:
                tp.SetFontFamily(vtk.VTK_FONT_FILE)
                tp.SetFontFile(cjk)
            else:
                tp.SetFontFamilyToArial()
        for lab in self._labels.values():
            lab.GetTextProperty().SetFontSize(int(round(base)))
        for key, t in self._texts.items():
            t.GetTextProperty().SetFontSize(int(round(base * self._text_size[key])))

    def _load_links(self) -> dict:
        """Line actors of the relay links (``link:<id>``), where :mod:`viewer.links` and its states are available."""
        out = {}
        try:
            from viewer import links as links_mod

            defs = links_mod.links()
        except Exception:  # links need the mission kernels and stations; without them the layer stays empty
            return out
        lcfg = self.cfg["links"]
        n = int(lcfg["blocked"]["dashes"]) * 2
        for lid, link in defs.items():
            if link.kind not in ("surface", "station", "space"):
                continue
            poly = _with_normals(pv.PolyData(np.zeros((n, 3))))
            poly.lines = np.hstack([[n], np.arange(n)])
            a = self.plotter.add_mesh(
                poly,
                color=_rgb(lcfg["open"]["colour"]),
                line_width=lcfg["open"]["width"],
                **FLAT,
                name=f"link:{lid}",
                reset_camera=False,
            )
            self._add(f"link:{lid}", a)
            segs = np.arange(0, n - 1, 2)
            cells = {
                "open": np.hstack([[n], np.arange(n)]),
                "blocked": np.column_stack([np.full(len(segs), 2), segs, segs + 1]).ravel(),
            }
            out[lid] = {
                "link": link,
                "poly": poly,
                "actor": a,
                "cells": cells,
                "pts": poly.points,
                "ramp": np.linspace(0.0, 1.0, n)[:, None],
            }
        return out

    # ================================================================================================ API
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the render window, for :class:`viewer.export.video.FrameSource`."""
        w, h = self.plotter.window_size
        return int(w), int(h)

    def actor_names(self) -> list[str]:
        return list(self.actors)

    def set_language(self, language: str) -> None:
        if language not in ("en", "zh"):
            raise InputError(f"language {language!r} is unknown; choose en or zh")
        self.language = language
        self._apply_fonts()
        if self.et is not None:
            self.update(self.et)

    def set_layer(self, name: str, visible: bool) -> None:
        """Show or hide a layer: ``links``, ``trails``, ``labels`` or ``stars``."""
        if name not in self.layers:
            raise InputError(f"layer {name!r} is unknown; choose one of {', '.join(self.layers)}")
        self.layers[name] = bool(visible)
        if self.et is not None:
            self.update(self.et)

    def set_spacecraft_scale(self, n: float) -> None:
        """Draw spacecraft ``n`` times their true size (the screen then says so)."""
        n = float(n)
        if not (np.isfinite(n) and 1 <= n <= 1e7):
            raise InputError(f"spacecraft scale {n:g} is out of range; choose 1 … 10,000,000")
        self._scale_override = n
        self.spacecraft_scale = n
        if self.et is not None:
            self.update(self.et)

    def set_terrain_exaggeration(self, x: float) -> None:
        """Exaggerate the relief of the site patch ``x`` times (heights above the reference sphere only)."""
        x = float(x)
        if not (np.isfinite(x) and 0 < x <= 50):
            raise InputError(f"terrain exaggeration {x:g} is out of range; choose 0 < x ≤ 50")
        self.terrain_exaggeration = x
        heights = np.asarray(
            self._terrain_mesh.point_data.get("height_m", np.zeros(self._terrain_mesh.n_points)), dtype=np.float64
        )
        base = self._terrain_base
        # points lie at (R + h)·û − origin; move each along its radial direction by (x − 1)·(h − h_site)
        r0 = np.array([0.0, 0.0, -1737.4e3])
        radial = base - r0
        radial /= np.linalg.norm(radial, axis=1, keepdims=True)
        h_site = float(heights[np.argmin(np.linalg.norm(base, axis=1))])  # the site stays at the origin
        self._terrain_mesh.points = base + radial * ((x - 1.0) * (heights - h_site))[:, None]
        self._terrain_mesh.compute_normals(inplace=True, split_vertices=False)
        self._patch_shadows = None  # the relief changed: shadows are computed anew
        self._shade_key = None
        if self.et is not None:
            self.update(self.et)

    def set_quality(self, quality: str) -> None:
        """``"fast"``: light meshes, no anti-aliasing; ``"still"``: fine meshes and SSAA."""
        if quality not in QUALITIES:
            raise InputError(f"quality {quality!r} is unknown; choose one of {', '.join(QUALITIES)}")
        self.quality = quality
        self._apply_quality()

    def _use_lod(self, lod: str) -> None:
        """Swap the Moon, Earth and terrain meshes to ``lod`` (same actors; a structural change for the web)."""
        if self._fixed_bodies or self.web or lod == self._lod:
            return
        bodies = body_meshes(lod)
        self.actors["moon"].GetMapper().SetInputData(bodies.moon)
        self.actors["earth"].GetMapper().SetInputData(bodies.earth)
        self._set_terrain_mesh(bodies.terrain)
        self.actors["terrain"].GetMapper().SetInputData(self._terrain_mesh)
        self.bodies, self._lod = bodies, lod
        if self.terrain_exaggeration != 1.0:
            x, self.terrain_exaggeration = self.terrain_exaggeration, 1.0
            self.set_terrain_exaggeration(x)

    def _apply_quality(self) -> None:
        self._use_lod("export" if self.quality == "still" else "browser")
        want_aa = self.quality == "still"
        # anisotropic filtering (VTK's default 4x) costs llvmpipe ~40 % of a lunar-view frame with the Moon filling
        # half of it (720p: 96 vs 58 ms, measured 2026-12-02); stills keep it for a crisp limb
        for mip, flat in self._body_tex.values():
            for tex in (mip, flat):
                tex.SetMaximumAnisotropicFiltering(4.0 if want_aa else 1.0)
        if want_aa and not self._aa:
            self.plotter.enable_anti_aliasing("ssaa")
            self._aa = True
        elif not want_aa and self._aa:
            self.plotter.disable_anti_aliasing()
            self._aa = False

    def exposure(self, sun: np.ndarray | None) -> float:
        """The site view's exposure for the Sun direction ``sun`` (ENU): scene.yaml ``site_exposure`` (a camera's
        choice, like the albedo stretch; 1 outside the site view or with the Sun high)."""
        cfg = self.cfg.get("site_exposure") or {}
        if sun is None or not cfg:
            return 1.0
        el = float(np.arcsin(np.clip(sun[2] / np.linalg.norm(sun), -1.0, 1.0)))
        gain = np.sin(np.radians(float(cfg["reference_el_deg"]))) / max(np.sin(el), 1e-3)
        return float(np.clip(gain, 1.0, float(cfg["max_gain"])))

    def _expose(self, sun: np.ndarray | None) -> None:
        """Sun brighter by the exposure; the spacecraft's diffuse and specular lower by as much, so only the
        terrain looks brighter (ambient-lit lines, stars and texts do not depend on the light)."""
        gain = self.exposure(sun)
        if gain == getattr(self, "_gain", 1.0):
            return
        self.sun.intensity = float(self.cfg.get("sun_intensity", 1.0)) * gain
        for name in self.vehicle_actor.values():
            prop = self.actors[name].GetProperty()
            prop.SetDiffuse(self._vehicle_look[0] / gain)
            prop.SetSpecular(self._vehicle_look[1] / gain)
        self._gain = gain

    def _set_terrain_mesh(self, terrain: pv.PolyData) -> None:
        self._terrain_mesh = terrain.copy()
        self._terrain_base = np.asarray(self._terrain_mesh.points, dtype=np.float64).copy()
        self._terrain_mesh.point_data["shade"] = np.full((self._terrain_mesh.n_points, 3), 255, np.uint8)
        self._patch_shadows = None
        self._shade_key = None

    @property
    def terrain_shadows(self) -> bool:
        """Whether the site patch shows cast shadows (scene.yaml ``shadows``; not in the web scene, whose Sun moves
        in the browser)."""
        return bool(self.cfg.get("shadows", True)) and not self.web

    def _update_terrain_shade(self, sun: np.ndarray) -> None:
        """Darken the site patch where the terrain hides the Sun (cached per Sun direction, 0.1° steps)."""
        if not self.terrain_shadows:
            if self._shade_key is not None:  # switched off: back to full light
                self._set_shade(np.full(self._terrain_mesh.n_points, 255.0))
                self._shade_key = None
            return
        from viewer.scene import shadows

        mesh = self._terrain_mesh
        if self._patch_shadows is None:
            size_km = mesh.field_data["size_km"][0] if "size_km" in mesh.field_data else None
            size_m = float(size_km) * 1000.0 if size_km is not None else float(np.ptp(self._terrain_base[:, 0]))
            try:
                self._patch_shadows = shadows.PatchShadows(np.asarray(mesh.points), size_m)
            except ValueError:  # not a grid patch: VTK's lighting alone
                self._patch_shadows = False
        if self._patch_shadows is False:
            return
        key = shadows.PatchShadows.key(sun)
        if key == self._shade_key:
            return
        fill = float(self.cfg.get("shadow_fill", 0.08))
        self._set_shade(255.0 * (fill + (1.0 - fill) * self._patch_shadows.lit(sun)))
        self._shade_key = key

    def _set_shade(self, grey: np.ndarray) -> None:
        mesh = self._terrain_mesh
        mesh.point_data["shade"] = np.repeat(np.round(grey).astype(np.uint8)[:, None], 3, axis=1)
        mesh.Modified()

    def set_view(self, name: str, follow: str | None = None, et: float | None = None) -> None:
        """Switch to the view preset ``name`` (``follow`` names the vehicle for the follow view) and reset its camera."""
        view = get_view(name)
        if follow is not None and follow not in self.vehicle_actor:
            raise InputError(f"cannot follow {follow!r}; choose one of {', '.join(self.vehicle_actor)}")
        self.view = view
        self.follow = follow or view.follow
        self.spacecraft_scale = self._scale_override or view.spacecraft_scale
        et = self.et if et is None else float(et)
        kin = Kinematics(view, follow=self.follow if view.name == "follow" else None)
        if et is not None:
            kin.center = kin.choose_center(et)
        self._kin = kin
        self._apply_quality()
        if et is not None:
            self.update(et)
            self.reset_camera()
            self._update_labels(self._poses)  # labels sit above objects along the new camera's up

    # ------------------------------------------------------------------------------------------ camera
    def _basis(self, poses: Poses) -> np.ndarray:
        """3×3 (columns x, y, z) of the camera preset's basis, in the view frame."""
        basis = self.view.camera.basis
        if basis == "frame":
            return np.eye(3)
        if basis == "sun":  # x: the Sun's direction in the frame's x-y plane (its azimuth at the site), z up
            s = poses.sun_dir[0]
            return frame_from_x(np.array([[s[0], s[1], 0.0]]), np.array([[0.0, 0.0, 1.0]]))[0]
        kind, _, target = basis.partition(":")
        if target == "FOLLOWED":
            target = self.follow or "CHANGE6_ORBITER"
        centre = self._kin.center
        rel = self._kin._states_moon(target, poses.ets[:1])[0] - self._kin._states_moon(centre, poses.ets[:1])[0]
        if not np.all(np.isfinite(rel)):
            return np.eye(3)
        from viewer.scene.kinematics import _rotations

        rot = _rotations("J2000", self.view.frame, poses.ets[:1])[0]
        r, v = rot @ rel[:3], rot @ rel[3:]
        if kind == "orbit":
            return frame_from_x(r[None], np.cross(r, v)[None])[0]
        return frame_from_x(r[None], np.array([[0.0, 0.0, 1.0]]))[0]

    def reset_camera(self) -> None:
        """Put the camera where the view preset says, for the current time."""
        if self.et is None:
            return
        cam = self.view.camera
        poses = self._poses
        focus = np.zeros(3)
        name, _, frac = cam.focus.partition("*")  # "MOON*0.5": half-way from the origin to the Moon
        if name != "origin" and name in poses.positions:
            focus = poses.positions[name][0] * (float(frac) if frac else 1.0)
        b = self._basis(poses)
        d = np.asarray(cam.direction, float)
        d = b @ (d / np.linalg.norm(d))
        up = b @ np.asarray(cam.view_up, float)
        c = self.plotter.camera
        c.focal_point = tuple(focus)
        c.position = tuple(focus + d * cam.distance)
        c.up = tuple(up)
        c.view_angle = cam.view_angle_deg
        c.OrthogonalizeViewUp()
        self.plotter.camera_set = True  # else PyVista resets the camera at the first render
        self.camera_moved()

    def camera_moved(self) -> None:
        """Call after moving the camera yourself: re-centres the stars, the clipping range and the texture
        filtering (which depends on how large each body looks from the camera)."""
        self.place_stars()
        self._clip()
        self._choose_textures()

    def _choose_textures(self) -> None:
        """Fast offscreen frames: bilinear textures where a body is magnified or nearly so (the terrain patch: its
        WAC texels are ~3.5 km; the Moon or Earth wider than ~tex_width/(1.5π) pixels), trilinear elsewhere."""
        if self.web:
            return
        cam = self.plotter.camera
        pos = np.asarray(cam.position, float)
        h = self.plotter.window_size[1]
        px_per_rad = h / (2.0 * np.tan(np.radians(cam.view_angle) / 2.0))
        for name, (mip, flat) in self._body_tex.items():
            actor = self.actors[name]
            if not actor.GetVisibility():
                continue
            if self.quality == "still":
                tex = mip
            elif name == "terrain":
                tex = flat
            else:
                m = self._matrices[name]
                centre = np.array([m.GetElement(i, 3) for i in range(3)])
                radius = (6378.0 if name == "earth" else 1737.4) * self.view.units_per_km
                dist = max(float(np.linalg.norm(centre - pos)), radius * 1.0001)
                diameter_px = 2.0 * np.arcsin(radius / dist) * px_per_rad
                width = (self.bodies.earth_texture if name == "earth" else self.bodies.moon_texture).shape[1]
                tex = flat if diameter_px * 1.5 * np.pi > width else mip
            if actor.GetTexture() is not tex:
                actor.SetTexture(tex)

    def _clip(self) -> None:
        """Clipping range from the visible props, with the near plane never beyond 5 % of the camera distance."""
        self.renderer.ResetCameraClippingRange()
        cam = self.renderer.GetActiveCamera()
        near, far = cam.GetClippingRange()
        cam.SetClippingRange(min(near, 0.05 * cam.GetDistance()), far)

    def place_stars(self) -> None:
        """Centre the star sphere on the camera (call after moving the camera yourself), turned to the view frame."""
        c = self.plotter.camera
        pos = np.asarray(c.position, float)
        dist = np.linalg.norm(pos - np.asarray(c.focal_point, float))
        from viewer.scene.kinematics import _rotations

        rot = _rotations("J2000", self.view.frame, np.array([self.et]))[0] if self.et is not None else np.eye(3)
        _set_matrix(self._matrices["stars"], rot, pos, dist * 8.0)

    _place_stars = place_stars  # the former name

    # ------------------------------------------------------------------------------------------ update
    @property
    def far_limit(self) -> float:
        """Spacecraft, labels and trails farther than this from the origin (render units) are not drawn."""
        return float(self.cfg["far_factor"]) * self.view.camera.distance

    def poses(self, ets) -> Poses:
        """Poses of every actor at ``ets`` for the current view (see :mod:`viewer.scene.kinematics`)."""
        return self._kin.poses(ets, scale=self.spacecraft_scale)

    def update(self, et: float) -> None:
        """Move, show and hide actors for ``et`` (ET). Changes transforms, visibility, line points, colours, text."""
        et = float(et)
        self.et = et
        poses = self._kin.poses(np.array([et]), scale=self.spacecraft_scale)
        self._poses = poses
        view = self.view
        m_to_units = view.units_per_m * self.spacecraft_scale
        site_view = view.frame != "J2000"
        # bodies
        for body, actor_name in BODY_ACTORS.items():
            show = body in view.bodies
            self.actors[actor_name].SetVisibility(show)
            if show:
                _set_matrix(
                    self._matrices[actor_name], poses.rotations[body][0], poses.positions[body][0], view.units_per_km
                )
        self.actors["terrain"].SetVisibility("TERRAIN" in view.bodies)
        # spacecraft
        far = self.far_limit
        for v, name in self.vehicle_actor.items():
            vis = bool(poses.visible[v][0]) and float(np.linalg.norm(poses.positions[v][0])) < far
            self.actors[name].SetVisibility(vis)
            if vis:
                _set_matrix(self._matrices[name], poses.rotations[v][0], poses.positions[v][0], m_to_units)
        # light: the Sun's direction
        s = poses.sun_dir[0]
        self.sun.position = tuple(s * self.view.camera.distance * float(self.cfg["sun_distance_factor"]))
        self.sun.focal_point = (0.0, 0.0, 0.0)
        self._expose(s if "TERRAIN" in view.bodies else None)
        if "TERRAIN" in view.bodies:
            self._update_terrain_shade(s)
        self._update_trails(et)
        self._indicator_tip = np.zeros(3)
        self._update_indicator(poses, site_view)
        self._update_labels(poses)
        self._update_links(et, poses)
        self._update_texts(et, poses)
        self.actors["stars"].SetVisibility(self.layers.get("stars", True))
        if hasattr(self, "_stars_placed"):
            self.place_stars()
        self._stars_placed = True
        self._clip()
        self._choose_textures()

    def _update_labels(self, poses: Poses) -> None:
        show = self.layers.get("labels", True)
        cam = self.plotter.camera
        up = np.asarray(cam.up, float)
        lift_m = self.view.units_per_m * self.spacecraft_scale
        for key, lab in self._labels.items():
            name = self._names.get(key, {}).get(self.language, key)
            vis, pos = False, np.zeros(3)
            if key == "CHANGE6_SITE":
                if show and self.view.name == "lunar":
                    rel = self._kin._states_moon("CHANGE6_SITE", poses.ets)[0, :3]
                    if np.isfinite(rel).all():
                        from viewer.scene.kinematics import _rotations

                        vis = True
                        pos = (_rotations("J2000", self.view.frame, poses.ets)[0] @ rel) * self.view.units_per_km
            elif key == "EARTH" and self.view.frame != "J2000":
                vis, pos = show, self._indicator_tip  # site view: at the tip of the Earth-direction arrow
            elif key in BODY_ACTORS:
                vis = show and key in self.view.bodies
                radius = 6378.0 if key == "EARTH" else 1737.4
                pos = poses.positions[key][0] + up * radius * self.view.units_per_km
            elif key in poses.positions:
                pos = poses.positions[key][0]
                vis = (
                    show
                    and bool(poses.visible[key][0])
                    and not poses.stacked_on[key][0]  # one label per stack
                    and float(np.linalg.norm(pos)) < self.far_limit
                )
                pos = pos + up * self._model_radius[key] * lift_m
                members = [
                    self._names.get(m, {}).get(self.language, m)
                    for m, par in poses.stacked_on.items()
                    if par[0] and self._root(poses, m) == key
                ]
                if members:
                    name = " + ".join([name] + members)
            if vis and key not in BODY_ACTORS and self._occluded(pos, poses):
                vis = False
            lab.SetVisibility(bool(vis))
            if vis:
                lab.SetInput(name)
                self._label_anchor[key].SetValue(*map(float, pos))

    def _occluded(self, point: np.ndarray, poses: Poses) -> bool:
        """Whether the Moon or the Earth (spheres) hides ``point`` from the camera (labels are 2-D, never hidden)."""
        cam = np.asarray(self.plotter.camera.position, float)
        d = point - cam
        length = float(np.linalg.norm(d))
        if length == 0:
            return False
        d /= length
        for body, radius_km in (("MOON", 1737.4 - 10.0), ("EARTH", 6356.0)):
            if body not in self.view.bodies:
                continue
            c = poses.positions[body][0] - cam
            t = float(c @ d)
            r = radius_km * self.view.units_per_km
            if 0 < t < length and float(np.linalg.norm(c - t * d)) < r:
                return True
        return False

    @staticmethod
    def _root(poses: Poses, v: str) -> str:
        seen = 0
        while poses.stacked_on.get(v, [""])[0] and seen < 8:
            v = poses.stacked_on[v][0]
            seen += 1
        return v

    def _update_texts(self, et: float, poses: Poses) -> None:
        from viewer.epochs import utc_label

        lang = self.language
        txt = self.cfg["text"]
        self._texts["title"].SetInput(
            self.view.title.get(lang, self.view.name)
            + (f": {self._names.get(self.follow, {}).get(lang, self.follow)}" if self.view.name == "follow" else "")
        )
        self._texts["clock"].SetInput(utc_label(et))
        n = self.spacecraft_scale
        self._texts["note:scale"].SetInput(txt["scale_note"][lang].format(n=f"{n:,.0f}") if n > 1 else "")
        self._texts["badge:grade"].SetInput(txt["grade_badge"][lang])
        site = self.view.frame != "J2000"
        ex = self.terrain_exaggeration
        self._texts["note:terrain"].SetInput(
            (self.terrain_label() + ("  " + txt["terrain_note"][lang].format(x=f"{ex:g}") if ex != 1 else ""))
            if site
            else ""
        )
        if site:
            az, el = _az_el(poses.sun_dir[0])
            self._texts["site:sun"].SetInput(txt["sun"][lang].format(el=el, az=az))
            az, el = _az_el(poses.earth_dir[0])
            key = "earth_below" if el < 0 else "earth_above"
            self._texts["site:earth"].SetInput(txt[key][lang].format(el=el, az=az))
        else:
            self._texts["site:sun"].SetInput("")
            self._texts["site:earth"].SetInput("")

    def terrain_label(self) -> str:
        """The terrain's source ("illustrative relief", "LOLA LDEM_16") in the scene's language (scene.yaml
        ``text.terrain_source``: exact labels, then ``LOLA {product}``)."""
        label = self.bodies.terrain_label
        names = self.cfg["text"].get("terrain_source", {})
        if label in names:
            return names[label].get(self.language, label)
        if label.startswith("LOLA ") and "LOLA" in names:
            return names["LOLA"].get(self.language, "{product}").format(product=label)
        return label

    def _update_indicator(self, poses: Poses, site_view: bool) -> None:
        a = self.actors["indicator:earth"]
        a.SetVisibility(site_view)
        if not site_view:
            return
        e = poses.earth_dir[0]
        horiz = np.array([e[0], e[1], 0.0])
        if np.linalg.norm(horiz) < 1e-9:
            horiz = np.array([1.0, 0.0, 0.0])
        length = self.view.camera.distance * 0.22
        rot = frame_from_x(horiz[None], np.array([[0.0, 0.0, 1.0]]))[0]
        base = np.array([0.0, 0.0, length * 0.02])
        _set_matrix(self._matrices["indicator:earth"], rot, base, length)
        self._indicator_tip = base + rot[:, 0] * length

    # ------------------------------------------------------------------------------------------ trails
    def _trail(self, v: str) -> dict | None:
        """Trail samples of ``v`` for this view: ets and points (render units relative to the view's centre)."""
        key = (self.view.name, self._kin.center, v, self.web)
        if key not in self._trail_cache:
            self._trail_cache[key] = self._sample_trail(v)
        data = self._trail_cache[key]
        if data is not None and self._trail_key.get(v) != key:  # the polylines hold another view's trail
            for i, poly in enumerate(self._trail_polys[v]):
                poly.points = data["points"]
                _with_normals(poly)
                self._live_len.pop((v, i), None)
            self._trail_key[v] = key
        return data

    def _sample_trail(self, v: str) -> dict | None:
        from viewer.scene import tracks

        tol = self.view.trail_tolerance_px * (float(self.cfg["trails"]["web_tolerance_factor"]) if self.web else 1.0)
        ets = tracks.sample_ets(self._kin, v, self.view, tolerance_px=tol, hermite=False)
        if len(ets) < 2:
            return None
        st = self._kin._states_moon(v, ets)
        c = self._kin._states_moon(self._kin.center, ets) if self._kin.center != "MOON" else np.zeros_like(st)
        from viewer.scene.kinematics import _rotations

        rot = _rotations("J2000", self.view.frame, ets, max_step_s=600.0)
        pts = np.einsum("nij,nj->ni", rot, st[:, :3] - c[:, :3]) * self.view.units_per_km
        ok = np.isfinite(pts[:, 0]) & self._free_or_near_free(v, ets, st)
        return {"ets": ets[ok], "points": pts[ok]}

    def _free_or_near_free(self, v: str, ets: np.ndarray, st: np.ndarray) -> np.ndarray:
        """Trail points worth keeping: where ``v`` flies free, or within a trail's length of such a time (while it
        rides in a stack its parent draws the same curve, and its own trail is hidden)."""
        riding = np.zeros(len(ets), bool)
        for parent, _off in self._kin.parents.get(v, []):
            sp = self._kin._states_moon(parent, ets)
            riding |= np.linalg.norm(np.nan_to_num(st[:, :3] - sp[:, :3], nan=1e9), axis=1) < self._kin.stack_tol_km
        free_t = ets[~riding]
        if len(free_t) == 0:
            return np.zeros(len(ets), bool)
        i = np.clip(np.searchsorted(free_t, ets), 1, len(free_t) - 1) if len(free_t) > 1 else np.zeros(len(ets), int)
        gap = np.minimum(np.abs(ets - free_t[i]), np.abs(ets - free_t[np.maximum(i - 1, 0)]))
        return ~riding | (gap <= self.view.trail_past_s + self.view.trail_future_s)

    def _update_trails(self, et: float) -> None:
        show = self.layers.get("trails", True)
        if self._kin.follow:
            self._update_live_trail(et, show)
            return
        shift = self._origin_shift() if self._kin.follow else np.zeros(3)
        far = self.far_limit
        for v, name in self.vehicle_actor.items():
            names = (f"trail:{name}", f"trail-future:{name}")
            riding = bool(self._poses.stacked_on[v][0])  # its parent's trail is the same curve
            data = self._trail(v) if show and not riding else None
            if data is None:
                for n in names:
                    self.actors[n].SetVisibility(False)
                continue
            ets, pts = data["ets"], data["points"]
            i0 = int(np.searchsorted(ets, et - self.view.trail_past_s))
            i1 = int(np.searchsorted(ets, et, side="right"))
            i2 = int(np.searchsorted(ets, et + self.view.trail_future_s, side="right"))
            for n, poly, lo, hi in zip(names, self._trail_polys[v], (i0, max(i1 - 1, 0)), (i1, i2)):
                key = (self._trail_key.get(v), lo, hi, tuple(np.round(shift, 6)))
                if self._trail_range.get(n) != key:  # unchanged between most frames: keep the cells
                    idx = np.arange(lo, hi)
                    near = np.linalg.norm(pts[lo:hi] + shift, axis=1) < far  # far arcs only stretch the depth
                    self._trail_drawn[n] = _set_line(poly, idx[near])
                    self._trail_range[n] = key
                self.actors[n].SetVisibility(self._trail_drawn[n] >= 2)
                # floating origin: trails are stored relative to the centre; the follow view shifts them
                _set_matrix(self._matrices[n], np.eye(3), shift, 1.0)

    def _update_live_trail(self, et: float, show: bool) -> None:
        """Follow view: the followed vehicle's trail, sampled around ``et`` (denser near now), relative to it."""
        f = self._kin.follow
        n = int(self.cfg["trails"]["live_points"])
        s = np.linspace(0.0, 1.0, n) ** 2
        for v, name in self.vehicle_actor.items():
            for i, n_, span, sign, poly in zip(
                (0, 1),
                (f"trail:{name}", f"trail-future:{name}"),
                (self.view.trail_past_s, self.view.trail_future_s),
                (-1.0, 1.0),
                self._trail_polys[v],
            ):
                actor = self.actors[n_]
                if v != f or not show or span <= 0:
                    actor.SetVisibility(False)
                    continue
                ets = et + sign * span * s
                st = self._kin._states_moon(v, ets)[:, :3]
                ok = np.isfinite(st[:, 0])
                if ok.sum() < 2:
                    actor.SetVisibility(False)
                    continue
                from viewer.scene.kinematics import _rotations

                rot = _rotations("J2000", self.view.frame, ets[ok])
                pts = np.einsum("nij,nj->ni", rot, st[ok] - st[0]) * self.view.units_per_km
                if self._live_len.get((v, i)) == len(pts):
                    poly.points[:] = pts  # the same polyline as the last frame: move its points in place
                    poly.GetPoints().Modified()
                else:
                    poly.points = pts
                    _with_normals(poly)
                    _set_line(poly, np.arange(len(pts)))
                    self._live_len[(v, i)] = len(pts)
                self._trail_key[v] = None  # the polylines no longer hold a view's cached trail
                _set_matrix(self._matrices[n_], np.eye(3), np.zeros(3), 1.0)
                actor.SetVisibility(True)

    def _origin_shift(self) -> np.ndarray:
        """Render-unit translation from centre-relative coordinates to origin-relative ones (follow view)."""
        p = self._poses
        f = self._kin.follow
        if not f or not p.visible[f][0]:
            return np.zeros(3)
        # position of the centre relative to the origin (the followed vehicle), render units
        body = self._kin.center
        if body in p.positions:
            return p.positions[body][0]
        return np.zeros(3)

    # ------------------------------------------------------------------------------------------ links
    def _update_links(self, et: float, poses: Poses) -> None:
        if not self._links:
            return
        show = self.layers.get("links", True)
        states, model = {}, None
        if show:
            try:
                from viewer import links as links_mod

                model = links_mod.default_model()  # once per update: the lookup checks the kernels on disk
                states = model.link_states(np.array([et]))
            except Exception:  # no link model (kernels or stations missing): the layer stays hidden
                states = {}
        max_len = self.view.camera.distance * 6.0
        ends_cache: dict[str, np.ndarray | None] = {}
        for lid, item in self._links.items():
            link, a = item["link"], item["actor"]
            stacked = any(e in poses.stacked_on and poses.stacked_on[e][0] for e in (link.a, link.b))
            ends = (
                None
                if (not show or lid not in states or stacked)
                else self._link_ends(link, et, poses, model, ends_cache)
            )
            if ends is None:  # a stack shows its root's links only
                a.SetVisibility(False)
                continue
            pa, pb = ends
            d = pb - pa
            length = np.linalg.norm(d)
            if length > max_len:  # keep the depth range sane: a link to the far Earth is drawn as a long stub
                pb = pa + d / length * max_len
            poly = item["poly"]
            item["pts"][:] = pa + item["ramp"] * (pb - pa)  # a view on the VTK points: update in place
            poly.GetPoints().Modified()
            state = "open" if bool(states[lid][0]) else "blocked"
            if item.get("state") != state:
                poly.lines = item["cells"][state]
                a.GetProperty().SetColor(*_rgb(self.cfg["links"][state]["colour"]))
                a.GetProperty().SetLineWidth(self.cfg["links"][state]["width"])
                item["state"] = state
            a.SetVisibility(True)

    def _link_ends(self, link, et: float, poses: Poses, model, cache: dict):
        out = []
        for end in (link.a, link.b):
            if end in poses.positions:
                if not poses.visible[end][0]:
                    return None
                out.append(poses.positions[end][0])
                continue
            if end not in cache:  # a ground station: ask the link model once per update
                try:
                    p = (
                        model.endpoint(end, np.array([et]), observer=self._kin.center, frame=self.view.frame)[0]
                        * self.view.units_per_km
                    )
                    cache[end] = p + self._origin_shift() if self._kin.follow else p
                except Exception:
                    cache[end] = None
            if cache[end] is None:
                return None
            out.append(cache[end])
        return out

    # ================================================================================================ output
    def render(self) -> None:
        self.plotter.render()

    def screenshot(self) -> np.ndarray:
        """Render and return the frame as (H, W, 3) uint8."""
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)[..., :3]

    def render_frame(self, et: float) -> np.ndarray:
        """The frame at ``et`` as (H, W, 3) uint8 (the :class:`viewer.export.video.FrameSource` protocol)."""
        self.update(et)
        return self.screenshot()

    def project(self, points: np.ndarray) -> np.ndarray:
        """Display coordinates (x right, y down, pixels) of world points (render units), (N, 2)."""
        pts = np.atleast_2d(np.asarray(points, float))
        ren = self.renderer
        h = self.plotter.window_size[1]
        out = np.empty((len(pts), 2))
        for i, p in enumerate(pts):
            ren.SetWorldPoint(p[0], p[1], p[2], 1.0)
            ren.WorldToDisplay()
            x, y, _ = ren.GetDisplayPoint()
            out[i] = (x, h - 1 - y)
        return out

    def export_tracks(self, view: str | None = None, **kwargs) -> dict:
        """Per-actor sample tracks for the browser (see :mod:`viewer.scene.tracks` for the format; ``compact=True``
        for the smaller form)."""
        from viewer.scene import tracks

        if view is not None and view != self.view.name:
            self.set_view(view, et=self.et)
        return tracks.export_tracks(self, **kwargs)

    def close(self) -> None:
        self.plotter.close()


def _with_normals(poly: pv.PolyData) -> pv.PolyData:
    """Give points/lines a (dummy) normal: VTK's shadow pass needs every actor lit, and points or lines without
    normals are drawn unlit. With ``FLAT`` (ambient only) the normal changes nothing on screen."""
    if poly.n_points == 0:
        return poly
    normals = np.zeros((poly.n_points, 3), np.float32)
    normals[:, 2] = 1.0
    poly.point_data["Normals"] = normals
    poly.point_data.active_normals_name = "Normals"
    return poly


def _set_line(poly: pv.PolyData, idx: np.ndarray) -> int:
    """Make ``poly``'s lines the polylines through the point indices ``idx`` (split where they skip); return the
    number of points drawn."""
    if len(idx) < 2:
        poly.lines = np.array([2, 0, 0])
        return 0
    pieces = [p for p in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(p) >= 2]
    if not pieces:
        poly.lines = np.array([2, 0, 0])
        return 0
    poly.lines = np.concatenate([np.concatenate([[len(p)], p]) for p in pieces])
    return int(sum(len(p) for p in pieces))


def _az_el(v: np.ndarray) -> tuple[float, float]:
    """Azimuth (deg, clockwise from north) and elevation (deg) of an ENU direction."""
    e, n, u = v
    az = float(np.degrees(np.arctan2(e, n)) % 360.0)
    el = float(np.degrees(np.arcsin(np.clip(u / np.linalg.norm(v), -1, 1))))
    return az, el
