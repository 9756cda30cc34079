"""Damaged or missing mission kernels are named in one line: the build records the size and sha256 of every project
kernel (kernels/checksums.json), and loading checks them, so garbage inside an SPK, a deleted SPK or a truncated
text PCK never loads silently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import spiceypy

from viewer import kernels, paths


def _copy(tmp_path):
    d = tmp_path / "kernels"
    shutil.copytree(paths.KERNELS_DIR, d)
    return d


def _kernels_path(d, tmp_path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "VIEWER_KERNELS_DIR": str(d),
        "VIEWER_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "viewer", "kernels", "path"], capture_output=True, text=True, env=env, timeout=120
    )


def _one_line(res, *words):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_committed_kernels_match_their_checksums():
    table = json.loads((paths.KERNELS_DIR / kernels.CHECKSUMS).read_text())["files"]
    on_disk = {p.name for p in paths.KERNELS_DIR.iterdir() if p.suffix in {".bsp", ".tf", ".tpc"}}
    assert set(table) == on_disk
    kernels.check_recorded(kernels.all_kernels())


def test_garbage_inside_an_spk_is_named(tmp_path):
    d = _copy(tmp_path)
    lander = d / "change6_lander.bsp"
    data = bytearray(lander.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 65536] = bytes(range(256)) * 256
    lander.write_bytes(bytes(data))
    _one_line(_kernels_path(d, tmp_path), "change6_lander.bsp", "damaged", "kernels build")


def test_a_deleted_spk_is_named(tmp_path):
    d = _copy(tmp_path)
    (d / "change6_orbiter.bsp").unlink()
    _one_line(_kernels_path(d, tmp_path), "change6_orbiter.bsp", "missing")


def test_a_truncated_text_pck_is_named(tmp_path):
    d = _copy(tmp_path)
    tpc = d / "viewer_bodies.tpc"
    tpc.write_bytes(tpc.read_bytes()[: len(tpc.read_bytes()) // 2])
    _one_line(_kernels_path(d, tmp_path), "viewer_bodies.tpc")


def test_a_broken_names_kernel_is_blamed_by_name(tmp_path, monkeypatch):
    d = _copy(tmp_path)
    names = d / "change6_names.tf"
    names.write_text(names.read_text() + "\n\\begindata\n   NAIF_BODY_NAME += ( 'BROKEN'\n")
    monkeypatch.setattr(paths, "KERNELS_DIR", d)
    culprit = kernels.blame(kernels.all_kernels())
    assert culprit is not None and culprit.path == names
    with pytest.raises(spiceypy.utils.exceptions.SpiceyError):
        with spiceypy.KernelPool([str(names)]):
            pass
