"""The relay chain (source → Queqiao-2 → stations) on the mission's kernels, checked against plain geometry.

Positions for the checks come straight from ``spiceypy.spkpos``/``pxform`` and the stations' geodetic coordinates
computed in ``links_oracle``; ray–sphere tests by the quadratic. Skips where the mission SPKs are not built.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import spiceypy
from links_oracle import geodetic_xyz, near_edge, ray_blocked

from viewer import paths
from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM, MOON_RADIUS_KM
from viewer.epochs import et_from_utc
from viewer.links import REASONS, chain_samples, relay_chain

pytestmark = pytest.mark.skipif(
    not sorted(paths.KERNELS_DIR.glob("change6_*.bsp")),
    reason="mission kernels kernels/change6_*.bsp are not built (run `python -m viewer kernels build`)",
)
SPAN_UTC = ("2024-05-03T10:00:00Z", "2024-06-28T00:00:00Z")


@pytest.fixture(scope="module")
def model():
    from viewer import kernels, links

    kernels.furnish()
    return links.default_model()


@pytest.fixture(scope="module")
def samples(model):
    ets = np.arange(et_from_utc(SPAN_UTC[0]), et_from_utc(SPAN_UTC[1]), 600.0)
    return chain_samples(ets, model)


def _station_j2000(model, sid: str, et: float) -> np.ndarray:
    st = model.stations[sid]
    xyz = geodetic_xyz(
        st.lat_deg, st.lon_east_deg, st.altitude_m / 1000, EARTH_EQUATORIAL_RADIUS_KM, EARTH_POLAR_RADIUS_KM
    )
    earth = np.array(spiceypy.spkpos("EARTH", et, "J2000", "NONE", "MOON")[0])
    return earth + np.array(spiceypy.pxform("ITRF93", "J2000", et)) @ xyz


def _elevation_deg(model, sid: str, et: float, target: np.ndarray) -> float:
    st = model.stations[sid]
    lat, lon = np.radians(st.lat_deg), np.radians(st.lon_east_deg)
    up = np.array(spiceypy.pxform("ITRF93", "J2000", et)) @ np.array(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]
    )
    d = target - _station_j2000(model, sid, et)
    return float(np.degrees(np.arcsin(d @ up / np.linalg.norm(d))))


def test_a_station_leg_behind_the_moon_ends_on_the_limb(model, samples):
    leg = samples["legs"]["queqiao2-kashi"]
    hits = np.flatnonzero(leg["reason"] == REASONS.index("moon_limb"))
    assert len(hits) > 0, "no epoch at 10-minute steps with Queqiao-2 behind the Moon from Kashi"
    relay_at = lambda t: np.array(spiceypy.spkpos("QUEQIAO_2", t, "J2000", "NONE", "MOON")[0])
    mask = model.stations["kashi"].elevation_mask_deg
    # independently: an epoch when Kashi sees Queqiao-2 above its mask, yet the Moon's sphere lies on the ray
    et = next(float(t) for t in samples["t"][hits] if _elevation_deg(model, "kashi", float(t), relay_at(t)) > mask)
    relay, station = relay_at(et), _station_j2000(model, "kashi", et)
    assert ray_blocked(station[None], relay[None], np.zeros(3), MOON_RADIUS_KM)[0]

    chain = relay_chain(et, model)
    rec = next(lg for lg in chain["legs"] if lg["id"] == "queqiao2-kashi")
    assert not rec["open"] and rec["reason"] == "moon_limb" and rec["stub"] is not None
    assert rec["from"]["naif"] == "QUEQIAO_2" and rec["to"]["naif"] == "STATION:kashi"
    assert rec["reason_text"]["en"] and rec["reason_text"]["zh"] != rec["reason_text"]["en"]
    np.testing.assert_allclose(rec["from"]["position_km"], relay, atol=1e-3)
    np.testing.assert_allclose(rec["to"]["position_km"], station, atol=1e-3)
    start, end = np.array(rec["stub"]["from_km"]), np.array(rec["stub"]["to_km"])
    np.testing.assert_allclose(start, relay, atol=1e-3)  # the stub starts at Queqiao-2
    assert abs(np.linalg.norm(end) - MOON_RADIUS_KM) < 1.0  # and ends on the Moon's limb
    u = (station - relay) / np.linalg.norm(station - relay)
    off_line = (end - relay) - ((end - relay) @ u) * u
    assert np.linalg.norm(off_line) < 1.0  # on the line of sight
    before = relay + np.linspace(0.0, 1.0, 2001)[:, None] * (end - relay - u)  # up to 1 km short of the end
    assert np.linalg.norm(before, axis=1).min() > MOON_RADIUS_KM  # the first point where it meets the Moon


def test_chain_states_agree_with_the_link_windows(model, samples):
    for lid, leg in samples["legs"].items():
        act = leg["active"]
        if not act.any():
            continue
        ets = samples["t"][act]
        want = model.link_states(ets, [lid])[lid]
        edge = near_edge(model.windows(lid), ets)
        assert np.array_equal(leg["open"][act][~edge], want[~edge]), lid
        blocked = act & ~leg["open"]
        assert np.all(leg["reason"][blocked] >= 0) and np.all(leg["reason"][act & leg["open"]] == -1), lid
        assert np.all(np.isnan(leg["stub"][act & leg["open"]])), lid
        f = leg["stub"][blocked]
        assert np.all((0 <= f[:, 0]) & (f[:, 0] <= f[:, 1]) & (f[:, 1] <= 1)), lid


def test_the_source_follows_the_phases(model, samples):
    from viewer.mission import load_mission

    m = load_mission()
    roles = samples["roles"]
    for pid, role in (("surface_operations", "lander"), ("ascent", "ascender"), ("lunar_orbit", "orbiter")):
        ph = m.item(pid)
        inside = (samples["t"] >= ph.start_et) & (samples["t"] < ph.end_et)
        assert inside.any() and np.all(samples["source"][inside] == roles.index(role)), pid
    # on the surface the lander → Queqiao-2 leg is shown every time, open or as a stub to the local horizon (or,
    # when Queqiao-2 is below the Moon's round horizon as well, to the Moon's limb); mostly the terrain's horizon
    ph = m.item("surface_operations")
    inside = (samples["t"] >= ph.start_et) & (samples["t"] < ph.end_et)
    lander = samples["legs"]["lander-queqiao2"]
    assert np.all(lander["show"][inside])
    reasons = lander["reason"][inside & ~lander["open"]]
    assert set(np.unique(reasons)) <= {REASONS.index("horizon"), REASONS.index("moon_limb")}
    assert (reasons == REASONS.index("horizon")).mean() > 0.5


def test_at_touchdown_the_whole_chain_is_open_and_every_shown_leg_reads(model):
    et = et_from_utc("2024-06-01T22:23:16Z")
    chain = json.loads(json.dumps(relay_chain(et, model), ensure_ascii=False))  # plain records
    assert chain["open"] and chain["source"]["naif"] == "CHANGE6_LANDER"
    assert chain["source"]["name"] == {"en": "Lander", "zh": "着陆器"}
    shown = [lg for lg in chain["legs"] if lg["show"]]
    assert shown[0]["id"] == "lander-queqiao2" and shown[0]["open"]
    assert any(lg["kind"] == "station" and lg["open"] for lg in shown)
    assert all(lg["open"] for lg in shown if lg["kind"] == "station")  # a station sees it: no blocked station legs
    earth = np.array(chain["earth_km"])
    moon_dir = -earth / np.linalg.norm(earth)
    for st in chain["stations"]:
        anchor = np.array(st["limb_anchor_km"]) - earth
        assert np.linalg.norm(anchor) == pytest.approx(EARTH_EQUATORIAL_RADIUS_KM, abs=1e-6)
        assert abs(anchor @ moon_dir) < 1e-6 * EARTH_EQUATORIAL_RADIUS_KM  # on the limb seen from the Moon
        rel = np.array(st["position_km"]) - earth
        across = rel - (rel @ moon_dir) * moon_dir
        assert np.dot(across, anchor) / (np.linalg.norm(across) * np.linalg.norm(anchor)) > 0.999  # nearest point
        assert st["name"]["en"] and st["name"]["zh"]
