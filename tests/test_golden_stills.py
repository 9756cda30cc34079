"""The scene still draws the committed golden stills: mean absolute difference ≤ 1 grey level per pixel."""

from __future__ import annotations

import numpy as np
import pytest
from golden_stills import GOLDEN_DIR, STILLS, render_all
from PIL import Image


@pytest.fixture(scope="module")
def rendered(kernels_loaded):
    return render_all()


@pytest.mark.slow
@pytest.mark.parametrize("stem", [s[0] for s in STILLS])
def test_golden_still_unchanged(rendered, stem):
    want = np.asarray(Image.open(GOLDEN_DIR / f"{stem}.png").convert("L"), float)
    got = np.asarray(Image.fromarray(rendered[stem]).convert("L"), float)
    assert got.shape == want.shape
    mad = float(np.abs(got - want).mean())
    assert mad <= 1.0, f"{stem}: mean absolute difference {mad:.2f} grey levels (≤ 1 allowed)"
