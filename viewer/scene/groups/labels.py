"""Labels at objects (``label:<actor>``: 2-D text anchored at a world point, a few pixels above it, always
readable) and the screen texts (title, clock, notes) in the scene's language and font."""

from __future__ import annotations

import os

import numpy as np
import vtk

from viewer.scene.frame import Frame, FrameModel, occluded
from viewer.scene.groups.common import Group
from viewer.scene.vehicles import BODY_ACTORS, colour, rgb

# where each screen text (viewer.scene.texts) sits: (x, y) normalised viewport, justification, size relative to the label font
TEXT_LAYOUT = {
    "title": (0.015, 0.965, "left", 1.25),
    "clock": (0.015, 0.925, "left", 1.0),
    "note:scale": (0.015, 0.02, "left", 0.85),
    "badge:grade": (0.985, 0.02, "right", 0.75),
    "site:sun": (0.985, 0.965, "right", 0.9),
    "site:earth": (0.985, 0.93, "right", 0.9),
    "note:terrain": (0.015, 0.055, "left", 0.8),
}


class Labels(Group):
    """``labels``: {NAIF name: text actor} of every vehicle, the bodies and the site; ``texts``: {key: text actor}."""

    def __init__(self, renderer, vehicle_actor: dict[str, str], cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.labels: dict[str, vtk.vtkTextActor] = {}
        self.anchors: dict[str, vtk.vtkCoordinate] = {}
        for key in list(vehicle_actor) + ["EARTH", "MOON", "CHANGE6_SITE"]:
            lab, anchor = vtk.vtkTextActor(), vtk.vtkCoordinate()
            anchor.SetCoordinateSystemToWorld()
            pos = lab.GetPositionCoordinate()
            pos.SetCoordinateSystemToDisplay()
            pos.SetReferenceCoordinate(anchor)
            pos.SetValue(0, int(cfg["labels"]["offset_px"]))
            tp = lab.GetTextProperty()
            tp.SetColor(*rgb(colour(key, cfg)))
            tp.SetJustificationToCentered()
            tp.SetVerticalJustificationToBottom()
            tp.SetShadow(True)
            renderer.AddViewProp(lab)
            self.labels[key], self.anchors[key] = lab, anchor
            self.add(f"label:{vehicle_actor.get(key) or BODY_ACTORS.get(key) or 'site'}", lab)
        self.texts: dict[str, vtk.vtkTextActor] = {}
        for key, (x, y, just, _size) in TEXT_LAYOUT.items():
            t = vtk.vtkTextActor()
            t.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
            t.GetPositionCoordinate().SetValue(x, y)
            tp = t.GetTextProperty()
            tp.SetJustificationToLeft() if just == "left" else tp.SetJustificationToRight()
            tp.SetVerticalJustificationToTop() if y > 0.5 else tp.SetVerticalJustificationToBottom()
            tp.SetColor(0.85, 0.85, 0.85) if key != "badge:grade" else tp.SetColor(0.6, 0.6, 0.6)
            renderer.AddViewProp(t)
            self.texts[key] = t
            self.add(key, t)

    def set_fonts(self, height: int, language: str) -> None:
        base = int(self.cfg["labels"]["font_size"]) * max(height, 360) / 1080.0
        cjk = self.cfg.get("cjk_font")
        use_cjk = language == "zh" and cjk and os.path.exists(cjk)
        for actor in list(self.labels.values()) + list(self.texts.values()):
            tp = actor.GetTextProperty()
            if use_cjk:
                tp.SetFontFamily(vtk.VTK_FONT_FILE)
                tp.SetFontFile(cjk)
            else:
                tp.SetFontFamilyToArial()
        for lab in self.labels.values():
            lab.GetTextProperty().SetFontSize(int(round(base)))
        for key, t in self.texts.items():
            t.GetTextProperty().SetFontSize(int(round(base * TEXT_LAYOUT[key][3])))

    def update(self, f: Frame, model: FrameModel, camera, language: str, show: bool) -> None:
        """Show the frame's labels above their anchors along the camera's up; hide those behind a body."""
        up = np.asarray(camera.up, float)
        cam = np.asarray(camera.position, float)
        placed = {}
        for anchor in f.labels if show else ():
            point = anchor.point + up * anchor.lift
            if not (anchor.occludable and occluded(point, cam, f)):
                placed[anchor.key] = (model.label_text(anchor, language), point)
        for key, lab in self.labels.items():
            lab.SetVisibility(key in placed)
            if key in placed:
                lab.SetInput(placed[key][0])
                self.anchors[key].SetValue(*map(float, placed[key][1]))

    def set_texts(self, texts: dict[str, str]) -> None:
        for key, value in texts.items():
            self.texts[key].SetInput(value)
