"""Ground stations: the mission's station records (:class:`viewer.mission.records.Station`, the one station class)
and their geometry on the Earth ellipsoid in the Earth-fixed frame (ITRF93)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import spiceypy

from viewer.errors import DataError
from viewer.mission import load_mission
from viewer.mission.records import Station


def position_km(station: Station, equatorial_radius_km: float, polar_radius_km: float) -> np.ndarray:
    """The station's Earth-fixed position (km) from its geodetic latitude, longitude and altitude."""
    flattening = (equatorial_radius_km - polar_radius_km) / equatorial_radius_km
    return np.asarray(
        spiceypy.georec(
            math.radians(station.lon_east_deg),
            math.radians(station.lat_deg),
            station.altitude_m / 1000.0,
            equatorial_radius_km,
            flattening,
        )
    )


def up(station: Station) -> np.ndarray:
    """Unit geodetic normal (the local vertical) in the Earth-fixed frame."""
    lat, lon = math.radians(station.lat_deg), math.radians(station.lon_east_deg)
    return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])


def with_mask(station: Station, mask_deg: float | None) -> Station:
    """The station with its elevation mask replaced (unchanged when ``mask_deg`` is None)."""
    return station if mask_deg is None else dataclasses.replace(station, elevation_mask_deg=float(mask_deg))


def mission_stations(mission=None) -> list[Station]:
    """The stations of ``assets/mission.yaml`` (Kashi, Jiamusi, Neuquén) with their grades and masks."""
    mission = mission if mission is not None else load_mission()
    if not mission.stations:
        raise DataError(f"{mission.path}: no `stations:`; list the ground stations there", path=mission.path)
    return list(mission.stations)
