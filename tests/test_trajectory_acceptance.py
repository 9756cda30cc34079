"""The reconstruction against the published profile, checked on the BUILT kernels with plain SPICE queries.

- Queqiao-2 flies a frozen orbit: its inclination to the lunar equator (MOON_ME), sampled daily from 2 April to
  28 June, stays within 62.4 ± 2 deg (Wikipedia); every periselene pass is north of the equator (SpaceNews: perilune
  over the north, CNSA: south-pole coverage); station keeping over that span is at most 20 m/s ("needs very little
  fuel"); its lunar-orbit braking starts near the sourced 440 km.
- The capsule separates 5,000 ± 300 km above the Earth (CNSA: about 5,000 km).
- The skip-out happens where the ``skip_out`` caption says.
- The stack mass is one value in outbound.yaml and mission.yaml.

(The descent engine limit, 7,500 N from the SPK acceleration minus gravity with the mass model, is in
tests/test_lunar_ops.py.)
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import spiceypy
import yaml

from viewer import paths
from viewer.constants import MOON_RADIUS_KM
from viewer.epochs import et_from_utc
from viewer.mission import load_mission

pytestmark = pytest.mark.usefixtures("kernels_loaded")

Q2 = "QUEQIAO_2"
SPAN = (et_from_utc("2024-04-02T00:00:00Z"), et_from_utc("2024-06-28T00:00:00Z"))


@pytest.fixture(scope="module")
def manifest():
    return json.loads((paths.KERNELS_DIR / "change6_manoeuvres.json").read_text())


def _me_state(et):
    """Queqiao-2 relative to the Moon, J2000 state rotated (not differentiated) into MOON_ME axes at ``et``."""
    st = np.asarray(spiceypy.spkezr(Q2, et, "J2000", "NONE", "MOON")[0])
    rot = np.asarray(spiceypy.pxform("J2000", "MOON_ME", et))
    return rot @ st[:3], rot @ st[3:]


def test_queqiao2_inclination_to_moon_me_stays_within_2_deg_of_62_4():
    incs = []
    for et in np.arange(SPAN[0], SPAN[1] + 1.0, 86400.0):
        r, v = _me_state(float(et))
        h = np.cross(r, v)
        incs.append(math.degrees(math.acos(h[2] / np.linalg.norm(h))))
    incs = np.array(incs)
    assert len(incs) == 88
    assert np.abs(incs - 62.4).max() <= 2.0, f"inclination to MOON_ME {incs.min():.2f} .. {incs.max():.2f} deg"


def test_queqiao2_periselene_passes_are_north_of_the_equator():
    ets = np.arange(SPAN[0], SPAN[1], 60.0)
    pos = np.asarray(spiceypy.spkpos(Q2, ets, "MOON_ME", "NONE", "MOON")[0])
    r = np.linalg.norm(pos, axis=1)
    k = np.where((r[1:-1] < r[:-2]) & (r[1:-1] <= r[2:]))[0] + 1
    assert len(k) >= 80, f"only {len(k)} periselene passes in 87 days"
    lat = np.degrees(np.arcsin(pos[k, 2] / r[k]))
    assert lat.min() > 0.0, f"a periselene at {lat.min():.1f} deg latitude"
    # and the aposelene over the south
    k = np.where((r[1:-1] > r[:-2]) & (r[1:-1] >= r[2:]))[0] + 1
    assert np.degrees(np.arcsin(pos[k, 2] / r[k])).max() < 0.0


def test_queqiao2_station_keeping_at_most_20_m_s(manifest):
    kept = [m for m in manifest["manoeuvres"] if m["vehicle"] == Q2 and SPAN[0] <= m["et"] <= SPAN[1]]
    total = sum(m["dv_m_s"] for m in kept)
    assert total <= 20.0, f"{len(kept)} burns, {total:.1f} m/s between 2 April and 28 June"


def test_queqiao2_braking_starts_near_440_km(manifest):
    loi = next(m for m in manifest["manoeuvres"] if m["name"] == "Q2 LOI")
    assert loi["utc"].startswith("2024-03-24T16:46")
    pos = np.asarray(spiceypy.spkpos(Q2, loi["et"], "J2000", "NONE", "MOON")[0])
    h = np.linalg.norm(pos) - MOON_RADIUS_KM
    assert 410.0 <= h <= 470.0, f"braking starts at {h:.0f} km"


def test_queqiao2_mid_course_correction_modelled(manifest):
    mcc = [m for m in manifest["manoeuvres"] if m["vehicle"] == Q2 and "mid-course" in m["name"]]
    assert len(mcc) == 1 and 0.05 < mcc[0]["dv_m_s"] < 5.0


def _returner_geodetic(et):
    radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
    p = np.asarray(spiceypy.spkpos("CHANGE6_RETURNER", et, "ITRF93", "NONE", "EARTH")[0])
    lon, lat, h = spiceypy.recgeo(p, radii[0], (radii[0] - radii[2]) / radii[0])
    return math.degrees(lat), math.degrees(lon), h


def test_capsule_separates_5000_km_up(manifest):
    sep = next(e for e in manifest["events"] if e["id"] == "separation")
    _, _, h = _returner_geodetic(sep["et"])
    assert abs(h - 5000.0) <= 300.0, f"separation at {h:.0f} km"


# the regions a caption may name for the skip-out point: name -> (lat range, lon range)
REGIONS = {
    "Indian Ocean": ((-60.0, 24.0), (20.0, 120.0)),
    "Arabian Sea": ((5.0, 25.0), (50.0, 77.0)),
    "Himalaya": ((27.0, 37.0), (72.0, 96.0)),
    "Tibet": ((27.0, 37.0), (78.0, 100.0)),
}


def test_skip_out_location_agrees_with_its_caption(manifest):
    ev = next(e for e in manifest["events"] if e["id"] == "skip_out")
    lat, lon, h = _returner_geodetic(ev["et"])
    assert abs(h - 120.0) < 2.0
    caption = load_mission().item("skip_out").caption.en
    named = [name for name in REGIONS if name.lower() in caption.lower()]
    assert named, f"the skip_out caption names no place: {caption!r}"
    for name in named:
        (la0, la1), (lo0, lo1) = REGIONS[name]
        assert la0 <= lat <= la1 and lo0 <= lon <= lo1, f"caption says {name}, kernels skip out at {lat:.1f}, {lon:.1f}"


def test_stack_mass_is_one_value():
    outbound = yaml.safe_load((paths.ASSETS_DIR / "trajectory" / "outbound.yaml").read_text())
    data = yaml.safe_load((paths.ASSETS_DIR / "mission.yaml").read_text())
    fact = next(f for f in data["mission"]["facts"] if f["id"] == "launch_mass")
    assert outbound["loi"]["mass_kg"]["value"] == fact["value"]
