"""Title, clock, caption and credits for dome masters and 360° frames, in the viewing band.

The text is the flat overlays' (:mod:`viewer.export.overlays`: same words, grade badges, fonts), laid out for
where a dome or headset audience looks:

- **fisheye**: centred on the front of the dome, the lower part of the circle (the bottom of the dome master is
  the front). The caption's bottom edge sits at 0.82 R below the centre, the title and clock above it; the
  credits card is centred 0.3 R below the centre. Everything stays inside the circle.
- **equirect**: below the horizon straight ahead (the frame's centre): the caption ends 30° below the horizon,
  the title and clock above it, within ±45° of azimuth.

Text is sized for the dome from a virtual 16:9 "screen" (its height sets the font sizes, as a flat frame's does):
0.42 of the dome master's side (title ~1/25 of the dome's radius), 0.3 of an equirectangular frame's height
(the caption ~1.7° tall).
"""

from __future__ import annotations

import numpy as np

from viewer.export.overlays import OverlayContent, Overlays, Patch, blend
from viewer.export.panorama import Projection

FISHEYE_SCREEN = 0.42  # virtual screen height, fraction of the dome master's side
EQUIRECT_SCREEN = 0.30  # ... of the equirectangular frame's height
FISHEYE_CAPTION_BOTTOM = 0.82  # fraction of R below the centre
FISHEYE_CARD_CENTRE = 0.30
EQUIRECT_CAPTION_BOTTOM_DEG = 30.0


class DomeOverlays(Overlays):
    """Overlays for a fisheye or equirectangular frame of ``size``; same call signature as :class:`Overlays`."""

    def __init__(self, size: tuple[int, int], content: OverlayContent, projection: Projection):
        self.full_w, self.full_h = int(size[0]), int(size[1])
        self.projection = projection
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
        """Burn in, centred on the front: the caption with its badge, above it the title, above that the clock."""
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
        for patch in stack:
            y -= patch.height
            blend(frame, patch, cx - patch.width // 2, y)
            y -= 2 * self.gap
        return frame

    def card_position(self, card: Patch) -> tuple[int, int]:
        if self.projection.kind == "fisheye":
            centre_y = self.full_h / 2 + FISHEYE_CARD_CENTRE * self.full_h / 2
        else:
            centre_y = self.full_h / 2
        return (self.full_w - card.width) // 2, int(centre_y - card.height / 2)
