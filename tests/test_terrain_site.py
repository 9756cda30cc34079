"""The landing-site window: fetched by HTTP Range from a local server (127.0.0.1) that serves a synthetic LOLA
volume with known values, and ../shared's real LDEM_4 in place; then used by the site patch and the horizon."""

from __future__ import annotations

import numpy as np
import pytest
from lola_server import RangeServer
from lola_synthetic import GDR_DIR, TILE, archive

from viewer.errors import DataError
from viewer.mission import landing_site
from viewer.terrain import site
from viewer.terrain.lola import LolaDem, find_key

TILE_IMG = f"{GDR_DIR}{TILE.lower()}.img"
TILE_LBL = f"{GDR_DIR}{TILE.lower()}.lbl"


@pytest.fixture()
def volume(tmp_path, monkeypatch):
    """A server with the synthetic volume; the cache and the archive address point at tmp and the server."""
    routes, facts = archive()
    srv = RangeServer(routes)
    monkeypatch.setenv("VIEWER_LOLA_VOLUME_URL", srv.url)
    monkeypatch.setenv("VIEWER_LOLA_BASE_URL", srv.url + GDR_DIR)
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VIEWER_DEM", raising=False)
    srv.facts = facts
    yield srv
    srv.close()


def _source_pixels(dem: LolaDem, source: np.ndarray) -> np.ndarray:
    r0 = int(find_key(dem.label, "SOURCE_LINE_FIRST_PIXEL")) - 1
    c0 = int(find_key(dem.label, "SOURCE_SAMPLE_FIRST_PIXEL")) - 1
    return source[r0 : r0 + dem.grid.lines, c0 : c0 + dem.grid.samples]


def _lines_asked(volume, path: str, since: int = 0) -> int:
    """Byte ranges asked for ``path`` in the requests after the first ``since`` (one range per image line)."""
    return sum(rng.count(",") + 1 for rng in volume.requests_for(path)[since:] if rng)


def _leftovers(tmp_path) -> list[str]:
    d = tmp_path / "cache" / "lola" / "site"
    return sorted(p.name for p in d.glob("*")) if d.exists() else []


