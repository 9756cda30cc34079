"""The real ground at the landing site: LOLA windows fetched around it, and the DEM that combines them.

``python -m viewer data fetch --site`` (:func:`fetch_site`) reads, from the archive named in ``assets/lola.yaml``:

- the **site window**: ``--site-km`` (default 60) square about the landing site from the finest product that covers
  it (512 pixels per degree, ~59 m, where the archive has it; else 256, else LDEM_128), into
  ``cache_dir()/lola/site/fine.img`` + ``.lbl``;
- the **context window**: 320 km square from a coarser product (64 px/deg, ~474 m) into ``context.img``, so that the
  300 km site patch and the 150 km terrain horizon stand on measured ground beyond the site window too.

:class:`SiteDem` layers them over the global DEM (a cached LOLA product or the illustrative relief): inside a
window its pixels are used, feathered into the layer below over the window's outer tenth. It has the interface of
every DEM (``height_m``, ``identity``, ``sources``, ``source_label``) and is what :func:`viewer.terrain.select
.select_dem` returns when the site window is present, so the site patch, the shadows cast on it and the terrain
horizon of the links all come from it. Its label names the product: "LOLA 512 px/deg, 59 m".

``height_m(lat, lon, resolution_km)`` is band-limited like the illustrative relief: sampled at a spacing coarser
than its pixels, a window is first smoothed (Gaussian, FWHM ≈ the spacing), so a 2.5 km mesh shows the ground's
shape instead of aliased 59 m pixels.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from viewer.constants import MOON_RADIUS_KM
from viewer.errors import DataError
from viewer.mission import landing_site
from viewer.paths import cache_dir
from viewer.terrain import archive
from viewer.terrain.lola import LolaDem, find_key
from viewer.terrain.window import Window, fetch_window

ROLES = ("fine", "context")
KM_PER_DEG = math.pi * MOON_RADIUS_KM / 180.0
MOON_RELIEF_M = 20_000.0  # no lunar height lies this far from the reference sphere (LOLA: -9.1 … +10.8 km)


def site_dir() -> Path:
    return cache_dir() / "lola" / "site"


def metres_per_pixel(dem: LolaDem) -> float:
    scale = find_key(dem.label, "MAP_SCALE")
    if isinstance(scale, (int, float)) and scale > 0:
        return float(scale)
    return KM_PER_DEG * 1000.0 / dem.resolution


def resolution_label(dem: LolaDem) -> str:
    """ "LOLA 512 px/deg, 59 m": what the ground is, for every output."""
    return f"LOLA {dem.resolution:g} px/deg, {metres_per_pixel(dem):.0f} m"


def box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) of a ``km`` square about (lat, lon) (east longitudes, may pass 360)."""
    half_lat = km / 2.0 / KM_PER_DEG
    half_lon = half_lat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - half_lat, lat + half_lat, lon - half_lon, lon + half_lon


# ------------------------------------------------------------------------------------------------- the DEM
class _Layer:
    """One window in memory (float32 heights), sampled bilinearly, smoothed on demand."""

    def __init__(self, dem: LolaDem):
        self.dem = dem
        self.grid = dem.grid
        self.heights = dem.rows_m()
        self.pixel_km = KM_PER_DEG / dem.resolution
        self.feather_px = max(2.0, 0.1 * min(self.grid.lines, self.grid.samples) / 2.0)
        self._smoothed: dict[float, np.ndarray] = {}

    def _array(self, resolution_km: float | None) -> np.ndarray:
        if not resolution_km or resolution_km < 2.0 * self.pixel_km:
            return self.heights
        sigma = round(resolution_km / self.pixel_km / 2.355, 1)
        if sigma not in self._smoothed:
            self._smoothed[sigma] = gaussian_filter(self.heights, sigma, mode="nearest")
        return self._smoothed[sigma]

    def sample(self, lat: np.ndarray, lon: np.ndarray, resolution_km: float | None):
        """(heights, weight): weight 1 inside, falling to 0 over the feather band, 0 outside the window."""
        rows, cols = self.grid.row_of(lat), self.grid.col_of(lon)
        edge = np.minimum.reduce([rows, self.grid.lines - 1 - rows, cols, self.grid.samples - 1 - cols])
        weight = np.clip(edge / self.feather_px, 0.0, 1.0)
        h = np.zeros(lat.shape, dtype=np.float64)
        inside = weight > 0
        if inside.any():
            h[inside] = map_coordinates(
                self._array(resolution_km), [rows[inside], cols[inside]], order=1, mode="nearest"
            )
        return h, weight


