"""The landing-site patch (relief exaggeration, cast shadows from :mod:`viewer.scene.shadows`, the site view's
exposure) and the arrow along the ground towards the Earth's azimuth."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.constants import MOON_RADIUS_KM
from viewer.scene import shadows
from viewer.scene.frame import Frame
from viewer.scene.groups.common import FLAT, Group, night_ambient
from viewer.scene.vehicles import rgb

ARROW_COLOUR = "#56B4E9"


def exposure(cfg: dict, sun: np.ndarray | None) -> float:
    """The site view's exposure for the Sun direction ``sun`` (ENU): scene.yaml ``site_exposure`` (a camera's
    choice, like the albedo stretch; 1 outside the site view or with the Sun high)."""
    cfg = cfg.get("site_exposure") or {}
    if sun is None or not cfg:
        return 1.0
    el = float(np.arcsin(np.clip(sun[2] / np.linalg.norm(sun), -1.0, 1.0)))
    gain = np.sin(np.radians(float(cfg["reference_el_deg"]))) / max(np.sin(el), 1e-3)
    return float(np.clip(gain, 1.0, float(cfg["max_gain"])))


class Site(Group):
    """The ``terrain`` actor (textured with the Moon's albedo) and ``indicator:earth``. Its per-vertex grey
    ``shade`` multiplies the lit, textured terrain: cast shadows computed here offscreen; in the web scene the
    browser fills it as its Sun moves, from :meth:`horizon` (``viewer/ui/static/site_shadows.js``)."""

    def __init__(self, plotter: pv.Plotter, terrain: pv.PolyData, textures: tuple, cfg: dict, web: bool):
        super().__init__()
        self.cfg, self.web, self.textures = cfg, web, textures
        self.exaggeration = 1.0
        self.set_mesh(terrain)
        # the site patch is a height field seen from above: the first surface a view ray meets faces the camera, so
        # culling the back faces hides nothing (1080p site view: 50 -> 42 ms a frame)
        ambient = night_ambient(cfg)  # earthshine on the ground the Sun does not reach
        look = {"smooth_shading": True, "culling": "back", "ambient": ambient, "diffuse": 1.0, "specular": 0.0}
        a = self.add(
            "terrain", plotter.add_mesh(self.mesh, texture=textures[0], name="terrain", reset_camera=False, **look)
        )
        if self.cfg.get("shadows", True):  # cast shadows: a per-vertex grey ("shade") multiplies the terrain
            mapper = a.GetMapper()
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("shade")
            mapper.SetColorModeToDirectScalars()
            mapper.ScalarVisibilityOn()
        arrow = pv.Arrow(start=(0, 0, 0), direction=(1, 0, 0), tip_length=0.2, tip_radius=0.06, shaft_radius=0.02)
        self.add(
            "indicator:earth",
            plotter.add_mesh(arrow, color=rgb(ARROW_COLOUR), **FLAT, name="indicator:earth", reset_camera=False),
        )

    @property
    def shadows(self) -> bool:
        """Whether the site patch shows cast shadows (scene.yaml ``shadows``; the web scene's are drawn in the
        browser)."""
        return bool(self.cfg.get("shadows", True)) and not self.web

    def _patch_shadows(self) -> shadows.PatchShadows | bool:
        if self._patch is None:
            size_km = self.mesh.field_data["size_km"][0] if "size_km" in self.mesh.field_data else None
            size_m = float(size_km) * 1000.0 if size_km is not None else float(np.ptp(self.base[:, 0]))
            try:
                self._patch = shadows.PatchShadows(np.asarray(self.mesh.points), size_m)
            except ValueError:  # not a grid patch: VTK's lighting alone
                self._patch = False
        return self._patch

    def horizon(self) -> np.ndarray | None:
        """The patch's horizon bytes at the current relief (:meth:`viewer.scene.shadows.PatchShadows.horizon`),
        for the browser's cast shadows; None when the patch shows none."""
        if not self.cfg.get("shadows", True) or self._patch_shadows() is False:
            return None
        return self._patch.horizon()

    def set_mesh(self, terrain: pv.PolyData) -> None:
        self.mesh = terrain.copy()
        self.base = np.asarray(self.mesh.points, dtype=np.float64).copy()
        self.mesh.point_data["shade"] = np.full((self.mesh.n_points, 3), 255, np.uint8)
        self._patch: shadows.PatchShadows | bool | None = None
        self._shade_key = None
        if "terrain" in self.actors:
            self.actors["terrain"].GetMapper().SetInputData(self.mesh)

    def set_exaggeration(self, x: float) -> None:
        """Exaggerate the relief ``x`` times (heights above the reference sphere only; the site stays put)."""
        self.exaggeration = x
        heights = np.asarray(self.mesh.point_data.get("height_m", np.zeros(self.mesh.n_points)), dtype=np.float64)
        # points lie at (R + h)·û − origin; move each along its radial direction by (x − 1)·(h − h_site)
        radial = self.base - np.array([0.0, 0.0, -MOON_RADIUS_KM * 1000.0])
        radial /= np.linalg.norm(radial, axis=1, keepdims=True)
        h_site = float(heights[np.argmin(np.linalg.norm(self.base, axis=1))])
        self.mesh.points = self.base + radial * ((x - 1.0) * (heights - h_site))[:, None]
        self.mesh.compute_normals(inplace=True, split_vertices=False)
        self._patch = None  # the relief changed: shadows are computed anew
        self._shade_key = None

    def update(self, f: Frame) -> None:
        shown = "TERRAIN" in f.view.bodies
        self.actors["terrain"].SetVisibility(shown)
        if shown:
            self._shade(f.sun_dir)
        a = self.actors["indicator:earth"]
        a.SetVisibility(f.arrow is not None)
        if f.arrow is not None:
            self.place("indicator:earth", f.arrow.rotation, f.arrow.base, f.arrow.length)

    def _shade(self, sun: np.ndarray) -> None:
        """Darken the patch where the terrain hides the Sun (cached per Sun direction, 0.1° steps)."""
        if not self.shadows:
            if self._shade_key is not None:  # switched off: back to full light
                self._set_shade(np.full(self.mesh.n_points, 255.0))
                self._shade_key = None
            return
        if self._patch_shadows() is False:
            return
        key = shadows.PatchShadows.key(sun)
        if key == self._shade_key:
            return
        fill = float(self.cfg["shadow_fill"])
        self._set_shade(255.0 * (fill + (1.0 - fill) * self._patch.lit(sun)))
        self._shade_key = key

    def _set_shade(self, grey: np.ndarray) -> None:
        self.mesh.point_data["shade"] = np.repeat(np.round(grey).astype(np.uint8)[:, None], 3, axis=1)
        self.mesh.Modified()
