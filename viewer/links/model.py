"""The relay model: every link of :data:`viewer.links.kinds.LINK_TABLE` over the loaded kernels, its coverage,
its state from the geometry, its windows (searched by :mod:`viewer.links.search`, cached on disk through
:mod:`viewer.cache`) and the positions of its ends."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import spiceypy

from viewer import cache
from viewer.epochs import coverage_error
from viewer.errors import InputError
from viewer.links import search
from viewer.links import stations as stations_mod
from viewer.links.coverage import body_coverage, first_epoch, loaded_kernel_files
from viewer.links.geometry import azimuth_elevation_deg, rotations, spkpos
from viewer.links.horizon import HorizonProfile
from viewer.links.kinds import COMPOSITES, KINDS, LINK_TABLE, Bodies, Link, all_hold, expand, fetch
from viewer.links.windows import (
    Window,
    complement,
    covered_fraction,
    intersect,
    intersect_all,
    states_from_windows,
    union,
)
from viewer.mission.records import Station

MODEL_VERSION = "links-3"  # bump when the visibility model changes: it is part of the cache key
PACKAGE_DIR = Path(__file__).resolve().parent  # the cache keys cover these source files
DEFAULT_STEP_S = 60.0
DEFAULT_TOLERANCE_S = 0.01
DEFAULT_AT_SITE_KM = 0.1
SITE_SPHERE_MARGIN_KM = 0.001
DEFAULT_BODIES = Bodies()


class RelayModel:
    """Visibility and windows of every link, computed from the loaded kernels.

    ``stations``: the ground stations; ``horizon``: the terrain horizon at the site; ``bodies``: names and frames;
    ``mask_deg`` overrides every station's own mask when given. The kernels must be loaded before use
    (``ensure_kernels`` is called first; the default model passes :func:`viewer.kernels.furnish`).
    """

    def __init__(
        self,
        stations: Sequence[Station],
        horizon: HorizonProfile,
        *,
        bodies: Bodies = DEFAULT_BODIES,
        mask_deg: float | None = None,
        step_s: float = DEFAULT_STEP_S,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        at_site_km: float = DEFAULT_AT_SITE_KM,
        ensure_kernels: Callable[[], object] | None = None,
        cache: bool = True,
        table=LINK_TABLE,
    ):
        if step_s <= 0 or tolerance_s <= 0:
            raise InputError("step_s and tolerance_s must be positive")
        if mask_deg is not None and not -10.0 <= float(mask_deg) <= 90.0:
            raise InputError(f"elevation mask {mask_deg}° is out of range; give a value from 0 to 90 degrees")
        if ensure_kernels is not None:
            ensure_kernels()
        self.bodies = bodies
        self.stations = {s.id: stations_mod.with_mask(s, mask_deg) for s in stations}
        self.horizon = horizon
        self.mask_deg = mask_deg
        self.step_s = float(step_s)
        self.tolerance_s = float(tolerance_s)
        self.at_site_km = float(at_site_km)
        self.cache_enabled = cache
        self.moon_radius_km = float(spiceypy.bodvrd(bodies.moon, "RADII", 3)[1][0])
        radii = spiceypy.bodvrd(bodies.earth, "RADII", 3)[1]
        self.earth_radii_km = np.asarray(radii, dtype=float)
        self.site_topo = spkpos(bodies.site, first_epoch(bodies.site), bodies.topo_frame, bodies.moon)[0]
        self.site_radius_km = float(np.linalg.norm(self.site_topo))
        self.site_sphere_km = min(self.moon_radius_km, self.site_radius_km) - SITE_SPHERE_MARGIN_KM
        self.station_xyz_km = {sid: stations_mod.position_km(s, radii[0], radii[2]) for sid, s in self.stations.items()}
        self.station_up = {sid: stations_mod.up(s) for sid, s in self.stations.items()}
        spheres = {"site": self.site_sphere_km, "moon": self.moon_radius_km}
        self.links = expand(table, bodies, self.stations, spheres)
        self._coverage: dict[str, list[Window]] = {}
        for lid, link in self.links.items():  # parts are defined before the composites that use them
            self._coverage[lid] = self._link_coverage(link)
        self._windows: dict[str, list[Window]] | None = None
        self._window_arrays: dict[str, np.ndarray] | None = None
        self._window_starts: dict[str, list[float]] = {}
        self.search_seconds: float | None = None
        self.densified = 0
        self.cache_path: Path | None = None

    # ----------------------------------------------------------------------------------- definitions
    def _link_coverage(self, link: Link) -> list[Window]:
        if link.composite:
            combine = COMPOSITES[link.kind][0]
            return combine([self._coverage[p] for p in link.parts])
        bodies = KINDS[link.kind].covered_by(link, self.bodies)
        return intersect_all([body_coverage(name) for name in bodies])

    def coverage(self, link_id: str) -> list[Window]:
        """The intervals over which a link is defined (its endpoints' SPK coverage)."""
        return list(self._coverage[self._check_id(link_id)])

    def _check_id(self, link_id: str) -> str:
        if link_id not in self.links:
            raise InputError(f"unknown link {link_id!r}; choose one of: {', '.join(self.links)}")
        return link_id

    # ----------------------------------------------------------------------------------- visibility
    def reads(self, link: Link, ets: np.ndarray) -> dict:
        """Everything an elementary link reads from SPICE at ``ets``."""
        return {key: fetch(self.bodies, key, ets) for key in KINDS[link.kind].reads(link, self.bodies)}

    def checks(self, link: Link, pos: dict, margin: bool = False):
        """({check name: bool array}, margin or None) of an elementary link from its reads."""
        return KINDS[link.kind].checks(self, link, pos, margin)

    def evaluate_at(self, link: Link, ets: np.ndarray) -> np.ndarray:
        """Elementary link state from the geometry at ``ets`` (inside its coverage)."""
        return all_hold(self.checks(link, self.reads(link, ets))[0])

    def visibility(self, link_id: str, ets) -> np.ndarray:
        """Link state computed from the geometry at ``ets`` (False outside the link's coverage)."""
        link = self.links[self._check_id(link_id)]
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        if link.composite:
            return COMPOSITES[link.kind][1]([self.visibility(p, ets) for p in link.parts])
        inside = states_from_windows(self._coverage[link.id], ets)
        out = np.zeros(ets.shape, dtype=bool)
        if inside.any():
            out[inside] = self.evaluate_at(link, ets[inside])
        return out

    def earth_elevation_at_site(self, ets) -> np.ndarray:
        """Elevation (deg) of the Earth's centre above the local horizontal plane at the landing site."""
        b = self.bodies
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        cov = body_coverage(b.site)
        bad = ~states_from_windows(cov, ets)
        if bad.any():
            raise coverage_error(b.site, float(ets[bad][0]), cov[0][0], cov[-1][1])
        rel = spkpos(b.earth, ets, b.topo_frame, b.site)
        return azimuth_elevation_deg(rel)[1]

    def search(self) -> dict[str, list[Window]]:
        """Find every link's windows from the geometry (no cache)."""
        return search.search(self)

    # ----------------------------------------------------------------------------------- cache
    def cache_key(self) -> str:
        """The window cache's key: the model's inputs, the loaded kernel files and this package's sources."""
        inputs = {
            "model": MODEL_VERSION,
            "stations": {
                sid: [s.lat_deg, s.lon_east_deg, s.altitude_m, s.elevation_mask_deg] for sid, s in self.stations.items()
            },
            "horizon": self.horizon.digest(),
            "bodies": self.bodies.__dict__,
            "step_s": self.step_s,
            "tolerance_s": self.tolerance_s,
            "at_site_km": self.at_site_km,
            "links": [link.to_dict() for link in self.links.values()],
        }
        return cache.make_key(inputs, [*loaded_kernel_files(), PACKAGE_DIR])

    def cache_name(self) -> str:
        """The window cache entry's name: one entry per mask, so a report with ``--mask`` keeps the default one."""
        return "windows" if self.mask_deg is None else f"windows_mask{float(self.mask_deg):g}"

    def all_windows(self) -> dict[str, list[Window]]:
        """Every link's windows: from the disk cache when its key matches, else searched and cached."""
        if self._windows is not None:
            return self._windows
        key = self.cache_key() if self.cache_enabled else None
        name = self.cache_name()
        data = cache.read_json("links", name, key) if key else None
        if isinstance(data, dict) and set(data.get("windows", ())) == set(self.links):
            self._windows = {lid: [tuple(w) for w in wins] for lid, wins in data["windows"].items()}
            self.cache_path = cache.entry_path("links", name, key, "json")
            return self._windows
        self._windows = self.search()
        if key:
            payload = {
                "model": MODEL_VERSION,
                "search_seconds": self.search_seconds,
                "windows": {lid: [list(w) for w in wins] for lid, wins in self._windows.items()},
            }
            self.cache_path = cache.write_json("links", name, key, payload)
        return self._windows

    # ----------------------------------------------------------------------------------- public views
    def windows(self, link_id: str) -> list[Window]:
        """The link's open windows [(et0, et1), …], sorted."""
        return list(self.all_windows()[self._check_id(link_id)])

    def link_states(self, ets, link_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """{link id: bool array} at ``ets`` from the windows (vectorised, microseconds per thousand epochs)."""
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        if self._window_arrays is None:
            self._window_arrays = {
                lid: np.asarray(w, dtype=float).reshape(-1, 2) for lid, w in self.all_windows().items()
            }
            self._window_starts = {lid: w[:, 0].tolist() for lid, w in self._window_arrays.items()}
        ids = list(self.links) if link_ids is None else [self._check_id(i) for i in link_ids]
        if ets.shape == (1,):  # one epoch (the scene's update): bisect the window starts, no array work per link
            et = float(ets[0])
            out = {}
            for lid in ids:
                w = self._window_arrays[lid]
                k = bisect.bisect_right(self._window_starts[lid], et) - 1
                out[lid] = np.array([k >= 0 and et <= w[k, 1]])
            return out
        return {lid: states_from_windows(self._window_arrays[lid], ets) for lid in ids}

    def endpoint_positions(self, link_id: str, ets, observer: str = "MOON", frame: str = "J2000"):
        """Positions (N, 3) km of the link's two endpoints relative to ``observer`` in ``frame``."""
        link = self.links[self._check_id(link_id)]
        ets = np.atleast_1d(np.asarray(ets, dtype=float))
        return self.endpoint(link.a, ets, observer, frame), self.endpoint(link.b, ets, observer, frame)

    def endpoint(self, name: str, ets: np.ndarray, observer: str = "MOON", frame: str = "J2000") -> np.ndarray:
        """Positions (N, 3) km of one endpoint (a body, a spacecraft or ``STATION:id``) relative to ``observer``."""
        if not name.startswith("STATION:"):
            return spkpos(name, ets, frame, observer)
        xyz = self.station_xyz_km[name.split(":", 1)[1]]
        earth = spkpos(self.bodies.earth, ets, frame, observer)
        return earth + rotations(self.bodies.earth_frame, frame, ets) @ xyz

    def direct_or_relay(self, role_id: str, t0: float, t1: float) -> dict:
        """Over [t0, t1]: when ``role_id`` (``orbiter``/``ascender``) is seen by a station directly, when only
        through Queqiao-2, and when by neither."""
        span = [(t0, t1)]
        direct = intersect(self.windows(f"{role_id}-ground"), span)
        relay = intersect(self.windows(f"relay-{role_id}"), span)
        relay_only = intersect(relay, complement(direct, t0, t1))
        neither = complement(union([direct, relay]), t0, t1)
        length = max(t1 - t0, 1e-9)
        frac = lambda ws: sum(b - a for a, b in ws) / length
        return {
            "vehicle": role_id,
            "start_et": t0,
            "end_et": t1,
            "direct_fraction": frac(direct),
            "relay_only_fraction": frac(relay_only),
            "none_fraction": frac(neither),
            "direct": direct,
            "relay_only": relay_only,
            "none": neither,
        }

    def phase_availability(self, phases: Sequence[dict]) -> list[dict]:
        """End-to-end relay availability for mission phases ``{id, start_et, end_et, link}``."""
        wins = self.all_windows()
        out = []
        for ph in phases:
            lw = wins[self._check_id(ph["link"])]
            t0, t1 = float(ph["start_et"]), float(ph["end_et"])
            inside = [w for w in lw if w[0] <= t0 and t1 <= w[1]]
            covered = any(a <= t0 and t1 <= b for a, b in self._coverage[ph["link"]])
            out.append(
                {
                    **ph,
                    "covered": covered,
                    "fraction": covered_fraction(lw, t0, t1),
                    "inside_one_window": bool(inside),
                    "window": list(inside[0]) if inside else None,
                    "windows": [list(w) for w in intersect(lw, [(t0, t1)])] if t1 > t0 else [],
                }
            )
        return out
