"""The LOLA archive volume on the server: which gridded products it holds, read from its own index.

The volume's index (``INDEX/RDRINDEX.LBL`` and its table, PDS3 ``INDEX_TABLE`` of fixed-length ASCII rows) lists
every file of the volume. :func:`gdr_products` reads the table's ``FILE_SPECIFICATION_NAME`` column in Range
chunks and keeps the simple-cylindrical LOLA DEMs (``…/LOLA_GDR/CYLINDRICAL/IMG/LDEM_<ppd>[_tile].LBL``). The index
groups a volume's files by directory, so the read stops at the first chunk without a DEM after the DEMs (``full``
reads it all). The list is kept in ``cache_dir()/lola/site/archive.json`` per volume URL.

:func:`choose` picks, in the configured order of resolutions, the first product whose label shows it covers a box
around the site: the tile names (``LDEM_512_45S_00S_180_270``) only narrow the labels worth reading; the label's
grid decides.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from viewer.errors import DataError
from viewer.paths import atomic_write_text, cache_dir
from viewer.terrain.download import catalog, checked_url
from viewer.terrain.lola import Layout, find_key, layout_of, parse_label
from viewer.terrain.remote import Dropped, RangeReader, get_small

INDEX_CHUNK_ROWS = 4096
_NAME = re.compile(r"^LDEM_(\d+)(?:_(\d+)([NS])_(\d+)([NS])_(\d{3})_(\d{3}))?$", re.I)
_COLUMN = re.compile(r"^\s*OBJECT\s*=\s*COLUMN\s*$(.*?)^\s*END_OBJECT\s*=\s*COLUMN\s*$", re.M | re.S)


def site_config() -> dict:
    return dict(catalog().get("site") or {})


def volume_url() -> str:
    env = os.environ.get("VIEWER_LOLA_VOLUME_URL")
    return checked_url(env, "VIEWER_LOLA_VOLUME_URL") if env else checked_url(site_config()["volume_url"], "volume_url")


@dataclass(frozen=True)
class Product:
    """One DEM of the archive: its name, pixels per degree, label URL and the box its tile name gives (if any)."""

    name: str
    resolution: float
    label_url: str
    bounds: tuple[float, float, float, float] | None = None  # lat_min, lat_max, lon_min, lon_max (deg)

    def may_cover(self, lat_min: float, lat_max: float, lon_min: float, lon_max: float) -> bool:
        if self.bounds is None:
            return True
        b_lat0, b_lat1, b_lon0, b_lon1 = self.bounds
        span = (lon_max - lon_min) % 360.0
        start = b_lon0 + (lon_min - b_lon0) % 360.0
        return b_lat0 <= lat_min and lat_max <= b_lat1 and start + span <= b_lon1


def product_from_spec(spec: str, base: str, lower: bool) -> Product | None:
    """A :class:`Product` from an index row's file name, or None when the row is not a cylindrical LOLA DEM."""
    spec = spec.strip().strip('"').replace("\\", "/")
    directory, _, filename = spec.rpartition("/")
    if "LOLA_GDR/CYLINDRICAL/IMG" not in directory.upper():
        return None
    stem, _, ext = filename.rpartition(".")
    m = _NAME.match(stem)
    if not m or ext.upper() not in ("LBL", "IMG"):
        return None
    bounds = None
    if m.group(2):
        lat_a = float(m.group(2)) * (1 if m.group(3).upper() == "N" else -1)
        lat_b = float(m.group(4)) * (1 if m.group(5).upper() == "N" else -1)
        bounds = (min(lat_a, lat_b), max(lat_a, lat_b), float(m.group(6)), float(m.group(7)))
    rel = f"{directory}/{stem}.LBL"
    return Product(stem.upper(), float(m.group(1)), urljoin(base, rel.lower() if lower else rel), bounds)


def _columns(label_text: str) -> dict[str, tuple[int, int]]:
    """{column name: (START_BYTE, BYTES)} of an index label (every COLUMN object, in order)."""
    out = {}
    for body in _COLUMN.findall(label_text):
        col = parse_label(body)
        if "NAME" in col and "START_BYTE" in col and "BYTES" in col:
            out[str(col["NAME"]).upper()] = (int(col["START_BYTE"]), int(col["BYTES"]))
    return out


def _index_layout(label_url: str, stats: dict) -> tuple[str, int, int, int, int]:
    """(table URL, row bytes, rows, start byte, bytes) of the index's FILE_SPECIFICATION_NAME column."""
    text = get_small(label_url, what="archive index label", stats=stats).decode("latin-1")
    label = parse_label(text, path=label_url)
    pointer = find_key(label, "^INDEX_TABLE") or find_key(label, "^TABLE")
    table = pointer[0] if isinstance(pointer, list) else pointer
    row_bytes = find_key(label, "ROW_BYTES") or find_key(label, "RECORD_BYTES")
    rows = find_key(label, "ROWS") or find_key(label, "FILE_RECORDS")
    column = _columns(text).get("FILE_SPECIFICATION_NAME")
    if not isinstance(table, str) or not row_bytes or not rows or column is None:
        raise DataError(
            f"{label_url}: not a PDS index label (needs ^INDEX_TABLE, ROW_BYTES, ROWS and a FILE_SPECIFICATION_NAME "
            "column); check index_label in assets/lola.yaml",
            path=label_url,
        )
    lower = site_config().get("lower_case", True)
    table_url = urljoin(label_url, table.lower() if lower else table)
    return table_url, int(row_bytes), int(rows), column[0], column[1]


