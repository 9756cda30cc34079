"""Labels at objects (``label:<actor>``: 2-D text, always readable, placed on screen by
:mod:`viewer.scene.placement`) and the screen texts (title, clock, notes) in the scene's language and font."""

from __future__ import annotations

import os

import vtk

from viewer.scene.camera import CameraPose
from viewer.scene.frame import Frame, FrameModel
from viewer.scene.groups.common import Group
from viewer.scene.placement import PAD_PX, place_labels, text_box
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
    "note:distance": (0.015, 0.055, "left", 0.85),  # never with note:terrain (the site view has no scale cue)
}


class Labels(Group):
    """``labels``: {NAIF name: text actor} of every vehicle, the bodies and the site; ``texts``: {key: text actor}."""

    def __init__(self, renderer, vehicle_actor: dict[str, str], cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.labels: dict[str, vtk.vtkTextActor] = {}
        self.placed: dict[str, tuple[float, float, float, float]] = {}  # key -> the box placement chose
        for key in list(vehicle_actor) + ["EARTH", "MOON", "CHANGE6_SITE"]:
            lab = vtk.vtkTextActor()
            lab.GetPositionCoordinate().SetCoordinateSystemToDisplay()
            tp = lab.GetTextProperty()
            tp.SetColor(*rgb(colour(key, cfg)))
            tp.SetJustificationToLeft()
            tp.SetVerticalJustificationToBottom()
            tp.SetShadow(True)
            renderer.AddViewProp(lab)
            self.labels[key] = lab
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

    def font_px(self, height: int) -> float:
        """The label font's size in pixels for a picture ``height`` pixels high (scene.yaml ``labels``)."""
        return int(round(int(self.cfg["labels"]["font_size"]) * max(height, 360) / 1080.0))

    def set_fonts(self, height: int, language: str) -> None:
        base = self.font_px(height)
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

    def update(self, f: Frame, model: FrameModel, pose: CameraPose, size, language: str, show: bool, **kw) -> None:
        """Place the frame's labels on screen for the camera ``pose`` (``kw``: ``found``, ``marker_px``)."""
        w, h = size
        font = self.font_px(h)
        offset = float(self.cfg["labels"]["offset_px"]) * max(h, 360) / 1080.0
        placed = {}
        if show:
            for p in place_labels(
                f, model, pose, size, language, font_px=font, offset_px=offset, keep_out=self.text_boxes(size), **kw
            ):
                placed[p.key] = p
        self.placed = {k: p.box for k, p in placed.items()}
        for key, lab in self.labels.items():
            lab.SetVisibility(key in placed)
            if key in placed:
                x0, _y0, _x1, y1 = placed[key].box
                lab.SetInput(placed[key].text)
                lab.GetPositionCoordinate().SetValue(x0 + PAD_PX, h - y1 + PAD_PX)  # display: y up

    def text_boxes(self, size) -> list[tuple[float, float, float, float]]:
        """Boxes (x0, y0, x1, y1; y down) the shown screen texts take, as labels must keep clear of them."""
        w, h = size
        out = []
        for key, (x, y, just, rel) in TEXT_LAYOUT.items():
            text = self.texts[key].GetInput() or ""
            if not text or not self.texts[key].GetVisibility():
                continue
            bw, bh = text_box(text, self.font_px(h) * rel)
            x0 = x * w if just == "left" else x * w - bw
            top = h - y * h if y > 0.5 else h - y * h - bh
            out.append((x0, top, x0 + bw, top + bh))
        return out

    def set_texts(self, texts: dict[str, str]) -> None:
        for key, value in texts.items():
            self.texts[key].SetInput(value)
