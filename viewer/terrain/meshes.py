"""Meshes of the Moon (globe and landing-site patch) and of the Earth, with texture coordinates; cached on disk.

Frames and units (see the package docstring):

- globe: km, Moon body-fixed (MOON_ME; the LOLA frame "mean Earth/polar axis of DE421"), +x at lon 0°, +z north;
  radius = ``MOON_RADIUS_KM`` (``viewer.constants``) + height × exaggeration.
- site patch: metres, local ENU about the landing site's surface point (x east, y north, z up; the site is the
  origin, so the lander stands at z ≈ 0). True 3-D: the patch curves down with the Moon (≈ 6.5 km at 150 km).
- Earth: km, ITRF93, the ellipsoid of ``viewer.constants`` (equatorial and polar radii), geodetic latitudes for the
  texture.

Meshes are built with numpy, processed with trimesh (merged seam/pole vertices for smooth normals) and handed out as
``pyvista.PolyData`` with texture coordinates (WAC albedo for the Moon, Blue Marble for the Earth), point data
``height_m`` and ``Normals``. Built meshes are cached through :mod:`viewer.cache` (kind ``meshes``), keyed over their
inputs (DEM identity, LOD, exaggeration, patch size, the site, :data:`CODE_VERSION`) and the source files: this
package's code and the files the DEM was read from (the LOLA image and label, or ``assets/terrain.yaml``). The
texture files are not inputs: a mesh carries texture coordinates, not texels.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer import cache
from viewer.constants import EARTH_EQUATORIAL_RADIUS_KM as EARTH_A_KM
from viewer.constants import EARTH_POLAR_RADIUS_KM as EARTH_B_KM
from viewer.constants import MOON_RADIUS_KM
from viewer.mission import landing_site
from viewer.terrain.select import global_dem, select_dem
from viewer.terrain.synthetic import unit_vectors
from viewer.terrain.textures import uv_of

CODE_VERSION = 2  # 2: lighter browser LODs (web scene ≈ 95k triangles in all)
PACKAGE_DIR = Path(__file__).resolve().parent

# "browser": the web scene (≈ 100k triangles in all with the spacecraft, design rule 7) and fast frames up to 1080p
# (a 53k-triangle Moon with the WAC texture looks the same there as the 99k one; measured 2026-11-25);
# "export": stills and 4K frames.
GLOBE_LOD = {"browser": (116, 232), "export": (360, 720)}  # (latitude bands, longitude bands): 53,360 / 516,960 tris
SITE_LOD = {"browser": 121, "export": 401}  # nodes per side: 28,800 / 320,000 triangles
EARTH_LOD = {"browser": (48, 96), "export": (180, 360)}  # 9,024 / 128,880 triangles


@dataclass
class MeshData:
    """Arrays of one mesh: float32 points/tcoords/normals/heights, int32 triangle indices."""

    points: np.ndarray
    faces: np.ndarray
    tcoords: np.ndarray
    heights_m: np.ndarray
    normals: np.ndarray
    meta: dict = field(default_factory=dict)

    def to_pyvista(self):
        import pyvista as pv

        mesh = pv.PolyData.from_regular_faces(self.points, self.faces)
        mesh.active_texture_coordinates = self.tcoords
        mesh.point_data["height_m"] = self.heights_m
        mesh.point_data["Normals"] = self.normals
        mesh.point_data.active_normals_name = "Normals"
        for key, value in self.meta.items():
            mesh.field_data[key] = [str(value)]
        return mesh

    def payload_bytes(self, normals: bool = False) -> int:
        """What a browser downloads for the geometry: float32 points + int32 faces + float32 tcoords (+ normals)."""
        n = len(self.points)
        return n * 12 + len(self.faces) * 12 + n * 8 + (n * 12 if normals else 0)


# ----------------------------------------------------------------------------------------------- caching
_ARRAYS = ("points", "faces", "tcoords", "heights_m", "normals")


def dem_sources(dem) -> list[Path]:
    """The files a DEM was read from (``dem.sources()`` where it has one): part of every mesh's cache key."""
    sources = getattr(dem, "sources", None)
    return list(sources()) if callable(sources) else []


def _cached(name: str, inputs: dict, sources: list[Path], build, use_cache: bool) -> MeshData:
    """``build()``, or its result read from the cache entry (kind ``meshes``) keyed over inputs and sources."""
    if not use_cache:
        return build()
    key = cache.make_key({**inputs, "code": CODE_VERSION}, [PACKAGE_DIR, *sources])
    hit = cache.read_arrays("meshes", name, key)
    if hit is not None and all(k in hit for k in (*_ARRAYS, "meta")):
        return MeshData(*(hit[k] for k in _ARRAYS), json.loads(str(hit["meta"])))
    data = build()
    arrays = {k: getattr(data, k) for k in _ARRAYS}
    cache.write_arrays("meshes", name, key, {**arrays, "meta": np.array(json.dumps(data.meta))})
    return data


