"""VTK helpers the actor groups share: the self-lit look, matrices, line cells, dummy normals."""

from __future__ import annotations

import numpy as np
import pyvista as pv
import vtk
from vtkmodules.util import numpy_support

# Self-lit look (lines, stars, the indicator): lit with ambient only. Truly unlit actors (lighting=False) break the
# shadow-map shaders of VTK 9.7 ("vertexVC undeclared"), so shadows would fail in the site view.
FLAT = {"lighting": True, "ambient": 1.0, "diffuse": 0.0, "specular": 0.0}


def night_ambient(cfg: dict) -> float:
    """The night sides' ambient term (``assets/scene.yaml`` ``lighting.night_ambient``; the browser reads it too)."""
    return float((cfg.get("lighting") or {}).get("night_ambient", 0.0))


class Group:
    """A set of named actors, each with its own user matrix (``matrices``)."""

    def __init__(self) -> None:
        self.actors: dict[str, vtk.vtkProp] = {}
        self.matrices: dict[str, vtk.vtkMatrix4x4] = {}

    def add(self, name: str, prop: vtk.vtkProp) -> vtk.vtkProp:
        self.actors[name] = prop
        if isinstance(prop, vtk.vtkActor):
            m = vtk.vtkMatrix4x4()
            prop.SetUserMatrix(m)
            self.matrices[name] = m
        return prop

    def place(self, name: str, rot: np.ndarray, pos: np.ndarray, scale: float) -> None:
        set_matrix(self.matrices[name], rot, pos, scale)


def set_matrix(m: vtk.vtkMatrix4x4, rot: np.ndarray, pos: np.ndarray, scale: float) -> None:
    a = np.eye(4)
    a[:3, :3] = rot * scale
    a[:3, 3] = pos
    m.DeepCopy(a.ravel())


def with_normals(poly: pv.PolyData) -> pv.PolyData:
    """Give points/lines a (dummy) normal: VTK's shadow pass needs every actor lit, and points or lines without
    normals are drawn unlit. With ``FLAT`` (ambient only) the normal changes nothing on screen."""
    n = poly.n_points
    if n == 0:
        return poly
    normals = poly.GetPointData().GetNormals()
    if normals is not None and normals.GetNumberOfTuples() == n:  # already there (points moved in place)
        return poly
    up = np.zeros((n, 3), np.float32)
    up[:, 2] = 1.0
    poly.point_data["Normals"] = up
    poly.point_data.active_normals_name = "Normals"
    return poly


def set_line(poly: pv.PolyData, idx: np.ndarray) -> int:
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


def set_polylines(poly: pv.PolyData, lines: list[np.ndarray]) -> None:
    """Make ``poly`` the polylines ``lines`` ((N_i,3) points each), written into its VTK arrays directly (the
    smooth trails do this every frame), with a normal per point (:func:`with_normals`)."""
    pts = np.ascontiguousarray(np.concatenate(lines), dtype=float)
    n = len(pts)
    poly.GetPoints().SetData(numpy_support.numpy_to_vtk(pts, deep=True))
    offsets = np.cumsum([0] + [len(line) for line in lines]).astype(np.int64)
    cells = vtk.vtkCellArray()
    cells.SetData(
        numpy_support.numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_support.numpy_to_vtkIdTypeArray(np.arange(n, dtype=np.int64), deep=True),
    )
    poly.SetLines(cells)
    with_normals(poly)
    poly.Modified()


def line_poly(n: int = 2) -> pv.PolyData:
    """A polyline of ``n`` points at the origin, with normals."""
    return with_normals(pv.PolyData(np.zeros((n, 3)), lines=np.hstack([[n], np.arange(n)])))
