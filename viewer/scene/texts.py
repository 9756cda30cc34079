"""The screen texts of a frame (title, clock, notes, the site's Sun and Earth) in the scene's language (no VTK).

Words come from ``assets/scene.yaml`` ``text`` and the view titles from ``assets/views.yaml``.
"""

from __future__ import annotations

import numpy as np

from viewer.epochs import utc_label
from viewer.scene.frame import Frame
from viewer.words import word


def terrain_label(label: str, cfg: dict, lang: str) -> str:
    """The terrain's source (``illustrative relief``, ``LOLA LDEM_16``) in ``lang`` (scene.yaml
    ``text.terrain_source``: exact labels, then ``LOLA {product}``)."""
    names = cfg["text"].get("terrain_source", {})
    if label in names:
        return names[label].get(lang, label)
    if label.startswith("LOLA ") and "LOLA" in names:
        return names["LOLA"].get(lang, "{product}").format(product=label)
    return label


def screen_texts(
    f: Frame, cfg: dict, lang: str, *, names: dict, follow: str | None, scale: float, relief: float, terrain: str
) -> dict[str, str]:
    """{text key: string} for the frame (an empty string hides the text). ``terrain``: the terrain's source label."""
    txt = cfg["text"]
    view = f.view
    title = view.title.get(lang, view.name)
    if view.name == "follow":
        title += f": {names.get(follow, {}).get(lang, follow)}"
    out = {
        "title": title,
        "clock": utc_label(f.et),
        "note:scale": txt["scale_note"][lang].format(n=f"{scale:,.0f}") if scale > 1 else "",
        "badge:grade": txt["grade_badge"][lang],
        "note:terrain": "",
        "note:distance": "",
        "site:sun": "",
        "site:earth": "",
    }
    if view.name in cfg["scale_cue"]["views"]:
        km = float(np.linalg.norm(f.bodies["EARTH"].position - f.bodies["MOON"].position)) / view.units_per_km
        out["note:distance"] = word("scene", "earth_moon", lang).format(km=f"{round(km, -2):,.0f}")
    if f.site_view:
        note = terrain_label(terrain, cfg, lang)
        out["note:terrain"] = note + ("  " + txt["terrain_note"][lang].format(x=f"{relief:g}") if relief != 1 else "")
        az, el = az_el(f.sun_dir)
        out["site:sun"] = txt["sun"][lang].format(el=el, az=az)
        az, el = az_el(f.earth_dir)
        out["site:earth"] = txt["earth_below" if el < 0 else "earth_above"][lang].format(el=el, az=az)
    return out


def az_el(v: np.ndarray) -> tuple[float, float]:
    """Azimuth (deg, clockwise from north) and elevation (deg) of an ENU direction."""
    e, n, u = v
    az = float(np.degrees(np.arctan2(e, n)) % 360.0)
    el = float(np.degrees(np.arcsin(np.clip(u / np.linalg.norm(v), -1, 1))))
    return az, el


def for_scene(scene, f) -> dict:
    """:func:`screen_texts` for a :class:`~viewer.scene.scene.MissionScene`'s current settings and frame ``f``."""
    return screen_texts(
        f,
        scene.cfg,
        scene.language,
        names=scene.model.names,
        follow=scene.follow,
        scale=scene.spacecraft_scale,
        relief=scene.site.exaggeration,
        terrain=scene.bodies.terrain_label,
    )
