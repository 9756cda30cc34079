"""A synthetic LOLA archive volume with known values, for the window tests (served by ``lola_server``).

- ``LDEM_512_43S_40S_204_208``: a 512 px/deg tile about the landing site, 1536 × 2048 int16, DN known per pixel
  (:func:`tile_dn`); its label has the layout of the real LOLA labels (0-based centre offsets, east longitudes).
- ``LDEM_2``: a global 2 px/deg product (the coarse context), DN = 100 + line.
- ``INDEX/RDRINDEX.LBL`` + ``.TAB``: a PDS3 index of fixed-length rows, the DEMs among thousands of RDR rows (as the
  real volume index lists every file), optionally with ``LDEM_4`` (served from ``../shared`` by the test).

Paths are lower case, as the PDS Geosciences Node serves them.
"""

from __future__ import annotations

import numpy as np

GDR_DIR = "data/lola_gdr/cylindrical/img/"
TILE = "LDEM_512_43S_40S_204_208"
TILE_BOX = (-43.0, -40.0, 204.0, 208.0)  # lat_min, lat_max, lon_min, lon_max
ROW_BYTES = 120
SPEC_START, SPEC_BYTES = 17, 72


def tile_dn(lines: int = 1536, samples: int = 2048) -> np.ndarray:
    """Smooth relief (±2 km) plus a per-pixel code, so a window shifted by one pixel never matches."""
    r, c = np.mgrid[0:lines, 0:samples].astype(np.float64)
    return (np.round(4000 * np.sin(r / 40.0) * np.cos(c / 55.0)) + (r * 7 + c * 3) % 11).astype("<i2")


def label(
    product: str,
    lines: int,
    samples: int,
    res: float,
    top_lat: float,
    west_lon: float,
    dn: np.ndarray,
    *,
    maximum: int | None = None,
    offset: str = "1737400.",
    scaling: str = "0.5",
    center_lon: float = 180.0,
) -> bytes:
    """A PDS3 label in the form of the real LOLA GDR labels."""
    lpo = -0.5 + top_lat * res  # line of the north edge is -0.5
    spo = -0.5 - (west_lon - center_lon) * res
    text = f"""PDS_VERSION_ID            = "PDS3"
PRODUCT_VERSION_ID        = "V3.0"
DATA_SET_ID               = "LRO-L-LOLA-4-GDR-V1.0"
PRODUCT_ID                = "{product}"
TARGET_NAME               = MOON
DESCRIPTION               = "Synthetic test product with known values
   (not LOLA data)."
OBJECT                    = UNCOMPRESSED_FILE
FILE_NAME                 = "{product}.IMG"
RECORD_TYPE               = FIXED_LENGTH
FILE_RECORDS              = {lines}
RECORD_BYTES              = {samples * 2}
^IMAGE                    = "{product}.IMG"
  OBJECT                  = IMAGE
    NAME                  = HEIGHT
    LINES                 = {lines}
    LINE_SAMPLES          = {samples}
    MAXIMUM               = {int(dn.max()) if maximum is None else maximum}
    MINIMUM               = {int(dn.min())}
    SAMPLE_TYPE           = LSB_INTEGER
    SAMPLE_BITS           = 16
    UNIT                  = METER
    SCALING_FACTOR        = {scaling}
    OFFSET                = {offset}
  END_OBJECT              = IMAGE
END_OBJECT                = UNCOMPRESSED_FILE
OBJECT                    = IMAGE_MAP_PROJECTION
 MAP_PROJECTION_TYPE          = "SIMPLE CYLINDRICAL"
 MAP_RESOLUTION               = {res:g} <pix/deg>
 POSITIVE_LONGITUDE_DIRECTION = "EAST"
 CENTER_LATITUDE              = 0 <deg>
 CENTER_LONGITUDE             = {center_lon:g} <deg>
 MAP_SCALE                    = {np.pi * 1737400.0 / 180.0 / res:.4f} <m/pix>
 MAXIMUM_LATITUDE             = {top_lat:g} <deg>
 MINIMUM_LATITUDE             = {top_lat - lines / res:g} <deg>
 WESTERNMOST_LONGITUDE        = {west_lon:g} <deg>
 EASTERNMOST_LONGITUDE        = {west_lon + samples / res:g} <deg>
 LINE_PROJECTION_OFFSET       = {lpo} <pix>
 SAMPLE_PROJECTION_OFFSET     = {spo} <pix>
 COORDINATE_SYSTEM_NAME       = "MEAN EARTH/POLAR AXIS OF DE421"
END_OBJECT                    = IMAGE_MAP_PROJECTION
END
"""
    return text.replace("\n", "\r\n").encode("ascii")


