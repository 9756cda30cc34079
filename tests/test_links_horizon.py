"""The terrain horizon at the landing site from the real LOLA LDEM_4 (needs ../shared)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.constants import MOON_RADIUS_KM
from viewer.links.horizon import HorizonProfile, compute_horizon

SITE = (-41.6385, 206.0148)  # LROC, mission-facts §1c


def test_ldem4_horizon_at_the_site(ldem4_path):
    from viewer.terrain.lola import LolaDem

    dem = LolaDem.open(ldem4_path)
    p = compute_horizon(dem, *SITE)
    # the observer stands on the DEM: LDEM_4 puts the site near LROC's −5,256 m (coarse 7.6 km pixels)
    assert p.site_height_m == pytest.approx(-5256, abs=400)
    assert p.source == "LOLA LDEM_4"
    assert len(p.elevations_deg) == 360 and np.all(np.abs(p.elevations_deg) < 10)
    # never below the smooth-sphere dip out to 150 km, and some terrain stands above the horizontal somewhere
    assert p.elevations_deg.min() > -np.degrees(150 / MOON_RADIUS_KM) - 0.1 and p.elevations_deg.max() > 0
    back = HorizonProfile.from_dict(p.to_dict())
    assert np.array_equal(back.elevations_deg, p.elevations_deg) and back.digest() == p.digest()
