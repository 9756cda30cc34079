"""Golden stills: small offscreen frames of every preset view at several phases, kept under ``tests/golden/``.

``python tests/golden_stills.py`` renders them anew (do it only when a change alters the picture on purpose, and say
so in the commit); ``tests/test_golden_stills.py`` renders the same frames with the current code and compares.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

GOLDEN_DIR = Path(__file__).parent / "golden"
SIZE = (480, 270)

# (file stem, UTC, view, followed vehicle)
STILLS = [
    ("system_cruise", "2024-05-05T12:00:00Z", "system", None),
    ("system_return", "2024-06-22T12:00:00Z", "system", None),
    ("lunar_loi", "2024-05-08T02:30:00Z", "lunar", None),
    ("lunar_surface", "2024-06-02T12:00:00Z", "lunar", None),
    ("lunar_docking", "2024-06-06T06:40:00Z", "lunar", None),
    ("site_touchdown", "2024-06-01T22:23:30Z", "site", None),
    ("site_ascent", "2024-06-03T23:39:00Z", "site", None),
    ("return_entry", "2024-06-25T05:45:00Z", "return", None),
    ("follow_orbiter", "2024-05-20T00:00:00Z", "follow", "CHANGE6_ORBITER"),
]


def render_all() -> dict[str, np.ndarray]:
    """Every golden still as an RGB array, rendered with one scene per view (quality fast, English)."""
    from viewer.epochs import et_from_utc
    from viewer.scene.scene import MissionScene

    out: dict[str, np.ndarray] = {}
    scenes: dict[str, MissionScene] = {}
    try:
        for stem, utc, view, follow in STILLS:
            scene = scenes.get(view)
            if scene is None:
                scene = scenes[view] = MissionScene(view, follow=follow, window_size=SIZE, quality="fast")
            scene.set_view(view, follow=follow, et=et_from_utc(utc))
            out[stem] = np.asarray(scene.screenshot())[..., :3].copy()
    finally:
        for scene in scenes.values():
            scene.close()
    return out


def main() -> int:
    from PIL import Image

    GOLDEN_DIR.mkdir(exist_ok=True)
    for stem, image in render_all().items():
        Image.fromarray(image).save(GOLDEN_DIR / f"{stem}.png")
        print(GOLDEN_DIR / f"{stem}.png")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's viewer, not an installed one
    sys.exit(main())
