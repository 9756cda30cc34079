"""Reader of LOLA Gridded Data Record DEMs (PDS3, simple cylindrical): LDEM_4, LDEM_16, LDEM_64, LDEM_128 …

Everything the reader does is driven by the detached PDS3 label (``LDEM_n.LBL`` beside ``LDEM_n.IMG``):
the sample type and size, the scaling, the grid size and the map-projection keys. The image is opened as a
:class:`numpy.memmap`; windows, point samples and resampled grids read only the pages they touch, so the 530 MB
LDEM_64 is never loaded whole.

Heights are in metres above the label's reference sphere (``OFFSET``, ``viewer.constants.MOON_RADIUS_KM`` for LOLA), longitudes are
planetocentric east-positive in degrees (any value; wrapped to the product's range), latitudes planetocentric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.errors import DataError

_DTYPES = {
    ("LSB_INTEGER", 8): "i1",
    ("MSB_INTEGER", 8): "i1",
    ("UNSIGNED_INTEGER", 8): "u1",
    ("LSB_UNSIGNED_INTEGER", 8): "u1",
    ("MSB_UNSIGNED_INTEGER", 8): "u1",
    ("LSB_INTEGER", 16): "<i2",
    ("MSB_INTEGER", 16): ">i2",
    ("LSB_UNSIGNED_INTEGER", 16): "<u2",
    ("MSB_UNSIGNED_INTEGER", 16): ">u2",
    ("LSB_INTEGER", 32): "<i4",
    ("MSB_INTEGER", 32): ">i4",
    ("PC_REAL", 32): "<f4",
    ("IEEE_REAL", 32): ">f4",
    ("PC_REAL", 64): "<f8",
    ("IEEE_REAL", 64): ">f8",
}

_POINT_CHUNK = 2048  # scattered point samples per map: the kernel may map a large folio per fault, so keep it small
_ROW_CHUNK = 256  # resampled rows per map

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# --------------------------------------------------------------------------------------------------- label
def _value(raw: str):
    """One PDS3 value: number (units in <…> dropped), quoted string, symbol or {…}/(…) list."""
    raw = raw.strip()
    if raw[:1] in "{(" and raw[-1:] in "})":
        return [_value(part) for part in _split_list(raw[1:-1])]
    if raw[:1] == '"' and raw[-1:] == '"':
        return " ".join(raw[1:-1].split())
    if raw[:1] == "'" and raw[-1:] == "'":
        return raw[1:-1]
    unitless = re.sub(r"<[^>]*>\s*$", "", raw).strip()
    if _NUMBER.match(unitless):
        number = float(unitless)
        return int(number) if re.match(r"^[+-]?\d+$", unitless) else number
    return raw


def _split_list(body: str) -> list[str]:
    parts, depth, current, quoted = [], 0, [], False
    for char in body:
        if char == '"':
            quoted = not quoted
        if not quoted and char in "{(":
            depth += 1
        elif not quoted and char in "})":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def parse_label(text: str, *, path=None) -> dict:
    """Parse PDS3 label text into nested dicts (``OBJECT = X`` … ``END_OBJECT`` becomes ``label["X"]``)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    root: dict = {}
    stack = [root]
    statements: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and not line.strip():
            continue
        pending = f"{pending}\n{line}" if pending else line
        # a statement continues while a quote or a brace is open
        if (
            pending.count('"') % 2 == 1
            or pending.count("{") > pending.count("}")
            or pending.count("(") > pending.count(")")
        ):
            continue
        statements.append(pending)
        pending = ""
    for statement in statements:
        stripped = statement.strip()
        if stripped == "END":
            break
        if "=" not in stripped:
            continue
        key, raw = stripped.split("=", 1)
        key = key.strip()
        if key == "OBJECT" or key == "GROUP":
            child: dict = {}
            name = str(_value(raw))
            stack[-1].setdefault(name, child)
            stack.append(child)
        elif key in ("END_OBJECT", "END_GROUP"):
            if len(stack) == 1:
                raise DataError(f"{path}: unbalanced {key} in PDS3 label; the label is corrupt", path=path)
            stack.pop()
        else:
            stack[-1][key] = _value(raw)
    if len(stack) != 1:
        raise DataError(f"{path}: PDS3 label ends inside an OBJECT; the label is truncated", path=path)
    return root


