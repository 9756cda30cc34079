"""The project's relay model: the mission kernels, the stations of ``assets/mission.yaml``, the terrain horizon
at the landing site from the DEM in use (cached through :mod:`viewer.cache`), and the module-level data API the
scene and the UI call (:func:`links`, :func:`link_states`, :func:`windows`, …)."""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache

import numpy as np

from viewer import cache, kernels, paths
from viewer.links.horizon import HorizonProfile, compute_horizon
from viewer.links.kinds import Link
from viewer.links.model import MODEL_VERSION, PACKAGE_DIR, RelayModel
from viewer.links.stations import mission_stations
from viewer.links.windows import Window
from viewer.mission import landing_site, load_mission
from viewer.terrain import select_dem

log = logging.getLogger(__name__)

# the phases whose relay availability the report gives, each with its end-to-end link
PHASE_LINKS = {"powered_descent": "relay-lander", "surface_operations": "relay-lander", "ascent": "relay-ascender"}


def site_horizon(dem=None, *, lat_deg: float | None = None, lon_deg: float | None = None, **kwargs) -> HorizonProfile:
    """The terrain horizon at the landing site from the DEM in use (cached on disk by DEM identity and inputs)."""
    if dem is None:
        dem = select_dem()
    if lat_deg is None or lon_deg is None:
        lat_deg, lon_deg = landing_site()
    ident = dem.identity() if hasattr(dem, "identity") else repr(dem)
    inputs = {
        "model": MODEL_VERSION,
        "dem": ident,
        "site": [round(lat_deg, 9), round(lon_deg, 9)],
        "options": sorted(kwargs.items()),
    }
    key = cache.make_key(inputs, [PACKAGE_DIR])
    data = cache.read_json("links", "horizon", key)
    if data is not None:
        try:
            return HorizonProfile.from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            log.warning("horizon cache entry of another shape (%s); it is recomputed", err)
    profile = compute_horizon(dem, lat_deg, lon_deg, **kwargs)
    cache.write_json("links", "horizon", key, profile.to_dict())
    return profile


def default_model(mask_deg: float | None = None) -> RelayModel:
    """The project's model: mission kernels, stations from ``assets/mission.yaml``, horizon from the DEM in use.

    One model per mask and per state of the loaded kernels: after a rebuild (``kernels.reload()``) the next call
    builds a new model, whose windows come from the disk cache or a new search.
    """
    meta = kernels.furnish()
    return _model_for(None if mask_deg is None else float(mask_deg), (str(meta), _mission_files()))


_files_seen: list = [float("-inf"), -1, ()]  # [monotonic time of the last look, kernels.loads then, what it saw]


def _mission_files() -> tuple:
    """Names and mtimes of the mission kernels on disk: read again after a (re)load of the kernels, and otherwise
    at most once a second (the scene asks on every frame)."""
    now = time.monotonic()
    if now - _files_seen[0] > 1.0 or _files_seen[1] != kernels.loads:
        with os.scandir(paths.KERNELS_DIR) as it:
            _files_seen[2] = tuple(
                sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith((".bsp", ".tf")))
            )
        _files_seen[0], _files_seen[1] = now, kernels.loads
    return _files_seen[2]


@lru_cache(maxsize=4)
def _model_for(mask_deg: float | None, _kernels_state: tuple) -> RelayModel:
    return RelayModel(
        mission_stations(load_mission()), site_horizon(), mask_deg=mask_deg, ensure_kernels=kernels.furnish
    )


def mission_phases(mission=None) -> list[dict]:
    """Powered descent, surface operations and ascent from ``assets/mission.yaml``, each with its end-to-end link."""
    mission = mission if mission is not None else load_mission()
    out = []
    for pid, link_id in PHASE_LINKS.items():
        ph = mission.item(pid)
        out.append(
            {
                "id": pid,
                "title": ph.title.en,
                "titles": {"en": ph.title.en, "zh": ph.title.zh},
                "start_et": ph.start_et,
                "end_et": ph.end_et,
                "start_utc": ph.start,
                "end_utc": ph.end,
                "link": link_id,
                "grade": ph.grade,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------ module API
def links() -> dict[str, Link]:
    """{link id: Link} with each link's endpoint names (``a``, ``b``), kind and label."""
    return dict(default_model().links)


def link_states(ets) -> dict[str, np.ndarray]:
    """{link id: bool array} at ``ets`` (ET)."""
    return default_model().link_states(ets)


def windows(link_id: str) -> list[Window]:
    """[(et0, et1), …] open windows of one link over its coverage."""
    return default_model().windows(link_id)


def earth_elevation_at_site(ets) -> np.ndarray:
    """Elevation of the Earth's centre at the landing site, deg (always negative: the far side)."""
    return default_model().earth_elevation_at_site(ets)


def endpoint_positions(link_id: str, ets, observer: str = "MOON", frame: str = "J2000"):
    """Positions of a link's two endpoints (stations included), km."""
    return default_model().endpoint_positions(link_id, ets, observer=observer, frame=frame)