class SiteDem:
    """The site and context windows over a global DEM; the interface of :class:`~viewer.terrain.lola.LolaDem`."""

    band_limited = True
    grade = "sourced"

    def __init__(self, fine: LolaDem, context: LolaDem | None, base):
        self.fine, self.context, self.base = fine, context, base
        self._layers = [_Layer(d) for d in (context, fine) if d is not None]  # coarse first
        self.path = fine.path
        self.label = fine.label
        self.resolution = fine.resolution
        self.product = str(find_key(fine.label, "SOURCE_PRODUCT_ID", fine.product))
        self.source_label = resolution_label(fine)

    def identity(self) -> str:
        parts = [d.identity() for d in (self.fine, self.context, self.base) if d is not None]
        return "site|" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def sources(self) -> list[Path]:
        out: list[Path] = []
        for d in (self.fine, self.context, self.base):
            out += list(d.sources()) if d is not None and hasattr(d, "sources") else []
        return out

    def height_m(self, lat_deg, lon_east_deg, resolution_km: float | None = None) -> np.ndarray:
        """Heights (m above the reference sphere): the finest layer holding the point, feathered at its edge.

        Layers are taken finest first; each point's remaining weight goes to the next layer, and the global DEM is
        evaluated only where some weight remains (most of a horizon sweep never reaches it)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_east_deg, dtype=float))
        shape = lat.shape
        lat, lon = lat.ravel(), lon.ravel()
        acc = np.zeros(lat.shape)
        remaining = np.ones(lat.shape)
        for layer in reversed(self._layers):
            todo = np.flatnonzero(remaining > 0)
            if not todo.size:
                break
            h, w = layer.sample(lat[todo], lon[todo], resolution_km)
            acc[todo] += remaining[todo] * w * h
            remaining[todo] *= 1.0 - w
        todo = np.flatnonzero(remaining > 0)
        if todo.size:
            if getattr(self.base, "band_limited", False):
                base = self.base.height_m(lat[todo], lon[todo], resolution_km=resolution_km)
            else:
                base = self.base.height_m(lat[todo], lon[todo])
            acc[todo] += remaining[todo] * np.asarray(base, dtype=np.float64)
        return acc.astype(np.float32).reshape(shape)

    def window(self, lat_min: float, lat_max: float, lon_min: float, lon_max: float):
        return self.fine.window(lat_min, lat_max, lon_min, lon_max)

    def resampled(self, n_lat: int, n_lon: int):
        return self.base.resampled(n_lat, n_lon)

    @property
    def minimum_m(self) -> float:
        return min(self.base.minimum_m, *(float(layer.heights.min()) for layer in self._layers))

    @property
    def maximum_m(self) -> float:
        return max(self.base.maximum_m, *(float(layer.heights.max()) for layer in self._layers))

    def describe(self) -> str:
        """One line for ``info``: the layers, their products and files."""
        km = _km(self.fine)
        text = f"{self.source_label}: a {km} km window of {self.product} about the site ({self.fine.path})"
        if self.context is not None:
            ctx = str(find_key(self.context.label, "SOURCE_PRODUCT_ID", self.context.product))
            text += f"; around it {resolution_label(self.context)} ({_km(self.context)} km of {ctx})"
        return text + f"; beyond, {self.base.source_label}"

    def __repr__(self) -> str:
        return f"SiteDem({self.product}, {self.fine.path})"


def _km(dem: LolaDem) -> str:
    km = find_key(dem.label, "WINDOW_SIZE_KM")
    return f"{km:g}" if isinstance(km, (int, float)) else "?"


def _open_role(role: str, site: tuple[float, float]) -> LolaDem | None:
    """The cached window of ``role``, if complete, readable and holding the site (else None: it is ignored)."""
    img = site_dir() / f"{role}.img"
    if not img.exists() or not img.with_suffix(".lbl").exists():
        return None
    try:
        dem = LolaDem.open(img)
    except DataError:
        return None  # incomplete or damaged: the next fetch replaces it
    rows, cols = dem.grid.row_of(site[0]), dem.grid.col_of(site[1])
    if not (1 <= rows <= dem.grid.lines - 2 and 1 <= cols <= dem.grid.samples - 2):
        return None  # a window about another site (the mission file moved it)
    return dem


_OPENED: dict[tuple, SiteDem] = {}


def open_site(base) -> SiteDem | None:
    """The :class:`SiteDem` over ``base`` when the site window is cached for the mission file's site, else None.

    One per state of the files (paths, sizes, modification times), the site and the base: the windows are read
    into memory once, not on every call."""
    site = landing_site()
    files = [site_dir() / f"{role}.{ext}" for role in ROLES for ext in ("img", "lbl")]
    key = (site, base.identity(), tuple((str(f), *_stamp(f)) for f in files))
    if key in _OPENED:
        return _OPENED[key]
    fine = _open_role("fine", site)
    dem = SiteDem(fine, _open_role("context", site), base) if fine is not None else None
    if dem is not None:
        _OPENED.clear()  # the windows of an older state are not used again
        _OPENED[key] = dem
    return dem


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


# ------------------------------------------------------------------------------------------------ fetching
def window_present(role: str, win: Window) -> bool:
    """True when the cached ``role`` window is this very window, complete and readable."""
    img = site_dir() / f"{role}.img"
    if not img.exists():
        return False
    try:
        dem = LolaDem.open(img)
    except DataError:
        return False
    return (
        find_key(dem.label, "SOURCE_FILE_URL") == win.remote.image_url
        and find_key(dem.label, "SOURCE_LINE_FIRST_PIXEL") == win.line0 + 1
        and find_key(dem.label, "SOURCE_SAMPLE_FIRST_PIXEL") == win.sample0 + 1
        and (dem.grid.lines, dem.grid.samples) == (win.lines, win.samples)
    )


def _check_reference(remote) -> None:
    """The label's OFFSET is the Moon's reference radius, and its SCALING_FACTOR turns its MINIMUM … MAXIMUM into
    heights the Moon has (within ±MOON_RELIEF_M); else its heights would be wrong, so nothing is fetched."""
    lay = remote.layout
    if abs(lay.offset - MOON_RADIUS_KM * 1000.0) > 0.5 or lay.scale <= 0:
        raise DataError(
            f"{remote.product.label_url}: OFFSET {lay.offset:g} m and SCALING_FACTOR {lay.scale:g} are not heights "
            f"above the Moon's {MOON_RADIUS_KM * 1000:g} m reference sphere; this is not a LOLA height product",
            path=remote.product.label_url,
        )
    if lay.dn_range is not None and max(abs(v) for v in lay.dn_range) * lay.scale > MOON_RELIEF_M:
        lo, hi = (v * lay.scale for v in lay.dn_range)
        raise DataError(
            f"{remote.product.label_url}: SCALING_FACTOR {lay.scale:g} makes its MINIMUM … MAXIMUM {lo:g} … {hi:g} m, "
            f"beyond any lunar height (±{MOON_RELIEF_M / 1000:g} km); the label's scaling is wrong, nothing was fetched",
            path=remote.product.label_url,
        )


def plan(km: float | None = None, *, refresh_index: bool = False, resolutions=None, stats=None) -> list[Window]:
    """The windows to fetch (site first, then context), from the archive's index and the products' labels."""
    cfg = archive.site_config()
    km = float(km or cfg.get("default_km", 60))
    if not 1.0 <= km <= 500.0:
        raise DataError(f"--site-km {km:g}: choose a window side between 1 and 500 km")
    lat, lon = landing_site()
    catalogue = archive.products(refresh=refresh_index, stats=stats)
    order = [float(r) for r in (resolutions or cfg.get("resolutions", [512, 256, 128]))]
    found = archive.choose(catalogue, box(lat, lon, km), order, stats=stats)
    if found is None:
        names = ", ".join(f"{r:g}" for r in order)
        raise DataError(
            f"{archive.volume_url()}: no product in the archive's index covers the {km:g} km window about the site "
            f"at {names} px/deg; check volume_url in assets/lola.yaml",
            path=archive.volume_url(),
        )
    windows = [Window(found[0], *found[1])]
    ctx_km = float(cfg.get("context_km", 320))
    if ctx_km > km:
        target = float(cfg.get("context_resolution", 64))
        coarser = {p.resolution for p in catalogue if p.resolution < found[0].layout.grid.resolution}
        ranked = sorted(coarser, key=lambda r: (abs(math.log2(r / target)), -r))
        ctx = archive.choose(catalogue, box(lat, lon, ctx_km), ranked, stats=stats)
        if ctx is not None:
            windows.append(Window(ctx[0], *ctx[1]))
    for win in windows:
        _check_reference(win.remote)
        limit = int(cfg.get("max_bytes", 64 << 20))
        if win.nbytes > limit:
            raise DataError(
                f"{win.remote.product.label_url}: the window would be {win.nbytes / 1e6:.0f} MB (over max_bytes "
                f"{limit / 1e6:.0f} MB in assets/lola.yaml); choose a smaller --site-km",
                path=win.remote.product.label_url,
            )
    return windows


def fetch_site(
    km: float | None = None,
    *,
    retries: int = 3,
    progress: bool = True,
    stream=None,
    refresh_index: bool = False,
    resolutions=None,
    stats: dict | None = None,
) -> tuple[list[Path], list[str]]:
    """Fetch the site (and context) windows into ``site_dir()``. Returns (image paths, notes for the user)."""
    stream = stream or sys.stderr
    stats = stats if stats is not None else {}
    cfg = archive.site_config()
    km = float(km or cfg.get("default_km", 60))
    windows = plan(km, refresh_index=refresh_index, resolutions=resolutions, stats=stats)
    return fetch_windows(windows, km, retries=retries, progress=progress, stream=stream, stats=stats)


def fetch_windows(windows, km: float, *, retries=3, progress=True, stream=None, stats=None):
    """Fetch planned windows (see :func:`plan`); returns (image paths, notes)."""
    stats = stats if stats is not None else {}
    cfg = archive.site_config()
    lat, lon = landing_site()
    paths, notes = [], []
    for role, win in zip(ROLES, windows):
        side = km if role == "fine" else float(cfg.get("context_km", 320))
        extra = {"VIEWER_WINDOW_ROLE": role.upper(), "SITE_LATITUDE": lat, "SITE_LONGITUDE": lon}
        extra["WINDOW_SIZE_KM"] = side
        dest = site_dir() / f"{role}.img"
        before = stats.get("requests", 0)
        if window_present(role, win):
            paths.append(dest)
            notes.append(f"{dest.name}: already here ({win.remote.product.name}, verified when it was fetched)")
            continue
        fetch_window(
            win,
            dest,
            retries=retries,
            connections=int(cfg.get("connections", 4)),
            ranges_per_request=int(cfg.get("ranges_per_request", 64)),
            progress=progress,
            stream=stream,
            stats=stats,
            extra=extra,
        )
        dem = LolaDem.open(dest)
        paths.append(dest)
        notes.append(
            f"{dest.name}: {win.lines} × {win.samples} px ({win.nbytes / 1e6:.2f} MB) of {win.remote.product.name}, "
            f"{resolution_label(dem)}; {stats.get('requests', 0) - before} Range answers checked (Content-Range, "
            f"file size {win.remote.layout.file_size} B per the label), values within the label's range"
        )
    if len(windows) < 2 and (site_dir() / "context.img").exists():
        (site_dir() / "context.img").unlink()
        (site_dir() / "context.lbl").unlink(missing_ok=True)
    return paths, notes
