"""Past (solid) and future (faint) trails of each vehicle.

Two ways to draw the frame's trail pieces:

- ``smooth=False`` (the web scene): each polyline holds the view's whole sample set and its cells pick the window
  (unchanged pieces keep their cells between frames); the browser re-picks the cells as time moves.
- ``smooth=True`` (stills and videos): :meth:`Trails.fit` draws each piece for the camera in use, refined by cubic
  Hermite until consecutive on-screen segments turn by at most 2° (:meth:`viewer.scene.frame.TrailPiece.smooth`).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.scene import camera
from viewer.scene.frame import Frame, SmoothCache
from viewer.scene.groups.common import FLAT, Group, line_poly, set_line, set_polylines, with_normals
from viewer.scene.vehicles import colour, rgb

PARTS = ("past", "future")


class Trails(Group):
    def __init__(self, plotter: pv.Plotter, vehicle_actor: dict[str, str], cfg: dict, smooth: bool = False):
        super().__init__()
        self.vehicle_actor = vehicle_actor
        self.smooth = smooth
        self.pieces: dict[tuple[str, str], object] = {}  # the frame's pieces, for fit()
        self.drawn_ets: dict[tuple[str, str], np.ndarray] = {}  # the epoch of every point fit() drew
        t = cfg["trails"]
        self.polys: dict[tuple[str, str], pv.PolyData] = {}
        self._key: dict[tuple[str, str], tuple | None] = {}  # the sample set each polyline holds
        self._cells: dict[tuple[str, str], tuple] = {}  # (key, lo, hi) its cells were made for
        self._live_len: dict[tuple[str, str], int] = {}
        self._smooth_cache = SmoothCache()  # refined runs for the camera in use
        for v, name in vehicle_actor.items():
            col = np.array(rgb(colour(v, cfg)))
            for part, actor, c, width in (
                ("past", f"trail:{name}", col, t["width_past"]),
                ("future", f"trail-future:{name}", col * t["future_dim"], t["width_future"]),
            ):
                poly = line_poly(2)
                self.add(
                    actor, plotter.add_mesh(poly, color=c, line_width=width, **FLAT, name=actor, reset_camera=False)
                )
                self.place(actor, np.eye(3), np.zeros(3), 1.0)
                self.polys[(v, part)] = poly

    def actor_name(self, v: str, part: str) -> str:
        return f"trail:{self.vehicle_actor[v]}" if part == "past" else f"trail-future:{self.vehicle_actor[v]}"

    def update(self, f: Frame, show: bool) -> None:
        self.pieces = {}
        for v in self.vehicle_actor:
            pieces = f.trails.get(v, {}) if show else {}
            for part in PARTS:
                actor = self.actors[self.actor_name(v, part)]
                piece = pieces.get(part)
                if self.smooth:
                    if piece is not None:
                        self.pieces[(v, part)] = piece
                    actor.SetVisibility(piece is not None)  # fit() draws it for the camera
                    continue
                actor.SetVisibility(piece is not None and self._draw((v, part), piece) >= 2)

    def fit(self, pose: camera.CameraPose, size: tuple[int, int]) -> None:
        """Draw the frame's pieces smoothly for the camera ``pose`` over a picture ``size`` = (width, height)."""
        self.drawn_ets = {}
        self._smooth_cache.begin(camera.pose_key(pose, size))
        project = camera.projector(pose, size)
        for (v, part), piece in self.pieces.items():
            smooth = piece.smooth(project, size, cache=self._smooth_cache)
            actor = self.actors[self.actor_name(v, part)]
            n = sum(len(t) for t, _p in smooth)
            actor.SetVisibility(n >= 2)
            if n < 2:
                continue
            set_polylines(self.polys[(v, part)], [p for _t, p in smooth])
            self.drawn_ets[(v, part)] = np.concatenate([t for t, _p in smooth])

    def _draw(self, k: tuple[str, str], piece) -> int:
        """Put ``piece`` into the polyline ``k``; return the number of points drawn."""
        poly = self.polys[k]
        if piece.key is None:  # made for this frame: move the points in place when the count is the same
            n = len(piece.points)
            if self._live_len.get(k) == n:
                poly.points[:] = piece.points
                poly.GetPoints().Modified()
            else:
                poly.points = piece.points
                with_normals(poly)
                set_line(poly, np.arange(n))
                self._live_len[k] = n
            self._key[k], self._cells[k] = None, (None, 0, n, n)
            return n
        if self._key.get(k) != piece.key:  # the polyline holds another view's trail
            poly.points = piece.points
            with_normals(poly)
            self._key[k] = piece.key
            self._live_len.pop(k, None)
        cells = (piece.key, piece.lo, piece.hi)
        if self._cells.get(k, (None,) * 4)[:3] != cells:  # unchanged between most frames: keep the cells
            self._cells[k] = (*cells, set_line(poly, piece.indices()))
        return self._cells[k][3]
