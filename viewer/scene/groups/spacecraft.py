"""The vehicle models (:mod:`viewer.scene.models`, metres) placed, turned and scaled from the frame."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.scene import models
from viewer.scene.frame import Frame
from viewer.scene.groups.common import Group

LOOK = (0.9, 0.3)  # diffuse, specular at an exposure of 1


class Spacecraft(Group):
    """One actor per vehicle, named as in the vehicle table (``vehicle_actor``: NAIF name -> actor name)."""

    def __init__(self, plotter: pv.Plotter, vehicle_actor: dict[str, str]):
        super().__init__()
        self.vehicle_actor = vehicle_actor
        look = {"smooth_shading": False, "ambient": 0.22, "specular_power": 20, "reset_camera": False}
        for v, name in vehicle_actor.items():
            mesh = models.model(v)
            self.add(
                name,
                plotter.add_mesh(mesh, scalars="rgb", rgb=True, name=name, diffuse=LOOK[0], specular=LOOK[1], **look),
            )
        self.gain = 1.0

    @staticmethod
    def model_radius_m(vehicle_actor: dict[str, str]) -> dict[str, float]:
        """Each vehicle model's radius (metres): its farthest point from the model's origin."""
        return {v: float(np.max(np.linalg.norm(models.model(v).points, axis=1))) for v in vehicle_actor}

    def update(self, f: Frame, m_to_units: float, gain: float) -> None:
        """Place every drawn vehicle; ``gain``: the site view's exposure, by which the materials are dimmed (so only
        the terrain looks brighter)."""
        for v, name in self.vehicle_actor.items():
            rec = f.vehicles[v]
            self.actors[name].SetVisibility(rec.drawn)
            if rec.drawn:
                self.place(name, rec.rotation, rec.position, m_to_units)
        if gain != self.gain:
            for name in self.vehicle_actor.values():
                prop = self.actors[name].GetProperty()
                prop.SetDiffuse(LOOK[0] / gain)
                prop.SetSpecular(LOOK[1] / gain)
            self.gain = gain