def find_key(label: dict, key: str, default=None):
    """The first value of ``key`` in a nested label, searched depth-first (top level first)."""
    if key in label:
        return label[key]
    for value in label.values():
        if isinstance(value, dict):
            found = find_key(value, key, None)
            if found is not None:
                return found
    return default


def label_path_for(img_path: Path) -> Path:
    """The detached label beside ``img_path``: same stem, extension ``.lbl`` in any case."""
    img_path = Path(img_path)
    if img_path.suffix.lower() == ".lbl":
        return img_path
    stem = img_path.stem.lower()
    if img_path.parent.is_dir():
        for candidate in sorted(img_path.parent.iterdir()):
            if candidate.suffix.lower() == ".lbl" and candidate.stem.lower() == stem:
                return candidate
    raise DataError(
        f"{img_path}: no PDS3 label {img_path.stem}.LBL beside it; download the .LBL with the .IMG", path=img_path
    )


def _img_path_for(lbl_path: Path, label: dict) -> Path:
    pointer = find_key(label, "^IMAGE")
    name = pointer[0] if isinstance(pointer, list) else pointer
    if not isinstance(name, str):
        name = find_key(label, "FILE_NAME")
    if not isinstance(name, str):
        raise DataError(
            f"{lbl_path}: the label names no image file (^IMAGE); it is not a LOLA GDR label", path=lbl_path
        )
    for candidate in sorted(lbl_path.parent.iterdir()):
        if candidate.name.lower() == name.lower():
            return candidate
    raise DataError(f"{lbl_path.parent / name}: image file named by {lbl_path.name} is missing", path=lbl_path)


# ----------------------------------------------------------------------------------------------------- DEM
@dataclass(frozen=True)
class Grid:
    """Simple-cylindrical geometry of a product, from the label (0-based pixel-centre indices)."""

    lines: int
    samples: int
    resolution: float  # pixels per degree
    line_offset: float  # LINE_PROJECTION_OFFSET
    sample_offset: float  # SAMPLE_PROJECTION_OFFSET
    center_lon: float
    west_lon: float
    max_lat: float
    min_lat: float

    @property
    def is_global_lon(self) -> bool:
        return abs(self.samples / self.resolution - 360.0) < 1e-6

    def row_of(self, lat):
        """Fractional 0-based line index of the pixel centres (PDS: LINE = LPO − lat·res)."""
        return self.line_offset - np.asarray(lat, dtype=float) * self.resolution

    def col_of(self, lon):
        """Fractional 0-based sample index (PDS: SAMPLE = SPO + (lon − CENTER_LONGITUDE)·res), lon wrapped."""
        lon = np.asarray(lon, dtype=float)
        lon = self.west_lon + np.mod(lon - self.west_lon, 360.0)
        return self.sample_offset + (lon - self.center_lon) * self.resolution

    def lat_of(self, row):
        return (self.line_offset - np.asarray(row, dtype=float)) / self.resolution

    def lon_of(self, col):
        return self.center_lon + (np.asarray(col, dtype=float) - self.sample_offset) / self.resolution


@dataclass(frozen=True)
class Layout:
    """What a label says about its image: sample type, scaling, grid, where the image starts and the file's size."""

    dtype: np.dtype
    scale: float  # SCALING_FACTOR: metres per DN
    offset: float  # OFFSET: the reference radius, m (not added to heights)
    grid: Grid
    byte_offset: int  # where line 0 starts in the file
    file_size: int  # bytes the label says the file has
    product: str | None  # PRODUCT_ID
    dn_range: tuple[float, float] | None  # MINIMUM, MAXIMUM (DN), where the label gives them

    @property
    def row_bytes(self) -> int:
        return self.grid.samples * self.dtype.itemsize


def _need(obj: dict, key: str, where):
    value = find_key(obj, key)
    if value is None:
        raise DataError(f"{where}: label key {key} is missing; the label is not a LOLA GDR label", path=where)
    return value