# --------------------------------------------------------------------------------------------------- fetch
def test_window_equals_the_source_pixels(volume, tmp_path):
    stats: dict = {}
    paths, notes = site.fetch_site(60, progress=False, stats=stats)
    fine = LolaDem.open(paths[0])
    # the window holds the site and the 60 km square about it, at the tile's 512 px/deg
    lat, lon = landing_site()
    assert fine.grid.resolution == 512 and find_key(fine.label, "SOURCE_PRODUCT_ID") == TILE
    half = 30.0 / site.KM_PER_DEG
    assert fine.grid.lat_of(0) > lat + half and fine.grid.lat_of(fine.grid.lines - 1) < lat - half
    assert 1013 <= fine.grid.lines <= 1020 and 1355 <= fine.grid.samples <= 1365
    np.testing.assert_array_equal(fine.rows_m() / 0.5, _source_pixels(fine, volume.facts["tile"]))
    # the same place has the same height in the source and in the window
    src = LolaDem.open(_serve_copy(volume, tmp_path, "tile"))
    assert fine.height_m(lat, lon) == pytest.approx(float(src.height_m(lat, lon)), abs=1e-3)
    # each window line asked once, 64 lines per multipart answer, and little more than the window's bytes
    window_bytes = fine.grid.lines * fine.grid.samples * 2
    assert _lines_asked(volume, TILE_IMG) == fine.grid.lines
    assert len(volume.requests_for(TILE_IMG)) == -(-fine.grid.lines // 64)
    assert window_bytes < volume.sent[TILE_IMG] < 1.05 * window_bytes
    # the context window comes from the coarse global product
    ctx = LolaDem.open(paths[1])
    assert find_key(ctx.label, "SOURCE_PRODUCT_ID") == "LDEM_2"
    np.testing.assert_array_equal(ctx.rows_m() / 0.5, _source_pixels(ctx, volume.facts["global"]))
    assert _leftovers(tmp_path) == ["archive.json", "context.img", "context.lbl", "fine.img", "fine.lbl"]
    assert any("Range answers checked" in n for n in notes)


def _serve_copy(volume, tmp_path, which: str):
    """The synthetic source product written to tmp (the test's own oracle)."""
    d = tmp_path / "source"
    d.mkdir(exist_ok=True)
    (d / f"{TILE}.IMG").write_bytes(volume.routes[TILE_IMG])
    (d / f"{TILE}.LBL").write_bytes(volume.routes[TILE_LBL])
    return d / f"{TILE}.IMG"


def test_server_without_multirange_gets_one_line_per_request(volume, tmp_path):
    volume.multirange = False
    paths, _ = site.fetch_site(60, progress=False)
    fine = LolaDem.open(paths[0])
    np.testing.assert_array_equal(fine.rows_m() / 0.5, _source_pixels(fine, volume.facts["tile"]))
    asked = volume.requests_for(TILE_IMG)
    multi = [r for r in asked if "," in r]
    assert 1 <= len(multi) <= 4  # one probe per connection, hung up on unread
    assert len(asked) - len(multi) == fine.grid.lines


def test_index_is_read_in_range_chunks_and_stops_after_the_dems(volume):
    from viewer.terrain import archive as arch

    found = arch.read_index()
    assert [p.name for p in found] == [TILE, "LDEM_2"]
    assert found[0].bounds == (-43.0, -40.0, 204.0, 208.0)
    tab = len(volume.routes["index/rdrindex.tab"])
    assert 0 < volume.sent["index/rdrindex.tab"] < tab / 2  # the RDR rows after the DEMs were not read


def test_resume_after_a_dropped_connection(volume, tmp_path):
    # the 5th answer is cut after 100 bytes: its lines are asked again on the same run
    volume.drop[(TILE_IMG, 5)] = 100
    paths, _ = site.fetch_site(60, progress=False)
    fine = LolaDem.open(paths[0])
    np.testing.assert_array_equal(fine.rows_m() / 0.5, _source_pixels(fine, volume.facts["tile"]))
    assert len(volume.requests_for(TILE_IMG)) == -(-fine.grid.lines // 64) + 1
    assert fine.grid.lines < _lines_asked(volume, TILE_IMG) <= fine.grid.lines + 64


def test_interrupted_fetch_resumes_on_the_next_run(volume, tmp_path):
    volume.drop[(TILE_IMG, 8)] = 10
    with pytest.raises(DataError) as err:
        site.fetch_site(60, progress=False, retries=0)
    assert "\n" not in str(err.value) and "resume" in str(err.value)
    d = tmp_path / "cache" / "lola" / "site"
    assert not (d / "fine.img").exists()
    (done_map,) = d.glob("fine.img.*.done")
    arrived = sum(done_map.read_bytes())
    assert 0 < arrived < len(done_map.read_bytes()) and any(name.endswith(".part") for name in _leftovers(tmp_path))
    first = len(volume.requests_for(TILE_IMG))
    paths, _ = site.fetch_site(60, progress=False)
    fine = LolaDem.open(paths[0])
    assert _lines_asked(volume, TILE_IMG, since=first) == fine.grid.lines - arrived  # only the missing lines
    np.testing.assert_array_equal(fine.rows_m() / 0.5, _source_pixels(fine, volume.facts["tile"]))
    assert not any(name.endswith((".part", ".done")) for name in _leftovers(tmp_path))


def test_server_ignoring_range_is_detected_without_downloading_the_file(volume, tmp_path):
    volume.routes[TILE_IMG] = volume.routes[TILE_IMG] * 4  # 25 MB: what a client that reads on would receive
    from viewer.terrain import archive as arch

    arch.products()  # the index is read while the server still answers Range
    volume.ignore_range = True
    stats: dict = {}
    with pytest.raises(DataError) as err:
        site.fetch_site(60, progress=False, stats=stats)
    message = str(err.value)
    assert "ignores HTTP Range" in message and "\n" not in message
    assert stats["bytes"] < 100_000  # the labels only: no image byte was read
    assert volume.sent.get(TILE_IMG, 0) < len(volume.routes[TILE_IMG]) / 4
    assert "fine.img" not in _leftovers(tmp_path) and not any(n.endswith(".part") for n in _leftovers(tmp_path))


@pytest.mark.parametrize(
    "fault, words",
    [
        ("html_image", "HTML page instead of data"),
        ("html_label", "HTML page, not the PDS label"),
        ("short", "connection dropped"),
        ("shift", "asked for bytes"),
        ("total", "its label says"),
        ("range", "outside the label's"),
        ("offset", "reference sphere"),
        ("scaling", "the label's scaling is wrong"),
    ],
)
def test_each_bad_answer_is_one_line_and_leaves_nothing(volume, tmp_path, fault, words):
    from lola_synthetic import label

    if fault == "html_image":
        volume.html.add(TILE_IMG)
    elif fault == "html_label":
        volume.html.add(TILE_LBL)
    elif fault == "short":
        volume.short.add(TILE_IMG)
    elif fault == "shift":
        volume.shift_range.add(TILE_IMG)
    elif fault == "total":
        volume.total[TILE_IMG] = len(volume.routes[TILE_IMG]) + 4096
    elif fault in ("range", "offset", "scaling"):
        tile = volume.facts["tile"]
        kw = {"range": {"maximum": int(tile.max()) - 100}, "offset": {"offset": "1738000."}}.get(fault)
        kw = kw if kw is not None else {"scaling": "10."}  # DN ±4000 as ±40 km
        volume.routes[TILE_LBL] = label(TILE, 1536, 2048, 512, -40.0, 204.0, tile, **kw)
    with pytest.raises(DataError) as err:
        site.fetch_site(60, progress=False, retries=1)
    message = str(err.value)
    assert words in message and "\n" not in message, message
    assert "127.0.0.1" in message  # names the file (its URL)
    left = _leftovers(tmp_path)
    assert "fine.img" not in left and "fine.lbl" not in left
    if fault != "short":  # a dropped transfer keeps its partial file to resume; a refused answer keeps nothing
        assert not any(name.endswith((".part", ".done")) for name in left), left


# ----------------------------------------------------------------------------------------------------- use
def test_site_product_is_the_ground_of_the_patch_the_horizon_and_info(volume, tmp_path):
    from viewer.links.horizon import compute_horizon
    from viewer.terrain import describe, meshes, select_dem
    from viewer.terrain.synthetic import IllustrativeRelief

    relief = IllustrativeRelief()
    before_patch = meshes.site_data("browser", dem=select_dem())
    lat, lon = landing_site()
    before_h = compute_horizon(select_dem(), lat, lon, n_azimuths=36, max_range_km=20)
    site.fetch_site(60, progress=False)
    dem = select_dem()
    assert isinstance(dem, site.SiteDem) and dem.source_label == "LOLA 512 px/deg, 59 m"
    assert dem.grade == "sourced" and dem.base.source_label == relief.source_label
    # the patch: labelled with the product, its heights from the window near the site
    patch = meshes.site_data("browser", dem=dem)
    assert patch.meta["source_label"] == "LOLA 512 px/deg, 59 m"
    assert not np.allclose(patch.heights_m, before_patch.heights_m)
    assert len(patch.faces) == len(before_patch.faces)  # the browser budget is the same mesh size
    # the horizon within the window is the window's (raw pixels, bilinear), not the relief's
    fine = LolaDem.open(tmp_path / "cache" / "lola" / "site" / "fine.img")
    after_h = compute_horizon(dem, lat, lon, n_azimuths=36, max_range_km=20)
    direct = compute_horizon(fine, lat, lon, n_azimuths=36, max_range_km=20, step_km=after_h.step_km)
    np.testing.assert_allclose(after_h.elevations_deg, direct.elevations_deg, atol=2e-3)  # float32 vs float64
    assert after_h.source == "LOLA 512 px/deg, 59 m" and before_h.source == "illustrative relief"
    assert np.abs(after_h.elevations_deg - before_h.elevations_deg).max() > 0.1
    # the globe keeps the global DEM; info says what the ground is, with its grade
    assert meshes.globe_data("browser", dem=dem).meta["source_label"] == "illustrative relief"
    line = describe()[0]
    assert line.startswith("terrain: LOLA 512 px/deg, 59 m: a 60") and TILE in line and line.endswith("[sourced]")
    from viewer.terrain import provenance

    zh = provenance(dem, "zh")
    assert zh["label"] == "LOLA 实测地形 512 像素/度，59 米" and zh["grade_word"] == "有来源"
    assert provenance(dem)["text"] == "Ground: LOLA 512 px/deg, 59 m" and provenance(dem)["colour"].startswith("#")
    assert provenance(relief)["grade"] == "assumed" and "not a measurement" in provenance(relief)["label"]
    # the web app's side panel names the product too, with its grade, in both languages
    from viewer.ui import app, shared

    shared.ground.cache_clear()
    try:
        assert "Ground: LOLA 512 px/deg, 59 m" in app.ground_badge("en") and ">sourced<" in app.ground_badge("en")
        assert "LOLA 实测地形 512 像素/度，59 米" in app.ground_badge("zh") and "有来源" in app.ground_badge("zh")
    finally:
        shared.ground.cache_clear()


def test_window_about_another_site_is_ignored(volume, tmp_path, monkeypatch):
    from viewer.terrain import select_dem

    site.fetch_site(60, progress=False)
    assert isinstance(select_dem(), site.SiteDem)
    monkeypatch.setattr(site, "landing_site", lambda: (10.0, 20.0))
    assert not isinstance(select_dem(), site.SiteDem)


def test_ldem4_window_equals_the_real_file(ldem4_path, tmp_path, monkeypatch):
    routes, _ = archive(with_ldem4=True)
    routes[f"{GDR_DIR}ldem_4.lbl"] = ldem4_path.with_suffix(".LBL")
    routes[f"{GDR_DIR}ldem_4.img"] = ldem4_path  # served in place from ../shared
    srv = RangeServer(routes)
    try:
        monkeypatch.setenv("VIEWER_LOLA_VOLUME_URL", srv.url)
        monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
        paths, _ = site.fetch_site(300, progress=False, resolutions=[4])
        window = LolaDem.open(paths[0])
        real = LolaDem.open(ldem4_path)
        dn = np.fromfile(ldem4_path, dtype="<i2").reshape(real.grid.lines, real.grid.samples)
        np.testing.assert_array_equal(window.rows_m() / 0.5, _source_pixels(window, dn))
        lat, lon = landing_site()
        assert window.height_m(lat, lon) == pytest.approx(float(real.height_m(lat, lon)), abs=1e-3)
        assert site.resolution_label(window) == "LOLA 4 px/deg, 7581 m"
    finally:
        srv.close()


def test_cli_fetch_site_and_prepare(volume, tmp_path, capsys):
    from viewer.cli import main

    assert main(["data", "fetch", "--site", "--site-km", "40", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[0].endswith("fine.img") and "MB in" in out.err
    assert main(["data", "prepare", "--product", "none", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "MB to download" in err and "can go offline now" in err and "meshes built from LOLA 512" in err


def test_prepare_end_to_end_with_the_global_product(ldem4_path, tmp_path, monkeypatch):
    from viewer.terrain import prepare, select_dem

    routes, _ = archive(with_ldem4=True)
    routes[f"{GDR_DIR}ldem_4.lbl"] = ldem4_path.with_suffix(".LBL")
    routes[f"{GDR_DIR}ldem_4.img"] = ldem4_path
    srv = RangeServer(routes)
    try:
        monkeypatch.setenv("VIEWER_LOLA_VOLUME_URL", srv.url)
        monkeypatch.setenv("VIEWER_LOLA_BASE_URL", srv.url + GDR_DIR)
        monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.delenv("VIEWER_DEM", raising=False)
        import io

        out = io.StringIO()
        report = prepare.prepare(60, product="ldem_4", progress=True, stream=out)
        text = out.getvalue()
        first = text.splitlines()[0]
        # a progress bar per file, each after the size was said, each reaching 100 %
        for name in ("fine.img", "context.img", "ldem_4.img"):
            bar = text.rfind(f"\r{name} 100.0% [")
            assert bar > text.index("global LDEM_4"), (name, text[:400])
        assert first.startswith("data prepare: ") and "MB to download" in first
        cache = tmp_path / "cache" / "lola"
        files = [cache / "site" / "fine.img", cache / "site" / "context.img", cache / "ldem_4.img"]
        assert report["bytes_planned"] == sum(f.stat().st_size for f in files)  # said before, then fetched
        assert f"{report['bytes_planned'] / 1e6:.2f} MB to download" in first
        assert "fine window" in text and "context window" in text and "global LDEM_4 2.07 MB, to fetch" in text
        assert text.rstrip().endswith("It can go offline now.")
        dem = select_dem()
        assert isinstance(dem, site.SiteDem) and dem.base.product == "LDEM_4"
        assert find_key(dem.context.label, "SOURCE_PRODUCT_ID") == "LDEM_4"
        assert list((tmp_path / "cache" / "meshes").glob("moon-site-browser-*.npz"))
        # a second run finds everything in place and downloads nothing
        images = [p for p, _ in srv.log if p.endswith(".img")]
        out = io.StringIO()
        assert prepare.prepare(60, product="ldem_4", progress=False, stream=out)["bytes_planned"] == 0
        assert "0.00 MB to download" in out.getvalue()
        assert [p for p, _ in srv.log if p.endswith(".img")] == images
        assert srv.requests_for("index/rdrindex.lbl") == [None]  # the index was read once
    finally:
        srv.close()


def test_offline_fetch_site_is_one_quick_line(tmp_path, monkeypatch, capsys):
    import socket
    import time

    from viewer.cli import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VIEWER_LOLA_VOLUME_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    t0 = time.monotonic()
    assert main(["data", "fetch", "--site", "--no-progress"]) == 2
    assert time.monotonic() - t0 < 6
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot reach 127.0.0.1") and "Traceback" not in err[0]


def test_falls_back_to_ldem_128_where_no_512_tile_holds_the_window(volume, tmp_path):
    from lola_synthetic import index, label

    # the 512 px/deg tile lies 10° south of the site; a (sparse, all-zero) global LDEM_128 is in the index
    tile = volume.facts["tile"]
    volume.routes[TILE_LBL] = label(TILE, 1536, 2048, 512, -50.0, 204.0, tile)
    sparse = tmp_path / "ldem_128.img"
    with open(sparse, "wb") as fh:
        fh.truncate(23040 * 46080 * 2)
    zero = np.zeros(1, dtype="<i2")
    volume.routes[f"{GDR_DIR}ldem_128.lbl"] = label("LDEM_128", 23040, 46080, 128, 90.0, 0.0, zero)
    volume.routes[f"{GDR_DIR}ldem_128.img"] = sparse
    specs = [f"DATA/LOLA_GDR/CYLINDRICAL/IMG/{n}.LBL" for n in (TILE, "LDEM_128", "LDEM_2")]
    volume.routes["index/rdrindex.lbl"], volume.routes["index/rdrindex.tab"] = index(specs)
    paths, _ = site.fetch_site(60, progress=False)
    fine = LolaDem.open(paths[0])
    assert find_key(fine.label, "SOURCE_PRODUCT_ID") == "LDEM_128" and fine.grid.resolution == 128
    assert site.resolution_label(fine) == "LOLA 128 px/deg, 237 m"
    assert volume.requests_for(TILE_IMG) == []  # the tile's label showed it does not hold the window
