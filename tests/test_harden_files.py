"""No partial files (a SIGKILLed export: tests/test_export_scene.py): a temp left by a killed process is removed, the kernel set is swapped in whole with one rename
(an interrupted build leaves the old set bit for bit), and ``screenshot`` keeps an existing file unless --force."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viewer import paths

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow", PYTHONUNBUFFERED="1")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_stale_temps_of_gone_processes_are_removed(tmp_path):
    target = tmp_path / "clip.mp4"
    dead, alive = _dead_pid(), os.getpid()
    stale_file = tmp_path / f".clip.mp4.{dead}.part.mp4"
    stale_dir = tmp_path / f".clip.mp4.{dead}.part"
    stale_tmp = tmp_path / f".clip.mp4.{dead}.tmp"
    live = tmp_path / f".clip.mp4.{alive}.part.mp4"
    other = tmp_path / f".other.mp4.{dead}.part.mp4"
    for p in (stale_file, stale_tmp, live, other):
        p.write_bytes(b"x")
    stale_dir.mkdir()
    (stale_dir / "frame_000001.png").write_bytes(b"x")
    removed = paths.remove_stale_temps(target)
    assert sorted(removed) == sorted([stale_file, stale_dir, stale_tmp])
    assert live.exists() and other.exists()  # a running export's temp, and another target's, stay


@pytest.fixture
def kernel_copy(tmp_path):
    out = tmp_path / "kernels"
    shutil.copytree(REPO / "kernels", out)
    return out


def test_an_interrupted_kernel_build_leaves_the_old_set_whole(kernel_copy, monkeypatch):
    from viewer.trajectory import kernel_files

    before = _digests(kernel_copy)

    def interrupted(ctx, out_dir, code_version):  # the names kernel is new, then Ctrl+C before the SPKs
        paths.atomic_write_text(out_dir / kernel_files.NAMES_KERNEL, "KPL/FK\n\\begintext\n")
        (out_dir / kernel_files.SPK_FILES["CHANGE6_LANDER"]).write_bytes(b"half an SPK")
        raise KeyboardInterrupt

    monkeypatch.setattr(kernel_files, "_write_set", interrupted)
    with pytest.raises(KeyboardInterrupt):
        kernel_files.write_all(None, kernel_copy, "test")
    assert _digests(kernel_copy) == before  # bit for bit: no new names kernel beside the old SPKs
    assert sorted(p.name for p in kernel_copy.parent.iterdir()) == ["kernels"]  # no .tmp left


def test_a_kernel_build_swaps_the_new_set_in_and_keeps_the_rest(kernel_copy, monkeypatch):
    from viewer import kernels
    from viewer.trajectory import kernel_files

    before = _digests(kernel_copy)
    dead_tmp = kernel_copy.with_name(f".kernels.{_dead_pid()}.tmp")  # left by a build killed with SIGKILL
    dead_tmp.mkdir()
    inode = kernel_copy.stat().st_ino

    def complete(ctx, out_dir, code_version):
        (out_dir / kernel_files.NAMES_KERNEL).write_bytes((REPO / "kernels" / kernel_files.NAMES_KERNEL).read_bytes())
        (out_dir / kernel_files.MANIFEST).write_text('{"new": true}')
        return [kernel_files.NAMES_KERNEL, kernel_files.MANIFEST, kernels.write_checksums(out_dir).name]

    monkeypatch.setattr(kernel_files, "_write_set", complete)
    written = kernel_files.write_all(None, kernel_copy, "test")
    after = _digests(kernel_copy)
    assert written[:2] == [kernel_files.NAMES_KERNEL, kernel_files.MANIFEST]
    assert after[kernel_files.MANIFEST] != before[kernel_files.MANIFEST]
    assert {k: v for k, v in after.items() if k != kernel_files.MANIFEST} == {
        k: v for k, v in before.items() if k != kernel_files.MANIFEST
    }  # the SPKs and viewer_bodies.tpc it did not write are the same bytes
    assert kernel_copy.stat().st_ino != inode  # a new folder took the name
    assert sorted(p.name for p in kernel_copy.parent.iterdir()) == ["kernels"]


def test_screenshot_keeps_an_existing_file_without_force(tmp_path):
    out = tmp_path / "still.png"
    out.write_bytes(b"keep me")
    res = subprocess.run(
        [sys.executable, "-m", "viewer", "screenshot", "--time", "2024-06-01T22:23:16Z", "--view", "site"]
        + ["--size", "320x180", "--quality", "fast", str(out)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "--force" in lines[0] and str(out) in lines[0], res.stderr
    assert out.read_bytes() == b"keep me"
    forced = subprocess.run(
        [sys.executable, "-m", "viewer", "screenshot", "--time", "2024-06-01T22:23:16Z", "--view", "site"]
        + ["--size", "320x180", "--quality", "fast", "--force", str(out)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forced.returncode == 0, forced.stderr[-800:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------- shared server
@pytest.fixture
def slots(monkeypatch):
    from viewer.export import jobs

    monkeypatch.setattr(jobs, "MAX_RENDERS", 2)
    monkeypatch.setattr(jobs, "_renders", [])
    return jobs


def test_exports_across_sessions_share_a_process_wide_limit(slots, tmp_path):
    from viewer.errors import ViewerError

    started = [
        slots.start_phase_export("landing", size=(320, 180), fps=10, duration=30, out_dir=tmp_path) for _ in range(2)
    ]
    try:
        with pytest.raises(slots.ServerBusy) as err:  # a third tab
            slots.start_phase_export("landing", size=(320, 180), fps=10, duration=30, out_dir=tmp_path)
        assert isinstance(err.value, ViewerError) and "try again" in str(err.value)
        with pytest.raises(slots.ServerBusy):  # a still counts too
            slots.launch([sys.executable, "-c", "pass"])
        assert started[0].cancel().state == "cancelled"
        proc = slots.launch([sys.executable, "-c", "pass"])  # a slot is free again
        proc.wait(timeout=60)
    finally:
        for job in started:
            job.cancel()
    assert [p for p in tmp_path.iterdir() if p.suffix == ".mp4"] == []


def test_the_web_app_answers_busy_in_the_visitors_language(slots, monkeypatch):
    from viewer.ui import files
    from viewer.ui.i18n import t

    said = []
    monkeypatch.setattr(files, "notify", said.append)
    monkeypatch.setattr(files, "start_phase_export", lambda *a, **k: (_ for _ in ()).throw(slots.ServerBusy("busy")))
    controls = files.SaveControls.__new__(files.SaveControls)
    controls.state = type("S", (), {"phase": "landing", "language": "zh", "view": "site"})()
    controls._export_job = None
    controls._start_export()
    assert said == [t("server_busy", "zh")] and "请一分钟后再试" in said[0]


def test_old_exports_are_removed(slots, tmp_path):
    now = time.time()
    old = tmp_path / "change6_landing_old.mp4"
    fresh = [tmp_path / f"change6_shot_{k:02d}.png" for k in range(slots.KEEP_FILES + 3)]
    running = tmp_path / f".change6_landing_new.mp4.{os.getpid()}.part.mp4"
    for p in [old, *fresh, running]:
        p.write_bytes(b"x")
    os.utime(old, (now - slots.KEEP_S - 60, now - slots.KEEP_S - 60))
    for k, p in enumerate(fresh):
        os.utime(p, (now - k, now - k))  # fresh[0] is the newest
    removed = slots.clean_exports(tmp_path)
    assert sorted(removed) == sorted([old, *fresh[slots.KEEP_FILES :]])
    assert all(p.exists() for p in fresh[: slots.KEEP_FILES]) and running.exists()
