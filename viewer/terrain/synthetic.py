"""The offline default terrain: a deterministic "illustrative relief" of the Moon.

No LOLA data goes into it. It is built from what the project can state honestly (``assets/terrain.yaml``):

- the two large structures around the landing site, South Pole–Aitken and the Apollo basin, at their published
  centres and diameters (depths sourced or assumed, as graded in the YAML), with raised rims, flat floors and
  Apollo's inner ring;
- a seeded crater population with a power-law size-frequency distribution calibrated to the LOLA crater count
  (N(≥20 km) = 5,185), simple and complex crater profiles with rims and ejecta (Pike 1977), each crater degraded by
  a random fraction; craters ≥ 15 km are drawn once for the globe, smaller ones per 2° tile on demand;
- fractal (value-noise) roughness.

Heights are metres above the Moon's reference sphere (``viewer.constants.MOON_RADIUS_KM``), a pure function of (lat, lon) for a given seed and version. Queries
take a ``resolution_km`` (sample spacing): craters and noise octaves smaller than about two samples are left out,
as a band-limited DEM would.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import yaml
from scipy.spatial import cKDTree

from viewer.constants import MOON_RADIUS_KM
from viewer.errors import DataError
from viewer.paths import ASSETS_DIR

VERSION = 1
SPEC_PATH = ASSETS_DIR / "terrain.yaml"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def load_spec() -> dict:
    try:
        return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{SPEC_PATH}: cannot read the illustrative-relief inputs ({exc})", path=SPEC_PATH) from None


def unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def _smoothstep(edge0, edge1, x):
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# ------------------------------------------------------------------------------------------------ profiles
def basin_profile(s, depth_m, rim_fraction, floor_fraction, rings=()) -> np.ndarray:
    """Relief (m) of a basin at normalised distance s = r/R: flat floor, wall, raised rim, ejecta, rings."""
    rim = rim_fraction * depth_m
    floor = rim - depth_m
    inside = floor + (rim - floor) * _smoothstep(floor_fraction, 1.0, s) ** 1.5
    outside = rim * np.clip(s, 1.0, None) ** -3.0 * (1.0 - _smoothstep(2.0, 3.0, s))
    z = np.where(s <= 1.0, inside, outside)
    for ring in rings:
        width = 0.06
        z = z + ring["height_fraction"] * depth_m * np.exp(-(((s - ring["radius_fraction"]) / width) ** 2))
    return z


def crater_profile(s, diameter_km, freshness) -> np.ndarray:
    """Relief (m) of a crater at s = r/R (arrays of equal shape): Pike (1977) lunar depth and rim laws."""
    d_km = np.asarray(diameter_km, dtype=float)
    simple = d_km < 15.0
    depth = np.where(simple, 0.196 * d_km, 1.044 * d_km**0.301) * 1000.0 * freshness
    rim = np.where(simple, 0.036 * d_km, 0.236 * d_km**0.399) * 1000.0 * freshness
    floor_frac = np.where(simple, 0.0, np.clip(0.2 + 0.002 * d_km, 0.2, 0.55))
    bowl = rim - depth * (1.0 - s**2)  # simple: paraboloid bowl
    t = np.clip((s - floor_frac) / np.maximum(1.0 - floor_frac, 1e-6), 0.0, 1.0)
    flat = rim - depth + depth * t * t * (3.0 - 2.0 * t)  # complex: flat floor and a terraced-looking wall
    peak = np.where((d_km >= 20.0) & (d_km < 150.0), 0.35 * depth * np.exp(-((s / 0.12) ** 2)), 0.0)
    inside = np.where(simple, bowl, flat + peak)
    outside = rim * np.clip(s, 1.0, None) ** -3.0 * (1.0 - _smoothstep(2.0, 3.0, s))
    return np.where(s <= 1.0, inside, outside)


# ---------------------------------------------------------------------------------------------- value noise
def _hash(ix, iy, iz, seed: int) -> np.ndarray:
    """Deterministic hash of integer lattice coordinates to [-1, 1) (splitmix64 finaliser)."""
    with np.errstate(over="ignore"):
        h = (ix.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        h ^= iy.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= iz.astype(np.uint64) * np.uint64(0x165667B19E3779F9)
        h ^= np.uint64(seed) * np.uint64(0x27D4EB2F165667C5)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def value_noise(points: np.ndarray, seed: int) -> np.ndarray:
    """Smooth 3-D value noise at ``points`` (N×3, lattice units), quintic interpolation, range ≈ [-1, 1]."""
    base = np.floor(points)
    f = points - base
    w = f * f * f * (f * (f * 6.0 - 15.0) + 10.0)
    b = base.astype(np.int64)
    out = np.zeros(len(points))
    for dx in (0, 1):
        wx = w[:, 0] if dx else 1.0 - w[:, 0]
        for dy in (0, 1):
            wy = w[:, 1] if dy else 1.0 - w[:, 1]
            for dz in (0, 1):
                wz = w[:, 2] if dz else 1.0 - w[:, 2]
                out += wx * wy * wz * _hash(b[:, 0] + dx, b[:, 1] + dy, b[:, 2] + dz, seed)
    return out


# ------------------------------------------------------------------------------------------------- the DEM
class IllustrativeRelief:
    """Seeded synthetic Moon with the same sampling interface as :class:`~viewer.terrain.lola.LolaDem`."""

    product = None
    source_label = "illustrative relief"
    grade = "assumed"  # not a measurement: placed and sized from sources, the rest seeded
    band_limited = True  # height_m takes the sample spacing (resolution_km)

    def __init__(self, seed: int | None = None):
        self.spec = load_spec()
        self.seed = int(self.spec["seed"] if seed is None else seed)
        self.radius_km = MOON_RADIUS_KM
        self.path = None

    def identity(self) -> str:
        return f"illustrative-v{VERSION}-spec{self.spec.get('version', 0)}-seed{self.seed}"

    def sources(self) -> list:
        """The files the relief is made from (its inputs file)."""
        return [SPEC_PATH]

    def __repr__(self) -> str:
        return f"IllustrativeRelief(seed={self.seed})"

    # ------------------------------------------------------------------------------------ crater catalogue
    def _draw_diameters(self, rng, n, d_lo, d_hi) -> np.ndarray:
        b = float(self.spec["craters"]["slope"])
        u = rng.random(n)
        return (d_lo**-b - u * (d_lo**-b - d_hi**-b)) ** (-1.0 / b)

    def _density_per_km2(self, d_lo, d_hi) -> float:
        c = self.spec["craters"]
        area = 4.0 * np.pi * self.radius_km**2
        return c["n_ge_20km"] / area * 20.0 ** c["slope"] * (d_lo ** -c["slope"] - d_hi ** -c["slope"])

    @cached_property
    def global_craters(self) -> dict:
        """Craters from ``d_split_km`` to ``d_max_km`` over the whole Moon (unit-vector centres, km, freshness)."""
        c = self.spec["craters"]
        rng = np.random.default_rng([self.seed, 0])
        area = 4.0 * np.pi * self.radius_km**2
        n = rng.poisson(self._density_per_km2(c["d_split_km"], c["d_max_km"]) * area)
        xyz = rng.normal(size=(n, 3))
        xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
        return {
            "xyz": xyz,
            "d_km": self._draw_diameters(rng, n, c["d_split_km"], c["d_max_km"]),
            "fresh": rng.uniform(*c["degradation"], n),
        }

    def tile_craters(self, i: int, j: int) -> dict:
        """Craters from ``d_min_km`` to ``d_split_km`` in tile (i, j) of ``tile_deg`` (lat band i from −90°)."""
        c = self.spec["craters"]
        step = float(c["tile_deg"])
        lat0, lon0 = -90.0 + i * step, j * step
        rng = np.random.default_rng([self.seed, 1, i, j])
        s0, s1 = np.sin(np.radians(lat0)), np.sin(np.radians(min(lat0 + step, 90.0)))
        area = self.radius_km**2 * np.radians(step) * (s1 - s0)
        n = rng.poisson(self._density_per_km2(c["d_min_km"], c["d_split_km"]) * area)
        lat = np.degrees(np.arcsin(rng.uniform(s0, s1, n)))
        lon = lon0 + rng.uniform(0.0, step, n)
        return {
            "xyz": unit_vectors(lat, lon),
            "d_km": self._draw_diameters(rng, n, c["d_min_km"], c["d_split_km"]),
            "fresh": rng.uniform(*c["degradation"], n),
        }

    def _local_craters(self, lat, lon, d_min_km: float) -> dict:
        c = self.spec["craters"]
        step = float(c["tile_deg"])
        reach_deg = np.degrees(1.5 * c["d_split_km"] / self.radius_km)  # ejecta of the largest small crater
        coslat = np.maximum(np.cos(np.radians(lat)), 0.02)
        i_lo = np.floor((lat - reach_deg + 90.0) / step).astype(int)
        i_hi = np.floor((lat + reach_deg + 90.0) / step).astype(int)
        dlon = np.minimum(reach_deg / coslat, 180.0)
        j_lo = np.floor((np.mod(lon, 360.0) - dlon) / step).astype(int)
        j_hi = np.floor((np.mod(lon, 360.0) + dlon) / step).astype(int)
        n_j = int(round(360.0 / step))
        tiles = set()
        for a, b, c_, d in zip(i_lo, i_hi, j_lo, j_hi):
            for i in range(max(a, 0), min(b, int(180 / step) - 1) + 1):
                for j in range(c_, d + 1):
                    tiles.add((i, j % n_j))
        parts = [self.tile_craters(i, j) for i, j in sorted(tiles)]
        out = {
            k: np.concatenate([p[k] for p in parts]) if parts else np.zeros((0, 3) if k == "xyz" else 0)
            for k in ("xyz", "d_km", "fresh")
        }
        keep = out["d_km"] >= d_min_km
        return {k: v[keep] for k, v in out.items()}

    def _add_craters(self, z, xyz, tree, craters) -> None:
        if not len(craters["d_km"]):
            return
        radius = craters["d_km"] / 2.0 / self.radius_km  # radians
        reach = 2.0 * np.sin(np.minimum(3.0 * radius, np.pi) / 2.0)  # chord of 3 R
        hits = tree.query_ball_point(craters["xyz"], reach)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if not counts.sum():
            return
        pts = np.fromiter((p for h in hits for p in h), dtype=np.int64, count=int(counts.sum()))
        cr = np.repeat(np.arange(len(hits)), counts)
        cosang = np.clip(np.einsum("ij,ij->i", xyz[pts], craters["xyz"][cr]), -1.0, 1.0)
        s = np.arccos(cosang) / radius[cr]
        np.add.at(z, pts, crater_profile(s, craters["d_km"][cr], craters["fresh"][cr]))

    # ------------------------------------------------------------------------------------------- sampling
    def height_m(self, lat_deg, lon_east_deg, resolution_km: float | None = None) -> np.ndarray:
        """Height (m) above the reference sphere at the points; ``resolution_km`` = sample spacing (detail cut)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_east_deg, dtype=float))
        shape = lat.shape
        lat, lon = lat.ravel(), lon.ravel()
        res = float(resolution_km) if resolution_km else float(self.spec["craters"]["d_min_km"])
        xyz = unit_vectors(lat, lon)
        z = np.zeros(len(lat))
        for basin in self.spec["basins"]:
            centre = unit_vectors(basin["lat_deg"], basin["lon_east_deg"])
            ang = np.arccos(np.clip(xyz @ centre, -1.0, 1.0))
            s = ang * self.radius_km / (basin["diameter_km"] / 2.0)
            z += basin_profile(
                s,
                basin["depth_km"] * 1000.0,
                basin["rim_height_fraction"],
                basin["floor_fraction"],
                basin.get("rings", ()),
            )
        d_min = max(2.0 * res, float(self.spec["craters"]["d_min_km"]))
        tree = cKDTree(xyz)
        g = self.global_craters
        big = g["d_km"] >= d_min
        self._add_craters(z, xyz, tree, {k: v[big] for k, v in g.items()})
        if d_min < self.spec["craters"]["d_split_km"] and len(lat):
            self._add_craters(z, xyz, tree, self._local_craters(lat, lon, d_min))
        z += self._roughness(xyz, res)
        return z.astype(np.float32).reshape(shape)

    def _roughness(self, xyz, res_km) -> np.ndarray:
        r = self.spec["roughness"]
        out = np.zeros(len(xyz))
        wavelength, amplitude, octave = float(r["longest_wavelength_km"]), float(r["amplitude_m"]), 0
        while wavelength >= 2.0 * res_km and octave < 16:
            freq = self.radius_km / wavelength  # lattice cells per radius
            out += amplitude * value_noise(xyz * freq, self.seed * 31 + octave)
            wavelength /= 2.0
            amplitude /= 2.0 ** r["hurst"]
            octave += 1
        return out

    def window(self, lat_min, lat_max, lon_min, lon_max, *, pixels_per_degree: float = 16.0):
        """A grid over the box (pixel centres at ``pixels_per_degree``); same layout as ``LolaDem.window``."""
        if lon_max < lon_min:
            lon_max += 360.0
        step = 1.0 / pixels_per_degree
        lats = np.arange(np.floor(lat_max / step - 0.5) + 0.5, np.ceil(lat_min / step - 0.5) - 0.5, -1.0) * step
        lats = lats[(lats <= lat_max) & (lats >= lat_min)]
        lons = np.arange(np.ceil(lon_min / step - 0.5) + 0.5, np.floor(lon_max / step - 0.5) + 1.0, 1.0) * step
        lons = lons[(lons >= lon_min) & (lons <= lon_max)]
        grid = np.meshgrid(lats, lons, indexing="ij")
        return lats, lons, self.height_m(*grid, resolution_km=np.radians(step) * self.radius_km)

    def resampled(self, n_lat: int, n_lon: int):
        """Global pixel-centred grid, like ``LolaDem.resampled`` (detail cut at the grid spacing)."""
        lats = 90.0 - (np.arange(n_lat) + 0.5) * 180.0 / n_lat
        lons = (np.arange(n_lon) + 0.5) * 360.0 / n_lon
        res = np.radians(180.0 / n_lat) * self.radius_km
        return lats, lons, self.height_m(*np.meshgrid(lats, lons, indexing="ij"), resolution_km=res)

    @cached_property
    def _extrema(self) -> tuple[float, float]:
        heights = self.resampled(360, 720)[2]
        return float(heights.min()), float(heights.max())

    @property
    def minimum_m(self) -> float:
        """Lowest height on a 0.5° global grid (the relief has no stored extrema)."""
        return self._extrema[0]

    @property
    def maximum_m(self) -> float:
        return self._extrema[1]
