"""``export video`` end to end with the real MissionScene: a short clip checks out, killing an export leaves
nothing, a background job finishes and can be cancelled, a 4K screenshot works.

Small sizes and few frames keep this file to a few tens of seconds on the 2-core CI machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from viewer.export.ffmpeg import probe

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow", PYTHONUNBUFFERED="1")


def _cli(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "viewer", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def _frames(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    w, h = next(gen)["size"]
    return [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]


def test_two_second_clip_of_the_landing(tmp_path):
    out = tmp_path / "landing.mp4"
    r = _cli(
        "export",
        "video",
        "--phase",
        "powered_descent",
        "--size",
        "640x360",
        "--fps",
        "15",
        "--duration",
        "2",
        "--camera",
        "orbit:0.5",
        "--credits",
        "1",
        "--captions",
        "zh",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (640, 360))
    assert info["frames"] == 15 * (2 + 1) and info["seconds"] == pytest.approx(3.0, abs=0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing.mp4"]
    frames = _frames(out)
    # the camera circles the site: consecutive frames differ (outside the overlays too)
    mid = slice(int(0.3 * 360), int(0.7 * 360))
    diffs = [np.abs(frames[i + 1][mid].astype(int) - frames[i][mid].astype(int)).mean() for i in range(0, 28, 4)]
    assert min(diffs) > 0.05, diffs
    # the credits hold still at the end and differ from the clip
    assert np.abs(frames[-1].astype(int) - frames[-2].astype(int)).mean() < 1.0
    assert np.abs(frames[-1].astype(int) - frames[10].astype(int)).mean() > 2.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_killing_an_export_leaves_no_file(tmp_path, sig):
    out = tmp_path / "killed.mp4"
    clip = ["export", "video", "--phase", "lunar_orbit", "--size", "320x180"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "viewer", *clip, "--fps", "30", "--duration", "60", "--progress", "lines", str(out)],
        cwd=REPO,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        seen = ""
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
            if " 1/" in line and "frames" in line:  # the first frame went into the encoder
                break
        assert " 1/" in seen, seen
        time.sleep(0.5)
        assert any(p.name.startswith(".killed.mp4.") for p in tmp_path.iterdir()), "temp file expected mid-export"
        proc.send_signal(sig)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGKILL:  # nothing can clean up after this: the next export to that name does
        assert any(p.name.startswith(".killed.mp4.") for p in tmp_path.iterdir())
        again = _cli(*clip, "--fps", "5", "--duration", "1", str(out), timeout=300)
        assert again.returncode == 0, again.stderr[-800:]
        assert [p.name for p in tmp_path.iterdir()] == ["killed.mp4"]
        return
    assert proc.returncode == 130, rest
    assert list(tmp_path.iterdir()) == []


def test_background_job_finishes_and_cancels(tmp_path):
    from viewer.export.jobs import start_phase_export

    job = start_phase_export(
        "landing",
        size=(320, 180),
        fps=10,
        duration=1.0,
        out_dir=tmp_path,  # a chapter
        extra_args=["--credits", "0"],
    )
    status = job.wait(timeout=120)
    assert status.state == "done", status
    assert status.done == status.total == 10 and status.path.exists()
    assert probe(status.path)["frames"] == 10

    slow = start_phase_export("lunar_orbit", size=(320, 180), fps=30, duration=60, out_dir=tmp_path / "x")
    t0 = time.monotonic()
    while slow.status().done < 1 and slow.status().state == "running" and time.monotonic() - t0 < 120:
        time.sleep(0.2)
    assert slow.status().state == "running", slow.status()
    cancelled = slow.cancel()
    assert cancelled.state == "cancelled" and cancelled.path is None
    assert list((tmp_path / "x").iterdir()) == []

    bad = start_phase_export("no_such_phase", size=(320, 180), out_dir=tmp_path)
    st = bad.wait(timeout=60)
    assert st.state == "failed" and "unknown phase 'no_such_phase'" in st.error


@pytest.mark.parametrize(
    "args,expect",
    [
        (["--phase", "powered_descent", "--size", "641x360"], "width must be even"),
        (["--phase", "landing_on_mars", "--size", "640x360"], "unknown phase 'landing_on_mars'"),
        (["--from", "2024-06-01T22:00:00Z", "--to", "2024-06-01T21:00:00Z"], "is not after"),
        (["--phase", "ascent", "--captions", "fr"], "invalid choice"),
        (["--from", "2019-01-03T02:26:00Z", "--to", "2019-01-03T03:00:00Z"], "the kernels cover"),
        (["--phase", "ascent", "--camera", "follow:CHANGE7"], "cannot follow 'CHANGE7'"),
    ],
)
def test_cli_mistakes_are_one_line(tmp_path, args, expect):
    r = _cli("export", "video", *args, str(tmp_path / "x.mp4"), timeout=60)
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.startswith("error") or "error:" in x]
    assert len(lines) == 1 and expect in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_png_sequence_from_the_scene(tmp_path):
    out = tmp_path / "frames"
    r = _cli(
        "export",
        "video",
        "--from",
        "2024-06-03T23:38:10Z",
        "--to",
        "2024-06-03T23:40:10Z",
        "--view",
        "site",
        "--camera",
        "orbit:0.5",
        "--size",
        "320x180",
        "--fps",
        "5",
        "--duration",
        "1",
        "--credits",
        "0",
        "--captions",
        "none",
        "--png-dir",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(5)]


def test_4k_screenshot(tmp_path):
    from PIL import Image

    out = tmp_path / "still.png"
    r = _cli(
        "screenshot",
        "--time",
        "2024-06-01T22:23:16Z",
        "--view",
        "site",
        "--size",
        "3840x2160",
        "--quality",
        "fast",
        str(out),
        timeout=300,
    )
    if r.returncode != 0 and "unrecognized arguments" in r.stderr:
        pytest.fail(f"screenshot CLI changed its options: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    img = Image.open(out)
    assert img.size == (3840, 2160)
    arr = np.asarray(img.convert("RGB"))
    assert arr.std() > 5  # not blank


def test_flyto_carries_the_lunar_camera_into_the_site_frame(kernels_loaded):
    """The first frame after a lunar -> site cut starts where the lunar camera was, in metres in CHANGE6_TOPO."""
    import spiceypy

    from viewer.epochs import et_from_utc
    from viewer.export import camera_paths as cp
    from viewer.export.scene_source import SceneSource

    t0 = et_from_utc("2024-06-01T21:00:00Z")
    cut = t0 + 600.0
    segs = [cp.Segment(t0, cut, "lunar", "preset"), cp.Segment(cut, t0 + 1200.0, "site", "preset", flyto=True)]
    ets = np.array([t0, cut - 60.0, cut, cut + 60.0])
    src = SceneSource((160, 90), segs, ets=ets, speed=600.0)
    try:
        src.render_frame(float(ets[1]))
        cam = src.scene.plotter.camera
        lunar_km = np.array(cam.position)  # Moon-centred J2000 km (lunar view)
        src.render_frame(float(ets[2]))
        site_m = np.array(src.scene.plotter.camera.position)
        rot = np.array(spiceypy.pxform("J2000", "CHANGE6_TOPO", float(ets[2])))
        moon_from_site, _ = spiceypy.spkpos("MOON", float(ets[2]), "CHANGE6_TOPO", "NONE", "CHANGE6_SITE")
        expect = (rot @ lunar_km + np.array(moon_from_site)) * 1000.0
        assert np.allclose(site_m, expect, rtol=1e-6, atol=1.0)
        assert np.linalg.norm(site_m) > 1e6  # thousands of km away from the site, not the site preset's 60 km
        src.render_frame(float(ets[3]))
        assert np.linalg.norm(src.scene.plotter.camera.position) < 0.9 * np.linalg.norm(site_m)  # flying in
    finally:
        src.close()


def test_follow_keeps_the_vehicle_near_the_centre(kernels_loaded):
    """A fast clip (an hour per video second) following the orbiter keeps it near the middle of the frame."""
    from viewer.epochs import et_from_utc
    from viewer.export import camera_paths as cp
    from viewer.export.scene_source import SceneSource
    from viewer.scene.kinematics import coverage

    t0 = et_from_utc("2024-05-20T20:00:00Z")
    cov = coverage("CHANGE6_ORBITER")
    if cov is None or not (cov[0] <= t0 - 600 and t0 + 3600 <= cov[1]):
        pytest.fail("the orbiter's kernels do not cover 2024-05-20; run `python -m viewer kernels build`")
    ets = t0 + np.array([0.0, 1800.0, 3600.0])
    src = SceneSource((320, 180), [cp.Segment(t0, t0 + 3601, "lunar", "follow:CHANGE6_ORBITER")], ets=ets, speed=3600.0)
    try:
        for et in ets:
            src.render_frame(float(et))
            p = src.scene.poses(np.array([et])).positions["CHANGE6_ORBITER"][0]
            x, y = src.scene.project(p[None])[0]
            assert abs(x - 160) < 0.08 * 320 and abs(y - 90) < 0.08 * 180, (et, x, y)
    finally:
        src.close()