def _read_retrying(reader: RangeReader, start: int, stop: int, total: int, retries: int = 3) -> bytes:
    for _ in range(retries):
        try:
            return reader.read(start, stop, total=total)
        except Dropped:
            continue  # reopened on the next attempt
    try:
        return reader.read(start, stop, total=total)
    except Dropped as exc:
        raise DataError(
            f"{reader.url}: the connection dropped {retries + 1} times while reading the archive's index ({exc}); "
            "run the same command again",
            path=reader.url,
        ) from None


def read_index(*, full: bool = False, stats: dict | None = None) -> list[Product]:
    """The cylindrical LOLA DEMs listed in the archive volume's index (read from the server)."""
    stats = stats if stats is not None else {}
    cfg = site_config()
    base = volume_url()
    table_url, row_bytes, rows, start, width = _index_layout(urljoin(base, cfg["index_label"]), stats)
    found: list[Product] = []
    with RangeReader(table_url, stats=stats) as reader:
        for first in range(0, rows, INDEX_CHUNK_ROWS):
            n = min(INDEX_CHUNK_ROWS, rows - first)
            block = _read_retrying(reader, first * row_bytes, (first + n) * row_bytes, rows * row_bytes)
            here = []
            for i in range(n):
                row = block[i * row_bytes : (i + 1) * row_bytes].decode("latin-1")
                product = product_from_spec(row[start - 1 : start - 1 + width], base, cfg.get("lower_case", True))
                if product is not None:
                    here.append(product)
            if found and not here and not full:
                break  # past the group of DEMs
            found += here
    unique = {p.name: p for p in found}
    if not unique:
        raise DataError(
            f"{table_url}: the archive index lists no LOLA cylindrical DEM; check index_label", path=table_url
        )
    return sorted(unique.values(), key=lambda p: (-p.resolution, p.name))


def _index_cache() -> Path:
    return cache_dir() / "lola" / "site" / "archive.json"


def products(*, refresh: bool = False, stats: dict | None = None) -> list[Product]:
    """The archive's DEMs: from ``archive.json`` when it was read from the same volume URL, else from the server."""
    path, base = _index_cache(), volume_url()
    if not refresh and path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("volume_url") == base:
                return [
                    Product(p["name"], p["resolution"], p["label_url"], _bounds(p["bounds"])) for p in doc["products"]
                ]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: read the index again below
    found = read_index(stats=stats)
    atomic_write_text(path, json.dumps({"volume_url": base, "products": [asdict(p) for p in found]}, indent=1))
    return found


def _bounds(value):
    return tuple(float(v) for v in value) if value else None


@dataclass(frozen=True)
class Remote:
    """A product chosen for a window: its label (text and layout) and image URL."""

    product: Product
    label_text: str
    layout: Layout
    image_url: str


def open_remote(product: Product, *, stats: dict | None = None) -> Remote:
    """Fetch a product's label and read its layout; the image URL comes from the label's ``^IMAGE``."""
    text = get_small(product.label_url, what="PDS label", stats=stats).decode("latin-1")
    label = parse_label(text, path=product.label_url)
    pointer = find_key(label, "^IMAGE")
    name = pointer[0] if isinstance(pointer, list) else pointer
    if not isinstance(name, str):
        raise DataError(f"{product.label_url}: the label names no image file (^IMAGE)", path=product.label_url)
    lower = site_config().get("lower_case", True)
    image_url = urljoin(product.label_url, name.lower() if lower else name)
    return Remote(product, text, layout_of(label, product.label_url, name), image_url)


def box_pixels(layout: Layout, lat_min: float, lat_max: float, lon_min: float, lon_max: float):
    """(first line, lines, first sample, samples) of the pixels whose centres cover the box, one pixel of margin
    on every side; None when the product does not hold them all."""
    g = layout.grid
    r0 = int(np.floor(g.row_of(lat_max))) - 1
    r1 = int(np.ceil(g.row_of(lat_min))) + 1
    c0 = int(np.floor(g.col_of(lon_min))) - 1
    c1 = c0 + int(np.ceil(((lon_max - lon_min) % 360.0) * g.resolution)) + 3
    if r0 < 0 or r1 >= g.lines or c0 < 0 or c1 >= g.samples:
        return None
    return r0, r1 - r0 + 1, c0, c1 - c0 + 1


def choose(catalogue: list[Product], box, resolutions, *, stats: dict | None = None):
    """(Remote, pixels) of the first product, in the order of ``resolutions``, that covers ``box``; else None."""
    for res in resolutions:
        for product in catalogue:
            if abs(product.resolution - float(res)) > 1e-9 or not product.may_cover(*box):
                continue
            remote = open_remote(product, stats=stats)
            pixels = box_pixels(remote.layout, *box)
            if pixels is not None:
                return remote, pixels
    return None
