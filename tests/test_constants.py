"""One place per fact: the body constants in viewer.constants agree with the kernels SPICE loads."""

from __future__ import annotations

import spiceypy as sp

from viewer import constants as c
from viewer import words


def test_body_constants_match_the_loaded_pck(kernels_loaded):
    assert tuple(sp.bodvrd("MOON", "RADII", 3)[1]) == (c.MOON_RADIUS_KM,) * 3
    assert tuple(sp.bodvrd("EARTH", "RADII", 3)[1]) == (
        c.EARTH_EQUATORIAL_RADIUS_KM,
        c.EARTH_EQUATORIAL_RADIUS_KM,
        c.EARTH_POLAR_RADIUS_KM,
    )
    assert tuple(sp.bodvrd("SUN", "RADII", 3)[1]) == (c.SUN_RADIUS_KM,) * 3
    for body, gm in c.GM_KM3_S2.items():
        assert sp.bodvrd(body, "GM", 1)[1][0] == gm


def test_every_word_has_english_and_chinese():
    for name in ("grades", "ui"):
        for key, entry in words.section(name).items():
            assert entry.get("en") and entry.get("zh"), f"words.yaml {name}.{key} lacks en or zh"
    assert words.grade_colour("sourced").startswith("#")
