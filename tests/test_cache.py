"""viewer.cache: keys follow the source files recursively (a move into a subfolder changes them), entries are written
atomically, and a damaged entry is reported as missing and removed."""

from __future__ import annotations

import numpy as np
import pytest

from viewer import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_key_changes_when_a_source_moves_into_a_subfolder(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    f = src / "a.py"
    f.write_text("x = 1\n")
    before = cache.make_key({"n": 1}, [src])
    assert cache.make_key({"n": 1}, [src]) == before
    moved = src / "sub" / "a.py"
    f.rename(moved)
    assert cache.make_key({"n": 1}, [src]) != before
    assert cache.make_key({"n": 2}, [src]) != cache.make_key({"n": 1}, [src])


def test_json_and_arrays_round_trip_and_older_entries_go(cache_dir):
    p1 = cache.write_json("links", "windows", "k1", {"a": [1, 2]})
    assert cache.read_json("links", "windows", "k1") == {"a": [1, 2]}
    p2 = cache.write_json("links", "windows", "k2", {"a": [3]})
    assert p2.exists() and not p1.exists()
    cache.write_arrays("meshes", "globe", "k", {"points": np.arange(6.0).reshape(2, 3)})
    got = cache.read_arrays("meshes", "globe", "k")
    assert np.array_equal(got["points"], np.arange(6.0).reshape(2, 3))
    assert not list((cache_dir / "links").glob(".*.tmp"))


def test_damaged_entries_are_missing_and_removed(cache_dir):
    path = cache.write_json("web", "tracks-lunar", "k", {"ok": True})
    path.write_text("{not json")
    assert cache.read_json("web", "tracks-lunar", "k") is None
    assert not path.exists()
    apath = cache.write_arrays("meshes", "earth", "k", {"x": np.zeros(3)})
    apath.write_bytes(b"PK\x03\x04garbage")
    assert cache.read_arrays("meshes", "earth", "k") is None
    assert not apath.exists()


def test_store_text_and_unknown_kind(cache_dir):
    p = cache.store_text("meta", "change6-viewer", "abc", "KPL\n", ext="tm")
    mtime = p.stat().st_mtime_ns
    assert cache.store_text("meta", "change6-viewer", "abc", "KPL\n", ext="tm").stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache.entry_path("nope", "x", "k", "json")


def test_poisoned_entries_are_rebuilt_not_trusted(cache_dir):
    def needs_t0(v):
        if not isinstance(v, dict) or "t0" not in v:
            raise ValueError("no t0")

    for poison in ("{}", "[]", '{"t0": NaN}', '{"t0": Infinity}'):
        path = cache.write_json("web", "tracks-lunar", "k", {"t0": 1.0})
        path.write_text(poison)
        assert cache.read_json("web", "tracks-lunar", "k", validate=needs_t0) is None, poison
        assert not path.exists()
    assert cache.read_json("web", "tracks-lunar", "k") is None
    cache.write_json("web", "tracks-lunar", "k", {"t0": 1.0, "xs": [1, 2.5]})
    assert cache.read_json("web", "tracks-lunar", "k", validate=needs_t0) == {"t0": 1.0, "xs": [1, 2.5]}
    cache.write_arrays("meshes", "globe", "k", {"points": np.array([0.0, np.nan])})
    assert cache.read_arrays("meshes", "globe", "k") is None
    cache.write_arrays("meshes", "globe", "k", {"points": np.zeros(3)})
    assert cache.read_arrays("meshes", "globe", "k", required=("points", "faces")) is None
    assert cache.all_finite({"a": [1, 2.0, {"b": None}]}) and not cache.all_finite([float("nan")])