def layout_of(label: dict, where, image_name: str = "the image") -> Layout:
    """The :class:`Layout` of a parsed label; ``where`` (the label's path or URL) names it in errors."""
    image = find_key(label, "IMAGE") if isinstance(find_key(label, "IMAGE"), dict) else label
    proj = find_key(label, "IMAGE_MAP_PROJECTION")
    if not isinstance(proj, dict):
        raise DataError(f"{where}: no IMAGE_MAP_PROJECTION object; not a LOLA GDR label", path=where)
    sample_type = str(_need(image, "SAMPLE_TYPE", where)).strip('"').upper()
    bits = int(_need(image, "SAMPLE_BITS", where))
    try:
        dtype = np.dtype(_DTYPES[(sample_type, bits)])
    except KeyError:
        raise DataError(f"{where}: unsupported SAMPLE_TYPE {sample_type} with SAMPLE_BITS {bits}", path=where) from None
    lines, samples = int(_need(image, "LINES", where)), int(_need(image, "LINE_SAMPLES", where))
    projection = str(_need(proj, "MAP_PROJECTION_TYPE", where)).upper()
    if projection not in ("SIMPLE CYLINDRICAL", "EQUIRECTANGULAR"):
        raise DataError(f"{where}: MAP_PROJECTION_TYPE {projection} is not simple cylindrical", path=where)
    grid = Grid(
        lines=lines,
        samples=samples,
        resolution=float(_need(proj, "MAP_RESOLUTION", where)),
        line_offset=float(_need(proj, "LINE_PROJECTION_OFFSET", where)),
        sample_offset=float(_need(proj, "SAMPLE_PROJECTION_OFFSET", where)),
        center_lon=float(_need(proj, "CENTER_LONGITUDE", where)),
        west_lon=float(find_key(proj, "WESTERNMOST_LONGITUDE", 0.0)),
        max_lat=float(find_key(proj, "MAXIMUM_LATITUDE", 90.0)),
        min_lat=float(find_key(proj, "MINIMUM_LATITUDE", -90.0)),
    )
    # the record layout must agree with the image
    record_bytes, file_records = find_key(label, "RECORD_BYTES"), find_key(label, "FILE_RECORDS")
    row_bytes = samples * dtype.itemsize
    if record_bytes is not None and int(record_bytes) != row_bytes:
        raise DataError(
            f"{where}: RECORD_BYTES {record_bytes} disagrees with LINE_SAMPLES {samples} × {bits} bits "
            f"= {row_bytes} bytes; the label does not describe {image_name}",
            path=where,
        )
    pointer = find_key(label, "^IMAGE")
    start_record = int(pointer[1]) if isinstance(pointer, list) and len(pointer) > 1 else 1
    byte_offset = (start_record - 1) * int(record_bytes or row_bytes)
    expected = byte_offset + lines * row_bytes
    if file_records is not None and record_bytes is not None:
        expected = max(expected, int(file_records) * int(record_bytes))
    product = find_key(label, "PRODUCT_ID")
    minimum, maximum = find_key(image, "MINIMUM"), find_key(image, "MAXIMUM")
    numbers = isinstance(minimum, (int, float)) and isinstance(maximum, (int, float))
    return Layout(
        dtype=dtype,
        scale=float(find_key(image, "SCALING_FACTOR", 1.0)),
        offset=float(find_key(image, "OFFSET", 0.0)),
        grid=grid,
        byte_offset=byte_offset,
        file_size=expected,
        product=str(product) if product else None,
        dn_range=(float(minimum), float(maximum)) if numbers else None,
    )


