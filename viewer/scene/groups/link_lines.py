"""The relay chain on screen (scene.yaml ``links``): one line per leg (``link:<id>``), solid when open, a short
dashed stub up to the obstruction when blocked; the stations' names at the Earth's limb, the obstruction's words at
a stub's end, a marker naming the end where a leg leaves the frame, and a legend of the two styles.

:meth:`LinkLines.update` takes the frame's chain (:func:`viewer.scene.relay.chain_record`); :meth:`LinkLines.place`
puts it through the current camera (:func:`viewer.scene.relay.layout`) and must follow every camera move. The web
scene keeps the lines only: the browser draws the names, the markers and the legend itself.
"""

from __future__ import annotations

import os

import numpy as np
import pyvista as pv
import vtk

from viewer import words
from viewer.scene.frame import Frame
from viewer.scene.groups.common import FLAT, Group, with_normals
from viewer.scene.relay import Camera, Layout, chain_leg_ids, layout
from viewer.scene.vehicles import rgb

N_TEXTS = 14  # name actors (labels and edge markers) kept ready
MARKER_PX = 9.0
LEGEND = (("open", 0.095), ("blocked", 0.06))  # style, y of its row (normalised viewport, bottom right)


class LinkLines(Group):
    """One line per possible chain leg of ``link_defs`` ({link id: link}); points moved in place every frame."""

    def __init__(self, plotter: pv.Plotter, link_defs: dict, cfg: dict, web: bool = False):
        super().__init__()
        self.cfg, self.web = cfg, web
        self.style = cfg["links"]
        n = int(self.style["blocked"]["dashes"]) * 2
        segs = np.arange(0, n - 1, 2)
        self.cells = {
            "open": np.hstack([[n], np.arange(n)]),
            "blocked": np.column_stack([np.full(len(segs), 2), segs, segs + 1]).ravel(),
        }
        self.ramp = np.linspace(0.0, 1.0, n)[:, None]
        self.items: dict[str, dict] = {}
        for lid in chain_leg_ids(link_defs):
            poly = with_normals(pv.PolyData(np.zeros((n, 3)), lines=self.cells["open"]))  # lines only, no dots
            open_ = self.style["open"]
            kw = {"line_width": open_["width"], "name": f"link:{lid}", "reset_camera": False}
            a = self.add(f"link:{lid}", plotter.add_mesh(poly, color=rgb(open_["colour"]), **FLAT, **kw))
            self.items[lid] = {"poly": poly, "actor": a, "pts": poly.points, "state": None}
        self.chain = None
        self.shown = True
        self.layout, self.cut = Layout(), {}
        self.texts: list[vtk.vtkTextActor] = []
        if not web:
            self._build_overlay(plotter.renderer)

    # ------------------------------------------------------------------------------------------ overlay actors
    def _build_overlay(self, renderer) -> None:
        for k in range(N_TEXTS):
            t = vtk.vtkTextActor()
            t.GetTextProperty().SetShadow(True)
            t.SetVisibility(False)
            renderer.AddViewProp(t)
            self.texts.append(self.add(f"relay:text:{k}", t))
        self.marks = self._actor2d(renderer, "relay:markers", "#DDDDDD", 1.0)
        self.legend_lines = {
            s: self._actor2d(renderer, f"relay:legend:{s}", self.style[s]["colour"], 2.0) for s, _ in LEGEND
        }
        self.legend_texts = {}
        for s, y in LEGEND:
            t = vtk.vtkTextActor()
            t.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
            t.GetPositionCoordinate().SetValue(0.94, y)
            tp = t.GetTextProperty()
            tp.SetJustificationToRight()
            tp.SetVerticalJustificationToCentered()
            tp.SetColor(0.8, 0.8, 0.8)
            renderer.AddViewProp(t)
            self.legend_texts[s] = self.add(f"relay:legend-text:{s}", t)

    def _actor2d(self, renderer, name: str, colour: str, width: float) -> dict:
        poly = vtk.vtkPolyData()
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        actor = vtk.vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*rgb(colour))
        actor.GetProperty().SetLineWidth(width)
        renderer.AddViewProp(actor)
        self.add(name, actor)
        return {"poly": poly, "actor": actor}

    def set_fonts(self, height: int, language: str) -> None:
        base = int(self.cfg["labels"]["font_size"]) * max(height, 360) / 1080.0
        cjk = self.cfg.get("cjk_font")
        use_cjk = language == "zh" and cjk and os.path.exists(cjk)
        for t, size in [(t, 0.85) for t in self.texts] + [
            (t, 0.75) for t in getattr(self, "legend_texts", {}).values()
        ]:
            tp = t.GetTextProperty()
            if use_cjk:
                tp.SetFontFamily(vtk.VTK_FONT_FILE)
                tp.SetFontFile(cjk)
            else:
                tp.SetFontFamilyToArial()
            tp.SetFontSize(int(round(base * size)))

    # ------------------------------------------------------------------------------------------ per frame
    def update(self, f: Frame, show: bool = True) -> None:
        """Take the frame's chain (drawn at the next :meth:`place`)."""
        self.chain = f.chain if show else None
        self.shown = show

    def place(self, camera, size: tuple[int, int], language: str, all_around: bool = False) -> Layout:
        """Draw the chain through ``camera`` (a VTK camera) in a ``size`` picture; returns the layout.
        ``all_around``: the picture is a panorama (whole legs, no words)."""
        cam = Camera(
            np.asarray(camera.GetPosition(), float),
            np.asarray(camera.GetFocalPoint(), float),
            np.asarray(camera.GetViewUp(), float),
            float(camera.GetViewAngle()),
            (int(size[0]), int(size[1])),
        )
        lay = layout(self.chain, cam, language, all_around)
        drawn = set()
        self.cut = {leg.id: (t0 > 0, t1 < 1) for leg, t0, t1 in lay.lines}  # which ends the frame edge cuts
        for leg, t0, t1 in lay.lines:
            item = self.items.get(leg.id)
            if item is None:
                continue
            a, b = leg.a + t0 * (leg.b - leg.a), leg.a + t1 * (leg.b - leg.a)
            item["pts"][:] = a + self.ramp * (b - a)  # a view on the VTK points: in place
            item["poly"].GetPoints().Modified()
            state = "open" if leg.open else "blocked"
            if item["state"] != state:
                item["poly"].lines = self.cells[state]
                prop = item["actor"].GetProperty()
                prop.SetColor(*rgb(self.style[state]["colour"]))
                prop.SetLineWidth(self.style[state]["width"])
                item["state"] = state
            item["actor"].SetVisibility(True)
            drawn.add(leg.id)
        for lid, item in self.items.items():
            if lid not in drawn:
                item["actor"].SetVisibility(False)
        if not self.web:
            self._place_overlay(lay, cam.size, language)
        self.layout = lay
        return lay

    def _place_overlay(self, lay: Layout, size: tuple[int, int], language: str) -> None:
        w, h = size
        entries = [(x, y, text, kind, None) for x, y, text, kind in lay.labels]
        entries += [(x, y, text, "marker", (dx, dy)) for x, y, dx, dy, text in lay.markers]
        pts, tris = [], []
        for k, t in enumerate(self.texts):
            if k >= len(entries):
                t.SetVisibility(False)
                continue
            x, y, text, kind, out = entries[k]
            tp = t.GetTextProperty()
            tp.SetColor(*self._text_colour(kind))
            if out is not None:  # a triangle at the exit pointing out of the frame, the name inside the frame
                d = np.array(out)
                n = np.array([-d[1], d[0]])
                tip = np.array([x, y])
                base = tip - d * MARKER_PX * 1.4
                i = len(pts)
                pts += [tip, base + n * MARKER_PX * 0.7, base - n * MARKER_PX * 0.7]
                tris.append((i, i + 1, i + 2))
                x, y = base - d * 6.0
                # the name on the inner side of the triangle (y of d points down the picture)
                tp.SetJustification(2 if d[0] > 0.5 else 0 if d[0] < -0.5 else 1)
                tp.SetVerticalJustification(2 if d[1] < -0.5 else 0 if d[1] > 0.5 else 1)
            else:
                tp.SetJustificationToCentered()
                tp.SetVerticalJustificationToCentered()
            t.SetInput(text)
            t.SetPosition(min(max(float(x), 2.0), w - 2.0), min(max(h - 1.0 - float(y), 2.0), h - 2.0))
            t.SetVisibility(True)
        marks = [(float(p[0]), h - 1.0 - float(p[1])) for p in pts]
        if marks != getattr(self, "_marks", None):
            self._set_poly(self.marks, marks, tris, polys=True)
            self._marks = marks
        any_leg = bool(self.chain and self.chain.legs) and self.shown
        for s, _y in LEGEND:
            self.legend_texts[s].SetInput(words.word("links", f"legend_{s}", language))
            self.legend_texts[s].SetVisibility(any_leg)
        if getattr(self, "_legend_size", None) != (w, h):
            self._legend_size = (w, h)
            self._legend_lines(w, h)
        for s, _y in LEGEND:
            self.legend_lines[s]["actor"].SetVisibility(any_leg)

    def _legend_lines(self, w: int, h: int) -> None:
        for s, y in LEGEND:
            x0, x1, yy = w * 0.95, w * 0.985, h * y
            if s == "open":
                seg = [((x0, yy), (x1, yy))]
            else:
                xs = np.linspace(x0, x1, 7)
                seg = [((xs[i], yy), (xs[i + 1], yy)) for i in range(0, 6, 2)]
            self._set_poly(
                self.legend_lines[s], [p for ab in seg for p in ab], [(2 * i, 2 * i + 1) for i in range(len(seg))]
            )

    def _text_colour(self, kind: str) -> tuple[float, float, float]:
        if kind == "reason":
            return rgb(self.style["blocked"]["colour"])
        return (0.87, 0.87, 0.87) if kind == "marker" else (0.75, 0.85, 0.95)

    @staticmethod
    def _set_poly(item: dict, pts: list, cells: list, polys: bool = False) -> None:
        points = vtk.vtkPoints()
        for x, y in pts:
            points.InsertNextPoint(float(x), float(y), 0.0)
        arr = vtk.vtkCellArray()
        for c in cells:
            arr.InsertNextCell(len(c), c)
        poly = item["poly"]
        poly.SetPoints(points)
        if polys:
            poly.SetPolys(arr)
        else:
            poly.SetLines(arr)
        poly.Modified()
        item["actor"].SetVisibility(bool(pts))

    def hide(self) -> None:
        for a in self.actors.values():
            a.SetVisibility(False)
