"""The generic kernel set: NAIF's own kernels from PyPI, MOON_ME, the meta-kernel and its one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import spiceypy

from viewer import kernels
from viewer.epochs import et_from_utc
from viewer.errors import KernelError

METER = 1e-3  # km
TOUCHDOWN = "2024-06-01T22:23:16Z"
SITE_LAT, SITE_LON_E, SITE_RADIUS_KM = -41.6385, 206.0148, 1737.4 - 5.256


def _meta_path_from_cli() -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "viewer", "kernels", "path"], capture_output=True, text=True, check=True
    )
    path = Path(out.stdout.strip())
    assert path.suffix == ".tm" and path.is_absolute() and path.exists()
    return path


def test_meta_kernel_matches_de440_alone():
    """Stock furnsh of the printed meta-kernel gives the same Earth–Moon vector as de440.bsp loaded alone."""
    path = _meta_path_from_cli()
    de440 = next(k.path for k in kernels.generic_kernels() if k.path.name == "de440.bsp")
    lsk = kernels.leapseconds_path()
    with spiceypy.KernelPool([str(lsk), str(de440)]):
        et = spiceypy.str2et("2024-06-01T22:23:16")
        alone, _ = spiceypy.spkpos("MOON", et, "J2000", "NONE", "EARTH")
    with spiceypy.KernelPool([str(path)]):
        et = spiceypy.str2et("2024-06-01T22:23:16")
        via_meta, _ = spiceypy.spkpos("MOON", et, "J2000", "NONE", "EARTH")
        loaded = [Path(spiceypy.kdata(i, "ALL")[0]).name for i in range(spiceypy.ktotal("ALL"))]
    assert np.linalg.norm(np.asarray(alone) - np.asarray(via_meta)) < 1 * METER
    assert 356_000 < np.linalg.norm(alone) < 407_000
    for name in (
        "de440.bsp",
        "moon_pa_de421_1900-2050.bpc",
        "moon_080317.tf",
        "moon_assoc_me.tf",
        "earth_assoc_itrf93.tf",
        "viewer_bodies.tpc",
    ):
        assert name in loaded
    for k in kernels.mission_kernels():
        assert k.path.name in loaded


def test_moon_me_site_stays_on_the_far_side(kernels_loaded):
    """The LROC site rotates with the Moon: over a month, it never faces Earth (Earth's elevation stays < 0)."""
    site_me = spiceypy.latrec(SITE_RADIUS_KM, np.radians(SITE_LON_E), np.radians(SITE_LAT))
    near_side_me = spiceypy.latrec(1737.4, 0.0, 0.0)  # sub-Earth region in MOON_ME
    et0 = et_from_utc("2024-05-20T00:00:00Z")
    for et in np.linspace(et0, et0 + 30 * 86400, 121):
        rot = spiceypy.pxform(kernels.moon_frame(), "J2000", et)
        moon_to_earth, _ = spiceypy.spkpos("EARTH", et, "J2000", "NONE", "MOON")
        up = rot @ np.asarray(site_me) / SITE_RADIUS_KM
        to_earth = np.asarray(moon_to_earth) - rot @ np.asarray(site_me)
        elevation = np.degrees(np.arcsin(np.dot(up, to_earth) / np.linalg.norm(to_earth)))
        assert elevation < -30.0
        near_up = rot @ np.asarray(near_side_me) / 1737.4
        assert np.dot(near_up, np.asarray(moon_to_earth)) / np.linalg.norm(moon_to_earth) > np.cos(np.radians(12))
    assert kernels.moon_frame() == "MOON_ME"


def test_moon_me_and_iau_fallback_agree(kernels_loaded):
    """The IAU_MOON fallback (our text PCK, IAU 2009 constants) is within 0.05° of MOON_ME."""
    et = et_from_utc(TOUCHDOWN)
    rot = spiceypy.pxform("MOON_ME", "IAU_MOON", et)
    angle = np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1)))
    assert angle < 0.05


def _copy_kernel_dir(tmp_path: Path) -> Path:
    d = tmp_path / "kernels"
    shutil.copytree(kernels.paths.KERNELS_DIR, d)
    return d


def _run_cli(env_extra: dict, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "viewer", *args], capture_output=True, text=True, env=env)


def test_truncated_spk_gives_one_line_error(tmp_path):
    d = _copy_kernel_dir(tmp_path)
    bad = d / "change6_zz_truncated.bsp"
    de440 = next(k.path for k in kernels.generic_kernels() if k.path.name == "de440.bsp")
    with open(de440, "rb") as src:
        bad.write_bytes(src.read(200_000))
    res = _run_cli({"VIEWER_KERNELS_DIR": str(d), "VIEWER_CACHE_DIR": str(tmp_path / "cache")}, "kernels", "path")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(bad) in lines[0] and "truncated" in lines[0] and "kernels build" in lines[0]
    assert "Traceback" not in res.stderr


def test_missing_kernel_gives_one_line_error(tmp_path):
    d = _copy_kernel_dir(tmp_path)
    (d / "viewer_bodies.tpc").unlink()
    res = _run_cli({"VIEWER_KERNELS_DIR": str(d), "VIEWER_CACHE_DIR": str(tmp_path / "cache")}, "info")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "viewer_bodies.tpc" in lines[0] and "missing" in lines[0] and "git checkout" in lines[0]


def test_check_kernel_rejects_garbage_text_kernel(tmp_path):
    bogus = tmp_path / "bogus.tf"
    bogus.write_text("hello\n")
    with pytest.raises(KernelError, match="not a SPICE text kernel"):
        kernels.check_kernel(kernels.Kernel(bogus, "FK", "test", "project", "fix it"))


def test_furnish_and_unload_are_a_pair():
    kernels.furnish()
    n = spiceypy.ktotal("ALL")
    assert kernels.furnish() == kernels.furnish()  # idempotent: loaded once per process
    assert spiceypy.ktotal("ALL") == n
    kernels.unload()
    assert spiceypy.ktotal("ALL") < n
    kernels.furnish()
    assert spiceypy.ktotal("ALL") == n


def test_furnish_reloads_after_someone_clears_the_pool():
    kernels.furnish()
    spiceypy.kclear()
    kernels.furnish()
    assert spiceypy.ktotal("ALL") > 5
    assert spiceypy.bodvrd("MOON", "RADII", 3)[1][0] == pytest.approx(1737.4)
    from viewer import epochs

    spiceypy.kclear()
    assert epochs.utc_from_et(epochs.et_from_utc("2024-06-01T22:23:16Z")) == "2024-06-01T22:23:16Z"
    kernels.furnish()


def test_info_into_a_closed_pipe_stops_quietly():
    """``python -m viewer info | head -0``: the reader is gone before the report is written; the command stops
    with the shell's broken-pipe status and no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "viewer", "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()  # the only read end: every write of the child now fails with EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err, err
