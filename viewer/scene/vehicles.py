"""The vehicles' one table: actor names, colours and display names, read from ``assets/scene.yaml`` (no VTK).

``vehicles`` in scene.yaml lists, per NAIF name, the actor name in the render window, the trail and label colour and
the display name in English and Chinese; ``names`` holds the bodies' and the site's display names. Every output (the
scene, the browser tracks, the web app) takes its vehicle names and colours from here.

>>> actors()["CHANGE6_ORBITER"], colour("QUEQIAO_2"), display_names()["CHANGE6_LANDER"]["zh"]
('orbiter', '#009E73', '着陆器')
"""

from __future__ import annotations

from viewer.constants import VEHICLES
from viewer.scene.kinematics import scene_config

DEFAULT_COLOUR = "#DDDDDD"
BODY_ACTORS = {"EARTH": "earth", "MOON": "moon"}


def actors(cfg: dict | None = None) -> dict[str, str]:
    """{NAIF name: actor name} of the mission vehicles, in the table's order."""
    cfg = cfg or scene_config()
    return {v: c["actor"] for v, c in cfg["vehicles"].items() if v in VEHICLES}


def colour(naif: str, cfg: dict | None = None) -> str:
    """The vehicle's colour as ``#rrggbb`` (a light grey for a body or the site)."""
    cfg = cfg or scene_config()
    return cfg["vehicles"].get(naif, {}).get("colour", DEFAULT_COLOUR)


def display_names(cfg: dict | None = None) -> dict[str, dict[str, str]]:
    """{NAIF name: {en, zh}} of every vehicle, body and the site."""
    cfg = cfg or scene_config()
    out = {k: dict(v) for k, v in cfg.get("names", {}).items()}
    for v, c in cfg["vehicles"].items():
        out[v] = dict(c.get("name") or {"en": v, "zh": v})
    return out


def rgb(hex_colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` as three floats 0 … 1."""
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]
