"""The figures ``../shared/tools/contact_sheet.py`` puts on each tile, for two pictures of the same moment (the
browser's frame and the offscreen still): the share of the frame that is lit, and how alike their thumbnails are.

- ``lit(grey)``: the share of the frame whose 5×5-pixel mean luminance is above 30 (a starry sky scores ~0 %).
- ``correlation(a, b)``: the Pearson correlation of the two 64×36 grey thumbnails (bilinear), 1.0: the same picture.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

THUMB = (64, 36)
LIT_MEAN = 30  # a 5x5 mean luminance above this counts as lit


def grey(img: Image.Image) -> np.ndarray:
    """The picture's luminance (PIL's ITU-R 601 ``L``) as floats."""
    return np.asarray(img.convert("L"), float)


def lit(g: np.ndarray) -> float:
    return float((sliding_window_view(g, (5, 5)).mean(axis=(2, 3)) > LIT_MEAN).mean())


def thumb(g: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(g.astype(np.uint8)).resize(THUMB, Image.BILINEAR), float).ravel()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(thumb(a), thumb(b))[0, 1])


# The corners where only one of the two pictures puts words by design, as fractions of the frame (x0, y0, x1, y1):
# the still's title and clock (top left; the app shows them beside the 3D view) and its notes and grade badge
# (bottom left and right; the app's scale cue and relay legend sit in the same corners at their own CSS sizes).
SCREEN_TEXT = ((0.0, 0.0, 0.35, 0.09), (0.0, 0.88, 0.45, 1.0), (0.70, 0.88, 1.0, 1.0))


def without_screen_text(g: np.ndarray) -> np.ndarray:
    """``g`` with the :data:`SCREEN_TEXT` corners set to black."""
    out = g.copy()
    h, w = g.shape
    for x0, y0, x1, y1 in SCREEN_TEXT:
        out[int(y0 * h) : int(np.ceil(y1 * h)), int(x0 * w) : int(np.ceil(x1 * w))] = 0.0
    return out
