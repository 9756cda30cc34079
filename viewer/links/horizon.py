"""The terrain horizon at the landing site: horizon elevation as a function of azimuth, from a DEM.

For each azimuth (clockwise from north) the DEM is sampled along the great circle leaving the site, out to
``max_range_km``. Each terrain point at arc distance ``d`` and height ``h`` lies at radius ``R + h`` and central
angle ``θ = d / R`` from the site, so, seen from the observer at radius ``R + h_site + h_obs``, its elevation is
exactly (the Moon's curvature included)::

    el = atan2((R + h)·cos θ − (R + h_site + h_obs), (R + h)·sin θ)

The horizon in that direction is the largest of these elevations. Between the sampled azimuths the profile is
interpolated linearly (periodic in azimuth).

The DEM is anything with ``height_m(lat_deg, lon_east_deg)`` (vectorised, metres above the reference sphere), such
as :class:`viewer.terrain.lola.LolaDem`, or a plain function of the same shape. Latitudes are planetocentric and
longitudes east-positive, in the Moon's mean-Earth frame, like the LOLA products.

>>> flat = lambda lat, lon: 0.0 * (lat + lon)
>>> p = compute_horizon(flat, -41.6385, 206.0148, n_azimuths=8, max_range_km=20, observer_height_m=2.0)
>>> round(float(p.elevation_at(123.0)), 3)  # a smooth sphere: the geometric dip for a 2 m mast
-0.087
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from viewer.constants import MOON_RADIUS_KM

DEFAULT_N_AZIMUTHS = 360
DEFAULT_MAX_RANGE_KM = 150.0
DEFAULT_OBSERVER_HEIGHT_M = 2.0  # ASSUMED: height of the relay antenna above the ground at the site


@dataclass(frozen=True)
class HorizonProfile:
    """Horizon elevation by azimuth at one site.

    ``azimuths_deg`` are evenly spaced in [0, 360) clockwise from north (east = 90°); ``elevations_deg`` is the
    horizon there and ``distances_km`` the arc distance of the terrain point that sets it.
    """

    azimuths_deg: np.ndarray
    elevations_deg: np.ndarray
    distances_km: np.ndarray
    lat_deg: float
    lon_deg: float
    site_height_m: float
    observer_height_m: float
    max_range_km: float
    step_km: float
    source: str = "unknown DEM"
    notes: dict = field(default_factory=dict)

    def elevation_at(self, azimuth_deg) -> np.ndarray:
        """Horizon elevation (deg) at any azimuths (deg), linear between samples, periodic in azimuth."""
        az = np.mod(np.asarray(azimuth_deg, dtype=float), 360.0)
        xp = np.concatenate([self.azimuths_deg, [self.azimuths_deg[0] + 360.0]])
        fp = np.concatenate([self.elevations_deg, [self.elevations_deg[0]]])
        return np.interp(az, xp, fp)

    def digest(self) -> str:
        """A short hash of the profile's numbers (a cache-key ingredient)."""
        h = hashlib.sha1()
        h.update(np.ascontiguousarray(self.azimuths_deg, dtype=float).tobytes())
        h.update(np.ascontiguousarray(self.elevations_deg, dtype=float).tobytes())
        h.update(json.dumps([self.lat_deg, self.lon_deg, self.observer_height_m, self.source]).encode())
        return h.hexdigest()[:16]

    def to_dict(self) -> dict:
        """JSON-serialisable form (for the cache and the UI)."""
        return {
            "azimuths_deg": [round(float(a), 6) for a in self.azimuths_deg],
            "elevations_deg": [float(e) for e in self.elevations_deg],
            "distances_km": [float(d) for d in self.distances_km],
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "site_height_m": self.site_height_m,
            "observer_height_m": self.observer_height_m,
            "max_range_km": self.max_range_km,
            "step_km": self.step_km,
            "source": self.source,
            "notes": dict(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> HorizonProfile:
        return cls(
            azimuths_deg=np.asarray(data["azimuths_deg"], dtype=float),
            elevations_deg=np.asarray(data["elevations_deg"], dtype=float),
            distances_km=np.asarray(data["distances_km"], dtype=float),
            lat_deg=float(data["lat_deg"]),
            lon_deg=float(data["lon_deg"]),
            site_height_m=float(data["site_height_m"]),
            observer_height_m=float(data["observer_height_m"]),
            max_range_km=float(data["max_range_km"]),
            step_km=float(data["step_km"]),
            source=str(data.get("source", "unknown DEM")),
            notes=dict(data.get("notes", {})),
        )


def destination(lat_deg: float, lon_deg: float, azimuth_deg, angle_rad):
    """Points at central angle ``angle_rad`` along great circles leaving (lat, lon) at ``azimuth_deg``.

    Broadcasts ``azimuth_deg`` against ``angle_rad``; returns (lat_deg, lon_deg) arrays.
    """
    phi1, lam1 = np.radians(lat_deg), np.radians(lon_deg)
    az = np.radians(np.asarray(azimuth_deg, dtype=float))
    delta = np.asarray(angle_rad, dtype=float)
    sin_phi2 = np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(az)
    phi2 = np.arcsin(np.clip(sin_phi2, -1.0, 1.0))
    lam2 = lam1 + np.arctan2(np.sin(az) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * sin_phi2)
    return np.degrees(phi2), np.degrees(lam2)


def terrain_elevation_deg(
    distance_km,
    height_m,
    *,
    site_height_m: float,
    observer_height_m: float,
    reference_radius_km: float = MOON_RADIUS_KM,
) -> np.ndarray:
    """Elevation angle (deg) of terrain points at arc distance ``distance_km`` and ``height_m``, seen from the site.

    Exact on a sphere of radius ``reference_radius_km`` (the DEM's reference), so the curvature drop is included.
    """
    r_ref = reference_radius_km
    theta = np.asarray(distance_km, dtype=float) / r_ref
    r_point = r_ref + np.asarray(height_m, dtype=float) / 1000.0
    r_obs = r_ref + (site_height_m + observer_height_m) / 1000.0
    return np.degrees(np.arctan2(r_point * np.cos(theta) - r_obs, r_point * np.sin(theta)))


def _height_function(dem):
    if hasattr(dem, "height_m"):
        return dem.height_m
    if callable(dem):
        return dem
    raise TypeError("dem must have height_m(lat_deg, lon_east_deg) or be such a function")


def default_step_km(dem, reference_radius_km: float = MOON_RADIUS_KM) -> float:
    """Half a DEM pixel (from its ``resolution`` in pixels per degree), kept within 20 m … 250 m."""
    res = getattr(dem, "resolution", None)
    if isinstance(res, (int, float)) and res > 0:
        pixel_km = np.pi * reference_radius_km / 180.0 / float(res)
        return float(np.clip(pixel_km / 2.0, 0.02, 0.25))
    return 0.25


def compute_horizon(
    dem,
    lat_deg: float,
    lon_deg: float,
    *,
    n_azimuths: int = DEFAULT_N_AZIMUTHS,
    max_range_km: float = DEFAULT_MAX_RANGE_KM,
    step_km: float | None = None,
    observer_height_m: float = DEFAULT_OBSERVER_HEIGHT_M,
    site_height_m: float | None = None,
    reference_radius_km: float = MOON_RADIUS_KM,
    source: str | None = None,
) -> HorizonProfile:
    """The horizon profile at (``lat_deg``, ``lon_deg``) from ``dem``.

    ``site_height_m`` defaults to the DEM's own height at the site, so the observer stands on the DEM's surface
    (``observer_height_m`` above it) whatever the DEM's absolute datum.
    """
    if n_azimuths < 4:
        raise ValueError("n_azimuths must be at least 4")
    if max_range_km <= 0:
        raise ValueError("max_range_km must be positive")
    height = _height_function(dem)
    step = float(step_km) if step_km else default_step_km(dem, reference_radius_km)
    if site_height_m is None:
        site_height_m = float(np.asarray(height(np.array([lat_deg]), np.array([lon_deg])), dtype=float).ravel()[0])
    azimuths = np.arange(n_azimuths) * (360.0 / n_azimuths)
    distances = np.arange(1, int(np.ceil(max_range_km / step)) + 1) * step
    distances = distances[distances <= max_range_km + 1e-9]
    best = np.full(n_azimuths, -90.0)
    where = np.zeros(n_azimuths)
    # chunk by distance so memory stays bounded (n_azimuths × chunk samples at a time)
    chunk = max(1, 200_000 // n_azimuths)
    for i in range(0, len(distances), chunk):
        d = distances[i : i + chunk]
        lats, lons = destination(lat_deg, lon_deg, azimuths[:, None], d[None, :] / reference_radius_km)
        h = np.asarray(height(lats, lons), dtype=float).reshape(lats.shape)
        el = terrain_elevation_deg(
            d[None, :],
            h,
            site_height_m=site_height_m,
            observer_height_m=observer_height_m,
            reference_radius_km=reference_radius_km,
        )
        k = np.argmax(el, axis=1)
        top = el[np.arange(n_azimuths), k]
        better = top > best
        best[better] = top[better]
        where[better] = d[k[better]]
    if source is None:
        source = getattr(dem, "source_label", None) or getattr(dem, "label", None) or type(dem).__name__
    return HorizonProfile(
        azimuths_deg=azimuths,
        elevations_deg=best,
        distances_km=where,
        lat_deg=float(lat_deg),
        lon_deg=float(lon_deg),
        site_height_m=float(site_height_m),
        observer_height_m=float(observer_height_m),
        max_range_km=float(max_range_km),
        step_km=step,
        source=str(source),
    )
