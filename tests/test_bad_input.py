"""Bad input gets one line naming the file or value and the fix: a cache folder that is a file or unwritable, a
views.yaml that is not UTF-8, a lola.yaml of the wrong shape, a LOLA address that is not a URL, and an orbit camera
of infinite or NaN turns."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from viewer.errors import DataError, InputError, ViewerError


def _cli(env_extra, *args, timeout=120) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "viewer", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _one_line(res, *words):
    assert res.returncode == 2, (res.returncode, res.stdout[-300:], res.stderr[-600:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_cache_folder_that_is_a_file(tmp_path):
    bad = tmp_path / "cache"
    bad.write_text("not a folder")
    _one_line(_cli({"VIEWER_CACHE_DIR": str(bad)}, "kernels", "path"), str(bad), "is a file", "VIEWER_CACHE_DIR")


def test_cache_dir_errors_are_viewer_errors(tmp_path, monkeypatch):
    from viewer import paths

    bad = tmp_path / "file"
    bad.write_text("x")
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(bad / "sub"))
    with pytest.raises(ViewerError, match="cannot be created|is a file"):
        paths.cache_dir()


def test_views_yaml_not_utf8(tmp_path, monkeypatch):
    from viewer.scene import views

    bad = tmp_path / "views.yaml"
    bad.write_bytes('views:\n  system: {title: {en: "Erde"}}\n'.encode("utf-16"))
    with pytest.raises(DataError, match="not UTF-8") as err:
        views.load_views(bad)
    assert str(bad) in str(err.value)


def test_lola_yaml_wrong_shape(tmp_path, monkeypatch):
    from viewer.terrain import download

    bad = tmp_path / "lola.yaml"
    bad.write_text("- just\n- a list\n")
    monkeypatch.setattr(download, "CATALOG_PATH", bad)
    with pytest.raises(DataError, match="products") as err:
        download.catalog()
    assert str(bad) in str(err.value)


def test_lola_url_that_is_not_a_url(monkeypatch):
    from viewer.terrain import archive, download

    monkeypatch.setenv("VIEWER_LOLA_BASE_URL", "not a url")
    with pytest.raises(InputError, match="VIEWER_LOLA_BASE_URL='not a url' is not an http"):
        download.base_url()
    monkeypatch.setenv("VIEWER_LOLA_VOLUME_URL", "ftp:/x" + "y" * 5000)
    with pytest.raises(InputError, match="VIEWER_LOLA_VOLUME_URL") as err:
        archive.volume_url()
    assert len(str(err.value)) < 200


@pytest.mark.parametrize("spec", ["orbit:inf", "orbit:nan", "orbit:-inf", "orbit:1e9"])
def test_orbit_camera_needs_finite_turns(spec):
    from viewer.export import camera_paths as cp

    with pytest.raises(InputError, match="finite"):
        cp.parse_spec(spec)