class LolaDem:
    """A LOLA GDR DEM opened through a memory map. Build it with :meth:`open`."""

    grade = "sourced"  # measured heights, from the archive

    def __init__(self, img_path: Path, lbl_path: Path, label: dict):
        self.path = Path(img_path)
        self.label_path = Path(lbl_path)
        self.label = label
        layout = layout_of(label, lbl_path, self.path.name)
        self.layout = layout
        self.dtype, self.scale, self.offset, self.grid = layout.dtype, layout.scale, layout.offset, layout.grid
        self.byte_offset = layout.byte_offset
        expected, actual = layout.file_size, self.path.stat().st_size
        if actual != expected:
            what = "truncated (an interrupted download?)" if actual < expected else "larger than its label says"
            raise DataError(
                f"{self.path}: {actual} bytes but the label {self.label_path.name} says {expected}; the file is {what}. "
                "Delete it and run `python -m viewer data fetch` again",
                path=self.path,
            )
        self.product = layout.product or self.path.stem.upper()
        self.source_label = f"LOLA {self.product}"
        lo_hi = layout.dn_range
        self._extrema = (lo_hi[0] * self.scale, lo_hi[1] * self.scale) if lo_hi else None

    # -------------------------------------------------------------------------------------------- opening
    @classmethod
    def open(cls, path) -> LolaDem:
        """Open ``LDEM_n.IMG`` (or its ``.LBL``); the label is found beside it whatever the case of its name."""
        path = Path(path).expanduser()
        if not path.exists():
            raise DataError(f"{path}: DEM file not found", path=path)
        lbl_path = label_path_for(path)
        try:
            text = lbl_path.read_text(encoding="latin-1")
        except OSError as exc:
            raise DataError(f"{lbl_path}: cannot read the PDS3 label ({exc.strerror})", path=lbl_path) from None
        label = parse_label(text, path=lbl_path)
        img_path = path if path.suffix.lower() != ".lbl" else _img_path_for(lbl_path, label)
        return cls(img_path, lbl_path, label)

    # -------------------------------------------------------------------------------------------- facts
    @property
    def resolution(self) -> float:
        """Pixels per degree."""
        return self.grid.resolution

    @property
    def minimum_m(self) -> float:
        return self._scan_extrema()[0] if self._extrema is None else self._extrema[0]

    @property
    def maximum_m(self) -> float:
        return self._scan_extrema()[1] if self._extrema is None else self._extrema[1]

    def identity(self) -> str:
        """A string that changes when the file changes (path, size, mtime): the key of cached meshes."""
        st = self.path.stat()
        return f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def sources(self) -> list[Path]:
        """The files the heights are read from (cache keys hash their size and modification time)."""
        return [self.path, self.label_path]

    def _scan_extrema(self) -> tuple[float, float]:
        """Min and max heights read from the data in bounded chunks (used when the label lacks them)."""
        lo, hi = np.inf, -np.inf
        step = max(1, (16 << 20) // (self.grid.samples * self.dtype.itemsize))
        for row in range(0, self.grid.lines, step):
            block = self._read_rows(row, min(self.grid.lines, row + step))
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
        self._extrema = (lo * self.scale, hi * self.scale)
        return self._extrema

    def _read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) read with ordinary file I/O (no lasting mapping), raw DN."""
        count = (stop - start) * self.grid.samples
        with open(self.path, "rb") as fh:
            fh.seek(self.byte_offset + start * self.grid.samples * self.dtype.itemsize)
            block = np.fromfile(fh, dtype=self.dtype, count=count)
        return block.reshape(stop - start, self.grid.samples)

    def rows_m(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Heights (m, float32) of the lines [start, stop) in full, read with ordinary file I/O."""
        return self._heights(self._read_rows(start, self.grid.lines if stop is None else stop))

    def _map(self) -> np.memmap:
        """A fresh read-only map of the image. Callers drop it when done: unmapping returns the touched pages,
        so scattered reads cost memory only for the duration of one chunk."""
        return np.memmap(
            self.path, dtype=self.dtype, mode="r", offset=self.byte_offset, shape=(self.grid.lines, self.grid.samples)
        )

    def _heights(self, raw) -> np.ndarray:
        return np.asarray(raw, dtype=np.float32) * np.float32(self.scale)

    def __repr__(self) -> str:
        return f"LolaDem({self.product}, {self.grid.samples}×{self.grid.lines}, {self.path})"

    # ---------------------------------------------------------------------------------------- sampling
    def _wrap_cols(self, cols):
        if self.grid.is_global_lon:
            return np.mod(cols, self.grid.samples)
        return np.clip(cols, 0, self.grid.samples - 1)

    def height_m(self, lat_deg, lon_east_deg) -> np.ndarray:
        """Height above the reference sphere (m), bilinear between pixel centres; vectorised, any shape."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_east_deg, dtype=float))
        flat_lat, flat_lon = lat.ravel(), lon.ravel()
        out = np.empty(flat_lat.shape, dtype=np.float32)
        for start in range(0, flat_lat.size, _POINT_CHUNK):
            stop = start + _POINT_CHUNK
            out[start:stop] = self._bilinear(flat_lat[start:stop], flat_lon[start:stop])
        return out.reshape(lat.shape)

    def _bilinear(self, lat, lon) -> np.ndarray:
        rows = np.clip(self.grid.row_of(lat), 0.0, self.grid.lines - 1.0)
        cols = self.grid.col_of(lon)
        r0 = np.floor(rows).astype(np.int64)
        c0 = np.floor(cols).astype(np.int64)
        fr = (rows - r0).astype(np.float32)
        fc = (cols - c0).astype(np.float32)
        r1 = np.minimum(r0 + 1, self.grid.lines - 1)
        c0w, c1w = self._wrap_cols(c0), self._wrap_cols(c0 + 1)
        data = self._map()
        h00, h01 = self._heights(data[r0, c0w]), self._heights(data[r0, c1w])
        h10, h11 = self._heights(data[r1, c0w]), self._heights(data[r1, c1w])
        top = h00 + (h01 - h00) * fc
        bottom = h10 + (h11 - h10) * fc
        return top + (bottom - top) * fr

    def window(self, lat_min: float, lat_max: float, lon_min: float, lon_max: float):
        """The pixels whose centres lie in the box, at full resolution.

        Returns ``(lats, lons, heights_m)``: ``lats`` descending (north first, as stored), ``lons`` ascending and
        continuous (they may run past 360 when the box crosses the 0° meridian, e.g. ``lon_min=350, lon_max=370``),
        ``heights_m`` float32 of shape (len(lats), len(lons)). Only the rows and columns of the box are read.
        """
        if lat_max < lat_min:
            raise ValueError("lat_max < lat_min")
        if lon_max < lon_min:
            lon_max += 360.0
        r_first = int(np.ceil(self.grid.row_of(lat_max) - 1e-9))
        r_last = int(np.floor(self.grid.row_of(lat_min) + 1e-9))
        r_first, r_last = max(r_first, 0), min(r_last, self.grid.lines - 1)
        res = self.grid.resolution
        c_first = int(np.ceil(self.grid.sample_offset + (lon_min - self.grid.center_lon) * res - 1e-9))
        c_last = int(np.floor(self.grid.sample_offset + (lon_max - self.grid.center_lon) * res + 1e-9))
        if not self.grid.is_global_lon:
            c_first, c_last = max(c_first, 0), min(c_last, self.grid.samples - 1)
        elif c_last - c_first + 1 > self.grid.samples:
            c_last = c_first + self.grid.samples - 1
        if r_last < r_first or c_last < c_first:
            raise ValueError(
                f"the box {lat_min}…{lat_max}°, {lon_min}…{lon_max}° holds no pixel centre of {self.product}"
            )
        rows = slice(r_first, r_last + 1)
        cols = np.arange(c_first, c_last + 1)
        wrapped = self._wrap_cols(cols)
        # contiguous runs of columns read as slices (at most two when crossing the seam)
        breaks = np.flatnonzero(np.diff(wrapped) != 1) + 1
        data = self._map()
        pieces = [data[rows, run[0] : run[-1] + 1] for run in np.split(wrapped, breaks)]
        heights = self._heights(np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0])
        lats = self.grid.lat_of(np.arange(r_first, r_last + 1))
        lons = self.grid.lon_of(cols.astype(float))
        return lats, lons, heights

    def resampled(self, n_lat: int, n_lon: int):
        """A global grid of ``n_lat × n_lon`` pixel-centred cells, each the nearest DEM pixel (strided reads).

        Returns ``(lats, lons, heights_m)`` with ``lats`` descending from 90 − 90/n_lat, ``lons`` ascending from
        180/n_lon. Reads one file row per output row, so memory stays ≈ ``n_lat`` rows of the product.
        """
        lats = 90.0 - (np.arange(n_lat) + 0.5) * 180.0 / n_lat
        lons = (np.arange(n_lon) + 0.5) * 360.0 / n_lon
        rows = np.clip(np.rint(self.grid.row_of(lats)).astype(np.int64), 0, self.grid.lines - 1)
        cols = self._wrap_cols(np.floor(self.grid.col_of(lons) + 0.5).astype(np.int64))
        heights = np.empty((n_lat, n_lon), dtype=np.float32)
        for start in range(0, n_lat, _ROW_CHUNK):
            data = self._map()
            for i in range(start, min(n_lat, start + _ROW_CHUNK)):
                heights[i] = self._heights(data[rows[i], cols])
            del data
        return lats, lons, heights
