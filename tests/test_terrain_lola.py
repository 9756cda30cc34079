"""LOLA GDR reader against the real LDEM_4 (../shared) and against broken labels and files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from viewer.errors import DataError
from viewer.terrain.lola import LolaDem, find_key, parse_label

SITE_LAT, SITE_LON = -41.6385, 206.0148  # LROC position of the Chang'e-6 lander
APOLLO_LAT, APOLLO_LON, APOLLO_D_KM = -36.1, 208.3, 492.0  # LROC [R12]
R_KM = 1737.4


def _great_circle_km(lat0, lon0, lat, lon):
    lat0, lon0, lat, lon = map(np.radians, (lat0, lon0, lat, lon))
    c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
    return R_KM * np.arccos(np.clip(c, -1, 1))


def test_site_elevation_matches_lroc(ldem4_path):
    dem = LolaDem.open(ldem4_path)
    assert dem.product == "LDEM_4"
    assert dem.source_label == "LOLA LDEM_4"
    height = float(dem.height_m(SITE_LAT, SITE_LON))
    assert abs(height - (-5256.0)) <= 300.0, height


def test_global_extrema_from_data_match_label(ldem4_path):
    dem = LolaDem.open(ldem4_path)
    _, _, heights = dem.window(-90, 90, 0, 360)
    assert heights.shape == (720, 1440)
    scale = dem.label["UNCOMPRESSED_FILE"]["IMAGE"]["SCALING_FACTOR"]
    label_min = dem.label["UNCOMPRESSED_FILE"]["IMAGE"]["MINIMUM"] * scale
    label_max = dem.label["UNCOMPRESSED_FILE"]["IMAGE"]["MAXIMUM"] * scale
    assert abs(float(heights.min()) - label_min) <= 200.0
    assert abs(float(heights.max()) - label_max) <= 200.0
    assert dem.minimum_m == label_min and dem.maximum_m == label_max


def test_apollo_floor_lies_below_its_rim(ldem4_path):
    dem = LolaDem.open(ldem4_path)
    lats, lons, heights = dem.window(-50, -22, 190, 226)
    lat_g, lon_g = np.meshgrid(lats, lons, indexing="ij")
    dist = _great_circle_km(APOLLO_LAT, APOLLO_LON, lat_g, lon_g)
    radius = APOLLO_D_KM / 2
    floor = heights[dist < 0.25 * radius]
    rim = heights[(dist > 0.9 * radius) & (dist < 1.1 * radius)]
    assert floor.size > 20 and rim.size > 50
    assert np.median(floor) < np.median(rim) - 1000.0, (np.median(floor), np.median(rim))


def test_window_bilinear_and_resample_agree(ldem4_path):
    dem = LolaDem.open(ldem4_path)
    lats, lons, heights = dem.window(-45, -40, 200, 210)
    # at pixel centres the bilinear sampler returns the stored values
    lat_g, lon_g = np.meshgrid(lats, lons, indexing="ij")
    np.testing.assert_allclose(dem.height_m(lat_g, lon_g), heights, atol=1e-3)
    # a window across the 0° meridian is continuous and matches the two halves
    _, lons_x, h_x = dem.window(-1, 1, 359, 361)
    assert np.all(np.diff(lons_x) > 0) and lons_x[0] < 360 < lons_x[-1]
    _, _, h_east = dem.window(-1, 1, 0, 1)
    np.testing.assert_array_equal(h_x[:, -h_east.shape[1] :], h_east)
    lats_r, lons_r, h_r = dem.resampled(180, 360)
    assert h_r.shape == (180, 360) and lats_r[0] == 89.5 and lons_r[0] == 0.5
    # each coarse cell takes one of the 2×2 full-resolution pixels nearest its centre
    _, _, full = dem.window(-90, 90, 0, 360)
    near = full.reshape(180, 4, 360, 4)[:, 1:3, :, 1:3]
    assert np.all((near.min(axis=(1, 3)) <= h_r) & (h_r <= near.max(axis=(1, 3))))


def _copy_product(ldem4_path, tmp_path, lbl_name="ldem_4.lbl"):
    img = tmp_path / "LDEM_4.IMG"
    shutil.copyfile(ldem4_path, img)
    shutil.copyfile(ldem4_path.with_suffix(".LBL"), tmp_path / lbl_name)
    return img


def test_label_found_case_insensitively(ldem4_path, tmp_path):
    img = _copy_product(ldem4_path, tmp_path)
    assert LolaDem.open(img).label_path.name == "ldem_4.lbl"
    assert LolaDem.open(tmp_path / "ldem_4.lbl").path == img


def test_record_size_disagreeing_with_label_is_one_line_error(ldem4_path, tmp_path):
    img = _copy_product(ldem4_path, tmp_path)
    lbl = tmp_path / "ldem_4.lbl"
    lbl.write_text(
        lbl.read_text(encoding="latin-1").replace(
            "RECORD_BYTES              = 2880", "RECORD_BYTES              = 2882"
        )
    )
    with pytest.raises(DataError) as err:
        LolaDem.open(img)
    message = str(err.value)
    assert "\n" not in message and "RECORD_BYTES 2882" in message and "ldem_4.lbl" in message


def test_truncated_img_is_one_line_error(ldem4_path, tmp_path):
    img = _copy_product(ldem4_path, tmp_path)
    with open(img, "r+b") as fh:
        fh.truncate(1_000_000)
    with pytest.raises(DataError) as err:
        LolaDem.open(img)
    message = str(err.value)
    assert "\n" not in message and "truncated" in message and "LDEM_4.IMG" in message


def test_missing_label_is_one_line_error(ldem4_path, tmp_path):
    img = tmp_path / "LDEM_4.IMG"
    shutil.copyfile(ldem4_path, img)
    with pytest.raises(DataError, match="no PDS3 label"):
        LolaDem.open(img)


def test_label_parser_handles_lists_units_and_multiline_strings():
    label = parse_label(
        textwrap.dedent(
            """\
            PDS_VERSION_ID = "PDS3"
            NAMES = {"A","B
               C"}
            /* comment */
            OBJECT = IMAGE_MAP_PROJECTION
              MAP_RESOLUTION = 64 <pix/deg>
              DESCRIPTION = "two
                 lines"
              CENTER_LONGITUDE = 180.5 <deg>
            END_OBJECT = IMAGE_MAP_PROJECTION
            END
            """
        )
    )
    assert label["NAMES"] == ["A", "B C"]
    assert find_key(label, "MAP_RESOLUTION") == 64
    assert find_key(label, "CENTER_LONGITUDE") == 180.5
    assert find_key(label, "DESCRIPTION") == "two lines"


LDEM64_LABEL = """PDS_VERSION_ID = "PDS3"
PRODUCT_ID = "LDEM_64"
OBJECT = UNCOMPRESSED_FILE
FILE_NAME = "LDEM_64.IMG"
RECORD_TYPE = FIXED_LENGTH
FILE_RECORDS = 11520
RECORD_BYTES = 46080
^IMAGE = "LDEM_64.IMG"
  OBJECT = IMAGE
    LINES = 11520
    LINE_SAMPLES = 23040
    SAMPLE_TYPE = LSB_INTEGER
    SAMPLE_BITS = 16
    SCALING_FACTOR = 0.5
    OFFSET = 1737400.
  END_OBJECT = IMAGE
END_OBJECT = UNCOMPRESSED_FILE
OBJECT = IMAGE_MAP_PROJECTION
 MAP_PROJECTION_TYPE = "SIMPLE CYLINDRICAL"
 MAP_RESOLUTION = 64 <pix/deg>
 CENTER_LATITUDE = 0 <deg>
 CENTER_LONGITUDE = 180 <deg>
 MAXIMUM_LATITUDE = 90 <deg>
 MINIMUM_LATITUDE = -90 <deg>
 WESTERNMOST_LONGITUDE = 0 <deg>
 EASTERNMOST_LONGITUDE = 360 <deg>
 LINE_PROJECTION_OFFSET = 5759.5 <pix>
 SAMPLE_PROJECTION_OFFSET = 11519.5 <pix>
END_OBJECT = IMAGE_MAP_PROJECTION
END
"""


def make_sparse_ldem64(directory):
    """A sparse 530 MB LDEM_64-sized IMG (zeros on disk cost nothing) with one marked pixel, and its label."""
    img = directory / "LDEM_64.IMG"
    (directory / "LDEM_64.LBL").write_text(LDEM64_LABEL)
    with open(img, "wb") as fh:
        fh.truncate(11520 * 46080)
        # mark the pixel at the site: row = 5759.5 + 41.6385*64, col = 11519.5 + 26.0148*64
        row, col = round(5759.5 + 41.6385 * 64), round(11519.5 + 26.0148 * 64)
        fh.seek((row * 23040 + col) * 2)
        fh.write(np.int16(-10512).tobytes())
    return img


def test_windowed_reads_of_ldem64_sized_file_stay_small(tmp_path):
    img = make_sparse_ldem64(tmp_path)
    script = textwrap.dedent(
        f"""
        import resource, numpy as np
        from viewer.terrain.lola import LolaDem
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        dem = LolaDem.open({str(img)!r})
        lats, lons, h = dem.window(-44.5, -38.5, 202, 210)
        site = float(h.min())
        g = dem.resampled(360, 720)[2]
        p = dem.height_m(np.linspace(-89, 89, 20000), np.linspace(0, 720, 20000))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(h.shape, site, (after - before) / 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    shape, site, growth_mb = out.stdout.rsplit(")", 1)[0] + ")", *out.stdout.rsplit(")", 1)[1].split()
    assert shape == "(384, 512)"
    assert float(site) == -5256.0  # the marked pixel was found where the label's geometry puts the site
    assert float(growth_mb) < 300.0, growth_mb


def test_extrema_scanned_from_data_when_label_lacks_them(ldem4_path, tmp_path):
    img = _copy_product(ldem4_path, tmp_path)
    lbl = tmp_path / "ldem_4.lbl"
    text = lbl.read_text(encoding="latin-1")
    lbl.write_text(
        text.replace("    MAXIMUM               = 21008\n", "").replace("    MINIMUM               = -17758\n", "")
    )
    dem = LolaDem.open(img)
    # read from the data (the label's MINIMUM is one DN below the data's lowest value)
    assert dem.minimum_m == pytest.approx(-17758 * 0.5, abs=1.0) and dem.minimum_m != -17758 * 0.5
    assert dem.maximum_m == pytest.approx(21008 * 0.5, abs=1.0)
