"""Title, clock, caption and credits for dome masters and 360° frames, in the viewing band.

The text is the flat overlays' (:mod:`viewer.export.overlays`: same words, grade badges, fonts), laid out for
where a dome or headset audience looks:

- **fisheye**: centred on the front of the dome, the lower part of the circle (the bottom of the dome master is
  the front). The caption's bottom edge sits at 0.82 R below the centre; above it the title, the clock and the
  scene's notes (spacecraft scale, assumed attitudes, Sun and Earth at the site); the credits card is centred
  0.3 R below the centre. Everything stays inside the circle.
- **equirect**: below the horizon straight ahead (the frame's centre): the caption ends 30° below the horizon,
  the title, clock and notes above it, within ±45° of azimuth.

The labels of the spacecraft, bodies and site are drawn a little above their points, wherever the projection puts
them (:meth:`viewer.export.panorama_source.PanoramaSource.labels_at`).

Text is sized for the dome from a virtual 16:9 "screen" (its height sets the font sizes, as a flat frame's does):
0.42 of the dome master's side (title ~1/25 of the dome's radius), 0.3 of an equirectangular frame's height
(the caption ~1.7° tall).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from viewer.export.overlays import OverlayContent, Overlays, Patch, blend, text_box, to_patch, wrap
from viewer.export.panorama import Projection

LABEL_OFFSET = 0.006  # a label's bottom this far above its point, fraction of the frame's height


@dataclass(frozen=True)
class Label:
    """A label to draw: its text, the pixel (x, y) of the point it names, its colour ``#rrggbb``."""

    text: str
    at: tuple[float, float]
    colour: str


FISHEYE_SCREEN = 0.42  # virtual screen height, fraction of the dome master's side
EQUIRECT_SCREEN = 0.30  # ... of the equirectangular frame's height
FISHEYE_CAPTION_BOTTOM = 0.82  # fraction of R below the centre
FISHEYE_CARD_CENTRE = 0.30
EQUIRECT_CAPTION_BOTTOM_DEG = 30.0
NOTES_WIDTH = 0.75  # the notes' lines at most this fraction of the virtual screen's width (the caption's)


class DomeOverlays(Overlays):
    """Overlays for a fisheye or equirectangular frame of ``size``; same call signature as :class:`Overlays`."""

    def __init__(
        self,
        size: tuple[int, int],
        content: OverlayContent,
        projection: Projection,
        *,
        notes: Callable[[float], Sequence[str]] | None = None,
        labels: Callable[[float], Sequence[Label]] | None = None,
    ):
        self.full_w, self.full_h = int(size[0]), int(size[1])
        self.projection = projection
        self.notes = notes  # the scene's screen notes at an ET (spacecraft scale, assumed attitudes, ...)
        self.labels = labels  # the scene's labels at an ET, at their pixels in this projection
        self._last_notes: tuple[tuple[str, ...], Patch | None] = ((), None)
        screen_h = FISHEYE_SCREEN * self.full_h if projection.kind == "fisheye" else EQUIRECT_SCREEN * self.full_h
        screen_h = int(round(screen_h))
        screen_w = int(round(screen_h * 16 / 9))
        super().__init__((screen_w, screen_h), content, clock=True)

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.full_w, self.full_h

    def caption_bottom(self) -> int:
        """Row of the caption's bottom edge in the full frame."""
        if self.projection.kind == "fisheye":
            return int(self.full_h / 2 + FISHEYE_CAPTION_BOTTOM * self.full_h / 2)
        return int(self.full_h * (0.5 + EQUIRECT_CAPTION_BOTTOM_DEG / 180.0))

    def __call__(self, frame: np.ndarray, et: float, index: int = 0) -> np.ndarray:
        """Burn in the labels at their points, then, centred on the front, the caption with its badge and above it
        the title, the clock and the scene's notes."""
        for label in self.labels(et) if self.labels is not None else ():
            patch = self._cached(("label", label.text, label.colour), functools.partial(self._label_patch, label))
            x0 = int(label.at[0]) - patch.width // 2
            y0 = int(label.at[1] - LABEL_OFFSET * self.full_h) - patch.height
            blend(frame, patch, x0, y0)
            if self.projection.kind == "fisheye":
                self._black_outside_circle(frame, x0, y0, patch.width, patch.height)
        cx = self.full_w // 2
        y = self.caption_bottom()
        phase = self.content.phase_at(et) if self.lang else None
        stack: list[Patch] = []
        if phase is not None and phase.caption:
            stack.append(self._cached(("caption", phase.id), lambda: self._caption_patch(phase)))
        if phase is not None:
            stack.append(self._cached(("title", phase.id), lambda: self._title_patch(phase)))
        if self.clock:
            stack.append(self._clock_patch(et))
        notes = tuple(self.notes(et)) if self.notes is not None else ()
        if notes:
            if self._last_notes[0] != notes:  # the site's Sun changes every frame: keep only the latest patch
                self._last_notes = (notes, self._notes_patch(notes))
            stack.append(self._last_notes[1])
        for patch in stack:
            y -= patch.height
            blend(frame, patch, cx - patch.width // 2, y)
            y -= 2 * self.gap
        return frame

    def _black_outside_circle(self, frame: np.ndarray, x0: int, y0: int, w: int, h: int) -> None:
        """Keep the dome master black outside its circle where a label near the rim was drawn."""
        x1, y1 = min(self.full_w, x0 + w), min(self.full_h, y0 + h)
        x0, y0 = max(0, x0), max(0, y0)
        if x1 <= x0 or y1 <= y0:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1]
        r = self.full_w / 2
        outside = (xx + 0.5 - r) ** 2 + (yy + 0.5 - self.full_h / 2) ** 2 > r * r
        frame[y0:y1, x0:x1][outside] = 0

    def _label_patch(self, label: Label) -> Patch:
        hexc = label.colour.lstrip("#")
        rgb = tuple(int(hexc[i : i + 2], 16) for i in (0, 2, 4))
        return to_patch(
            text_box([(label.text, self.f_small, rgb)], pad=max(1, self.pad // 3), gap=0, bg=(0, 0, 0, 110))
        )

    def _notes_patch(self, notes: Sequence[str]) -> Patch:
        """The notes joined by " · " on lines no wider than the caption's (so they stay inside the dome's circle
        and the headset's front band); a line breaks between notes, and inside a note only if it alone is wider."""
        max_w = int(NOTES_WIDTH * self.width)
        rows: list[str] = []
        for note in notes:
            joined = f"{rows[-1]}  ·  {note}" if rows else note
            if rows and self.f_small.getlength(joined) <= max_w:
                rows[-1] = joined
            else:
                rows.append(note)
        lines = [(t, self.f_small, (200, 200, 200)) for row in rows for t in wrap(row, self.f_small, max_w)]
        return to_patch(text_box(lines, pad=self.pad // 2, gap=self.gap, radius=self.radius))

    def card_position(self, card: Patch) -> tuple[int, int]:
        if self.projection.kind == "fisheye":
            centre_y = self.full_h / 2 + FISHEYE_CARD_CENTRE * self.full_h / 2
        else:
            centre_y = self.full_h / 2
        return (self.full_w - card.width) // 2, int(centre_y - card.height / 2)
