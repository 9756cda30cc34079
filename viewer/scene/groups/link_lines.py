"""The relay links as lines (``link:<id>``): solid when open, dashed when blocked (scene.yaml ``links``)."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from viewer.scene.frame import Frame
from viewer.scene.groups.common import FLAT, Group, with_normals
from viewer.scene.vehicles import rgb


class LinkLines(Group):
    """One line per link of ``link_defs`` ({link id: link}); its points are moved in place every frame."""

    def __init__(self, plotter: pv.Plotter, link_defs: dict, cfg: dict):
        super().__init__()
        self.style = cfg["links"]
        n = int(self.style["blocked"]["dashes"]) * 2
        segs = np.arange(0, n - 1, 2)
        self.cells = {
            "open": np.hstack([[n], np.arange(n)]),
            "blocked": np.column_stack([np.full(len(segs), 2), segs, segs + 1]).ravel(),
        }
        self.ramp = np.linspace(0.0, 1.0, n)[:, None]
        self.items: dict[str, dict] = {}
        for lid, link in link_defs.items():
            poly = with_normals(pv.PolyData(np.zeros((n, 3))))  # a vertex at every point (drawn as dots)
            poly.lines = self.cells["open"]
            open_ = self.style["open"]
            kw = {"line_width": open_["width"], "name": f"link:{lid}", "reset_camera": False}
            a = self.add(f"link:{lid}", plotter.add_mesh(poly, color=rgb(open_["colour"]), **FLAT, **kw))
            self.items[lid] = {"link": link, "poly": poly, "actor": a, "pts": poly.points, "state": None}

    def update(self, f: Frame) -> None:
        for lid, item in self.items.items():
            rec = f.links.get(lid)
            a = item["actor"]
            if rec is None:
                a.SetVisibility(False)
                continue
            item["pts"][:] = rec.start + self.ramp * (rec.end - rec.start)  # a view on the VTK points: in place
            item["poly"].GetPoints().Modified()
            state = "open" if rec.open else "blocked"
            if item["state"] != state:
                item["poly"].lines = self.cells[state]
                a.GetProperty().SetColor(*rgb(self.style[state]["colour"]))
                a.GetProperty().SetLineWidth(self.style[state]["width"])
                item["state"] = state
            a.SetVisibility(True)
