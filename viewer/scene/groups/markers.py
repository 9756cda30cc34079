"""Minimum-size markers: a ring at each body or vehicle drawn smaller than a few pixels
(:func:`viewer.scene.placement.markers`), so that everything the frame names can be seen."""

from __future__ import annotations

import numpy as np
import vtk

from viewer.scene.groups.common import Group
from viewer.scene.placement import Marker
from viewer.scene.vehicles import rgb

RING_POINTS = 36


def _ring(radius: float) -> vtk.vtkPolyData:
    a = np.linspace(0.0, 2.0 * np.pi, RING_POINTS, endpoint=False)
    pts = vtk.vtkPoints()
    for x, y in zip(radius * np.cos(a), radius * np.sin(a)):
        pts.InsertNextPoint(float(x), float(y), 0.0)
    line = vtk.vtkPolyLine()
    line.GetPointIds().SetNumberOfIds(RING_POINTS + 1)
    for i in range(RING_POINTS + 1):
        line.GetPointIds().SetId(i, i % RING_POINTS)
    cells = vtk.vtkCellArray()
    cells.InsertNextCell(line)
    poly = vtk.vtkPolyData()
    poly.SetPoints(pts)
    poly.SetLines(cells)
    return poly


class Markers(Group):
    """``marker:<key>`` ring actors (2-D, display pixels) for ``keys`` (NAIF names of bodies and vehicles)."""

    def __init__(self, renderer, keys, width_px: float):
        super().__init__()
        self.rings: dict[str, vtk.vtkActor2D] = {}
        self.radius: dict[str, float] = {}
        for key in keys:
            mapper = vtk.vtkPolyDataMapper2D()
            mapper.SetInputData(_ring(4.0))
            actor = vtk.vtkActor2D()
            actor.SetMapper(mapper)
            actor.GetPositionCoordinate().SetCoordinateSystemToDisplay()
            actor.GetProperty().SetLineWidth(width_px)
            actor.SetVisibility(False)
            renderer.AddViewProp(actor)
            self.rings[key] = actor
            self.radius[key] = 4.0
            self.add(f"marker:{key.lower()}", actor)

    def update(self, marks: list[Marker], height: int, show: bool) -> None:
        """Show a ring for each of ``marks`` (centres in pixels, y down), hide the others."""
        shown = {m.key: m for m in marks} if show else {}
        for key, actor in self.rings.items():
            m = shown.get(key)
            actor.SetVisibility(m is not None)
            if m is None:
                continue
            if self.radius[key] != m.radius_px:
                actor.GetMapper().SetInputData(_ring(m.radius_px))
                self.radius[key] = m.radius_px
            actor.GetProperty().SetColor(*rgb(m.colour))
            actor.GetPositionCoordinate().SetValue(m.centre[0], height - 1 - m.centre[1])