# ---------------------------------------------------------------------------------------- construction
def _grid_faces(n_rows: int, n_cols: int, *, poles: bool) -> np.ndarray:
    """Triangles of an (n_rows × n_cols) vertex grid; with ``poles`` the first/last rows are single points."""
    i, j = np.meshgrid(np.arange(n_rows - 1), np.arange(n_cols - 1), indexing="ij")
    a = i * n_cols + j
    b, c, d = a + 1, a + n_cols + 1, a + n_cols
    upper = np.stack([a, d, c], axis=-1)  # a–d–c and a–c–b: counter-clockwise seen from outside/above
    lower = np.stack([a, c, b], axis=-1)
    if not poles:
        return np.concatenate([upper.reshape(-1, 3), lower.reshape(-1, 3)]).astype(np.int32)
    keep_upper = np.ones(upper.shape[:2], bool)
    keep_lower = np.ones(lower.shape[:2], bool)
    keep_lower[0] = False  # a and b both on the north pole
    keep_upper[-1] = False  # d and c both on the south pole
    return np.concatenate([upper[keep_upper], lower[keep_lower]]).astype(np.int32)


def _smooth_normals(points: np.ndarray, faces: np.ndarray, same_as: np.ndarray) -> np.ndarray:
    """Vertex normals by trimesh, with coincident vertices (seam column, pole rows) merged via ``same_as``."""
    import trimesh

    merged = trimesh.Trimesh(vertices=points, faces=same_as[faces], process=False)
    normals = np.asarray(merged.vertex_normals)[same_as]
    return normals.astype(np.float32)


def _lonlat_grid(n_lat: int, n_lon: int):
    lats = np.linspace(90.0, -90.0, n_lat + 1)
    lons = np.linspace(0.0, 360.0, n_lon + 1)
    return np.meshgrid(lats, lons, indexing="ij")


def _seam_pole_map(n_rows: int, n_cols: int) -> np.ndarray:
    idx = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    idx[:, -1] = idx[:, 0]
    idx[0, :] = idx[0, 0]
    idx[-1, :] = idx[-1, 0]
    return idx.ravel()


def _sample(dem, lat, lon, resolution_km: float) -> np.ndarray:
    if getattr(dem, "band_limited", False):
        return dem.height_m(lat, lon, resolution_km=resolution_km)
    return dem.height_m(lat, lon)


def build_globe(dem, lod: str = "browser", exaggeration: float = 1.0) -> MeshData:
    n_lat, n_lon = GLOBE_LOD[lod]
    lat, lon = _lonlat_grid(n_lat, n_lon)
    heights = _sample(dem, lat, lon, np.radians(180.0 / n_lat) * MOON_RADIUS_KM).astype(np.float32)
    heights[0, :] = heights[0].mean()
    heights[-1, :] = heights[-1].mean()
    heights[:, -1] = heights[:, 0]
    radius = MOON_RADIUS_KM + heights.astype(np.float64) * exaggeration / 1000.0
    points = (unit_vectors(lat, lon) * radius[..., None]).reshape(-1, 3)
    faces = _grid_faces(n_lat + 1, n_lon + 1, poles=True)
    return MeshData(
        points.astype(np.float32),
        faces,
        uv_of(lat, lon).reshape(-1, 2).astype(np.float32),
        heights.ravel(),
        _smooth_normals(points, faces, _seam_pole_map(n_lat + 1, n_lon + 1)),
        {
            "body": "MOON",
            "frame": "MOON_ME",
            "units": "km",
            "lod": lod,
            "exaggeration": exaggeration,
            "source_label": dem.source_label,
            "texture": "moon",
        },
    )


