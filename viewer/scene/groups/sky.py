"""The Sun light (one directional scene light) and the stars (a fixed random sphere centred on the camera)."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.scene.frame import Frame
from viewer.scene.groups.common import FLAT, Group, with_normals


class Sky(Group):
    def __init__(self, plotter: pv.Plotter, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.sun = pv.Light(light_type="scene light", intensity=float(cfg.get("sun_intensity", 1.0)))
        self.sun.positional = False
        plotter.add_light(self.sun)
        st = cfg["stars"]
        rng = np.random.default_rng(int(st["seed"]))  # deterministic
        v = rng.normal(size=(int(st["count"]), 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        stars = with_normals(pv.PolyData(v))
        b = st["min_brightness"] + (1 - st["min_brightness"]) * rng.power(4.0, len(v))[::-1] ** 3
        stars.point_data["rgb"] = (np.clip(b, 0, 1)[:, None] * [255, 255, 255]).astype(np.uint8)
        kw = {"point_size": 1.6, "render_points_as_spheres": False, "reset_camera": False}
        self.add("stars", plotter.add_mesh(stars, scalars="rgb", rgb=True, **FLAT, name="stars", **kw))
        self.rotation = np.eye(3)

    def update(self, f: Frame, gain: float, show_stars: bool) -> None:
        """Light from the Sun's direction, ``gain`` times the configured intensity (the site view's exposure)."""
        self.sun.position = tuple(f.sun_dir * f.view.camera.distance * float(self.cfg["sun_distance_factor"]))
        self.sun.focal_point = (0.0, 0.0, 0.0)
        self.sun.intensity = float(self.cfg.get("sun_intensity", 1.0)) * gain
        self.actors["stars"].SetVisibility(show_stars)
        self.rotation = f.sky_rotation

    def place_stars(self, camera) -> None:
        """Centre the star sphere on the camera, turned to the view frame."""
        pos = np.asarray(camera.position, float)
        dist = np.linalg.norm(pos - np.asarray(camera.focal_point, float))
        self.place("stars", self.rotation, pos, dist * 8.0)