def _row(spec: str) -> bytes:
    text = f'"LROLOL_1XXX ","{spec:<{SPEC_BYTES}}","NOMINAL MISSION",MOON'
    return (text + " " * (ROW_BYTES - 2 - len(text)) + "\r\n").encode("ascii")


def index(specs: list[str], *, before: int = 5000, after: int = 30000) -> tuple[bytes, bytes]:
    """(label, table) of a volume index listing ``specs`` among RDR rows."""
    rows = [f"DATA/LOLA_RDR/LRO_NO_01/RDR_{i:06d}.LBL" for i in range(before)]
    rows += specs
    rows += [f"DATA/LOLA_RDR/LRO_SM_02/RDR_{i:06d}.LBL" for i in range(after)]
    table = b"".join(_row(s) for s in rows)
    text = f"""PDS_VERSION_ID            = PDS3
RECORD_TYPE               = FIXED_LENGTH
RECORD_BYTES              = {ROW_BYTES}
FILE_RECORDS              = {len(rows)}
^INDEX_TABLE              = "RDRINDEX.TAB"
VOLUME_ID                 = LROLOL_1XXX
OBJECT                    = INDEX_TABLE
  INDEX_TYPE              = SINGLE
  INTERCHANGE_FORMAT      = ASCII
  ROWS                    = {len(rows)}
  ROW_BYTES               = {ROW_BYTES}
  COLUMNS                 = 4
  OBJECT                  = COLUMN
    NAME                  = VOLUME_ID
    START_BYTE            = 2
    BYTES                 = 12
    DATA_TYPE             = CHARACTER
  END_OBJECT              = COLUMN
  OBJECT                  = COLUMN
    NAME                  = FILE_SPECIFICATION_NAME
    START_BYTE            = {SPEC_START}
    BYTES                 = {SPEC_BYTES}
    DATA_TYPE             = CHARACTER
  END_OBJECT              = COLUMN
END_OBJECT                = INDEX_TABLE
END
"""
    return text.replace("\n", "\r\n").encode("ascii"), table


def archive(*, with_ldem4: bool = False, tile_kwargs: dict | None = None) -> tuple[dict[str, bytes], dict]:
    """(routes, facts) of a synthetic volume: URL path → bytes, and the arrays the tests compare with."""
    tile = tile_dn()
    glob = (100 + np.arange(360)[:, None] + np.zeros((1, 720))).astype("<i2")
    routes = {
        f"{GDR_DIR}{TILE.lower()}.lbl": label(TILE, 1536, 2048, 512, -40.0, 204.0, tile, **(tile_kwargs or {})),
        f"{GDR_DIR}{TILE.lower()}.img": tile.tobytes(),
        f"{GDR_DIR}ldem_2.lbl": label("LDEM_2", 360, 720, 2, 90.0, 0.0, glob),
        f"{GDR_DIR}ldem_2.img": glob.tobytes(),
    }
    specs = [f"DATA/LOLA_GDR/CYLINDRICAL/IMG/{TILE}.LBL", "DATA/LOLA_GDR/CYLINDRICAL/IMG/LDEM_2.LBL"]
    if with_ldem4:
        specs.append("DATA/LOLA_GDR/CYLINDRICAL/IMG/LDEM_4.LBL")
    specs.append("DATA/LOLA_GDR/CYLINDRICAL/JP2/LDEM_2.LBL")  # not an IMG directory: ignored
    lbl, tab = index(specs)
    routes["index/rdrindex.lbl"] = lbl
    routes["index/rdrindex.tab"] = tab
    return routes, {"tile": tile, "global": glob}