def enu_basis(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Rows: east, north, up unit vectors (body-fixed) at a planetocentric lat/lon."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return np.stack([east, north, up])


def build_site_patch(
    dem,
    lod: str = "browser",
    exaggeration: float = 1.0,
    size_km: float = 300.0,
    site: tuple[float, float] | None = None,
) -> MeshData:
    site_lat, site_lon = site or landing_site()
    n = SITE_LOD[lod]
    basis = enu_basis(site_lat, site_lon)
    half = size_km / 2.0
    x, y = np.meshgrid(np.linspace(-half, half, n), np.linspace(half, -half, n), indexing="xy")  # row 0 = north
    plane = MOON_RADIUS_KM * basis[2] + x[..., None] * basis[0] + y[..., None] * basis[1]
    dirs = plane / np.linalg.norm(plane, axis=-1, keepdims=True)
    lat = np.degrees(np.arcsin(np.clip(dirs[..., 2], -1, 1)))
    lon = np.mod(np.degrees(np.arctan2(dirs[..., 1], dirs[..., 0])), 360.0)
    heights = _sample(dem, lat, lon, size_km / (n - 1)).astype(np.float32)
    site_h = float(np.asarray(_sample(dem, np.array([site_lat]), np.array([site_lon]), size_km / (n - 1)))[0])
    radius_m = MOON_RADIUS_KM * 1000.0 + heights.astype(np.float64) * exaggeration
    surface = dirs * radius_m[..., None]
    origin = basis[2] * (MOON_RADIUS_KM * 1000.0 + site_h * exaggeration)
    enu = (surface - origin) @ basis.T
    points = enu.reshape(-1, 3)
    faces = _grid_faces(n, n, poles=False)
    return MeshData(
        points.astype(np.float32),
        faces,
        uv_of(lat, lon).reshape(-1, 2).astype(np.float32),
        heights.ravel(),
        _smooth_normals(points, faces, np.arange(len(points))),
        {
            "body": "MOON",
            "frame": "CHANGE6_TOPO (ENU at the site)",
            "units": "m",
            "lod": lod,
            "exaggeration": exaggeration,
            "size_km": size_km,
            "site_lat_deg": site_lat,
            "site_lon_east_deg": site_lon,
            "site_height_m": site_h,
            "source_label": dem.source_label,
            "texture": "moon",
        },
    )


def build_earth(lod: str = "browser") -> MeshData:
    n_lat, n_lon = EARTH_LOD[lod]
    lat, lon = _lonlat_grid(n_lat, n_lon)
    phi, lam = np.radians(lat), np.radians(lon)
    e2 = 1.0 - (EARTH_B_KM / EARTH_A_KM) ** 2
    N = EARTH_A_KM / np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    points = np.stack(
        [N * np.cos(phi) * np.cos(lam), N * np.cos(phi) * np.sin(lam), N * (1 - e2) * np.sin(phi)], axis=-1
    ).reshape(-1, 3)
    faces = _grid_faces(n_lat + 1, n_lon + 1, poles=True)
    return MeshData(
        points.astype(np.float32),
        faces,
        uv_of(lat, lon).reshape(-1, 2).astype(np.float32),
        np.zeros(len(points), np.float32),
        _smooth_normals(points, faces, _seam_pole_map(n_lat + 1, n_lon + 1)),
        {"body": "EARTH", "frame": "ITRF93", "units": "km", "lod": lod, "texture": "earth"},
    )


# -------------------------------------------------------------------------------------------- public API
def globe_data(lod: str = "browser", exaggeration: float = 1.0, dem=None, use_cache: bool = True) -> MeshData:
    dem = getattr(dem, "base", dem) if dem is not None else global_dem()  # the globe: the global DEM only
    inputs = {"dem": dem.identity(), "lod": lod, "exaggeration": float(exaggeration)}
    name = f"moon-globe-{lod}-x{exaggeration:g}"
    return _cached(name, inputs, dem_sources(dem), lambda: build_globe(dem, lod, exaggeration), use_cache)


def site_data(
    lod: str = "browser", exaggeration: float = 1.0, size_km: float = 300.0, dem=None, use_cache: bool = True
) -> MeshData:
    dem = dem or select_dem()
    site = landing_site()
    inputs = {
        "dem": dem.identity(),
        "lod": lod,
        "exaggeration": float(exaggeration),
        "size_km": float(size_km),
        "site": list(site),
    }
    name = f"moon-site-{lod}-x{exaggeration:g}-{size_km:g}km"
    build = functools.partial(build_site_patch, dem, lod, exaggeration, size_km, site)
    return _cached(name, inputs, dem_sources(dem), build, use_cache)


def earth_data(lod: str = "browser", use_cache: bool = True) -> MeshData:
    return _cached(f"earth-{lod}", {"lod": lod}, [], lambda: build_earth(lod), use_cache)


def globe_mesh(lod: str = "browser", exaggeration: float = 1.0, dem=None, use_cache: bool = True):
    """The Moon as ``pyvista.PolyData`` (km, MOON_ME), WAC texture coordinates; ``lod`` "browser" or "export"."""
    return globe_data(lod, exaggeration, dem, use_cache).to_pyvista()


def site_patch(
    lod: str = "browser", exaggeration: float = 1.0, size_km: float = 300.0, dem=None, use_cache: bool = True
):
    """The landing-site patch as ``pyvista.PolyData`` (m, ENU about the site's surface point)."""
    return site_data(lod, exaggeration, size_km, dem, use_cache).to_pyvista()


def earth_mesh(lod: str = "browser", use_cache: bool = True):
    """The Earth ellipsoid as ``pyvista.PolyData`` (km, ITRF93), Blue Marble texture coordinates."""
    return earth_data(lod, use_cache).to_pyvista()
