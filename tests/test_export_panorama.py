"""Dome masters (angular fisheye) and 360° equirectangular frames of the real mission scene.

Geometry on real frames: the camera is turned so that the Earth (a ~2° disc from lunar orbit) lies at a chosen
angle from the view axis; everything but the Earth is hidden, and the disc's centroid must land where the
projection's formula says (fisheye: radius θ / (fov/2) · R, within 1 % of R; equirect: (az, el) within 0.5 % of
the width). The formulas are written out here, independently of viewer.export.panorama. The 360° seam is
continuous; corners of a dome master are black; a real 360° MP4 carries the Spherical Video V2 boxes that ffmpeg
reads back; the CLI's mistakes are one line each.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viewer.errors import InputError
from viewer.export.ffmpeg import ffmpeg_exe, probe
from viewer.export.panorama import Projection, check_panorama_size, make_projection, parse_panorama_size

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow", PYTHONUNBUFFERED="1")
LUNAR_ORBIT_UTC = "2024-06-01T12:00:00Z"


def _cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "viewer", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _fisheye_pixel(theta_deg: float, bearing_deg: float, size: int, fov: float) -> tuple[float, float]:
    """The angular fisheye (dome master): radius θ/(fov/2)·R; bearing measured from the right, counter-clockwise."""
    r = theta_deg / (fov / 2) * (size / 2)
    b = math.radians(bearing_deg)
    return size / 2 + r * math.cos(b), size / 2 - r * math.sin(b)


def _equirect_pixel(az_deg: float, el_deg: float, w: int, h: int) -> tuple[float, float]:
    return (0.5 + az_deg / 360.0) * w, (0.5 - el_deg / 180.0) * h


def _camera_dir(theta_deg: float, bearing_deg: float) -> np.ndarray:
    """Camera-frame direction (x right, y up, z forward) at angle θ from the axis, bearing from the right."""
    t, b = math.radians(theta_deg), math.radians(bearing_deg)
    return np.array([math.sin(t) * math.cos(b), math.sin(t) * math.sin(b), math.cos(t)])


def _pose_seeing(position, target, direction_cam):
    """A camera at ``position`` that sees ``target`` along the camera-frame direction ``direction_cam``
    (x right, y up, z forward; VTK's right is forward × up)."""
    from viewer.export import camera_paths as cp

    d = _unit(direction_cam)
    fwd0, up0 = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    right0 = np.cross(fwd0, up0)
    e0 = d[0] * right0 + d[1] * up0 + d[2] * fwd0
    e = _unit(np.asarray(target, float) - position)
    axis = np.cross(e0, e)
    angle = math.atan2(np.linalg.norm(axis), float(np.dot(e0, e)))
    if np.linalg.norm(axis) < 1e-12:
        axis = np.cross(e0, [1.0, 0.0, 0.0]) if abs(e0[0]) < 0.9 else np.cross(e0, [0.0, 1.0, 0.0])
    fwd, up = cp.rotate(fwd0, axis, angle), cp.rotate(up0, axis, angle)
    right = np.cross(fwd, up)
    assert np.allclose(d[0] * right + d[1] * up + d[2] * fwd, e, atol=1e-9)
    return cp.Pose.of(position, position + fwd * 1000.0, up, 30.0)


class _FixedPath:
    def __init__(self, pose):
        self._pose = pose

    def pose(self, et, base):
        return self._pose


def _source(size, projection, et, keep=("earth",)):
    """A PanoramaSource in the lunar view at ``et`` that draws only the actors in ``keep`` (self-lit, so the
    night side shows too)."""
    from viewer.export import camera_paths as cp
    from viewer.export.panorama_source import PanoramaSource

    class Only(PanoramaSource):
        fixed = None

        def _enter(self, i, et):
            super()._enter(i, et)
            if self.fixed is not None:
                self._path = _FixedPath(self.fixed)

        def _hide_screen_texts(self):  # runs when each render starts
            super()._hide_screen_texts()
            for name, actor in self.scene.actors.items():
                if name not in keep:
                    actor.SetVisibility(False)
                else:
                    actor.GetProperty().SetAmbient(1.0)

    return Only(size, [cp.Segment(et, et + 60.0, "lunar", "preset")], projection, ets=np.array([et]))


def _earth_in_lunar_view(src, et) -> np.ndarray:
    from viewer import ephemeris

    view = src.scene.view
    return ephemeris.positions("EARTH", np.array([et]), observer="MOON", frame=view.frame)[0] * view.units_per_km


def _blob_centroid(frame: np.ndarray, near: tuple[float, float], radius: float) -> tuple[float, float, int]:
    lit = frame.max(axis=2) > 40
    ys, xs = np.nonzero(lit)
    keep = (xs - near[0]) ** 2 + (ys - near[1]) ** 2 < radius**2
    assert keep.sum() > 3, f"nothing drawn near {near}; lit pixels at {list(zip(xs[:5], ys[:5]))}"
    return float(xs[keep].mean() + 0.5), float(ys[keep].mean() + 0.5), int(keep.sum())


# ---------------------------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    "kind,fov,tilt,size,expect",
    [
        ("fisheye", None, None, (2048, 1024), "a fisheye dome master is square"),
        ("fisheye", None, None, (2047, 2047), "odd side"),
        ("fisheye", 250.0, None, (2048, 2048), "--fov 250 is out of range"),
        ("fisheye", 60.0, None, (2048, 2048), "--fov 60 is out of range"),
        ("fisheye", None, 120.0, (2048, 2048), "--dome-tilt 120 is out of range"),
        ("fisheye", None, None, (8192, 8192), "larger than fisheye allows"),
        ("equirect", None, None, (4096, 4096), "is 2:1"),
        ("equirect", None, None, (2050, 1025), "odd side"),
        ("equirect", 180.0, None, (4096, 2048), "--fov is for --projection fisheye"),
        ("equirect", None, None, (128, 64), "too small"),
        ("cylinder", None, None, (4096, 2048), "--projection 'cylinder' is unknown"),
    ],
)
def test_bad_projection_values_are_one_line(kind, fov, tilt, size, expect):
    with pytest.raises(InputError) as err:
        check_panorama_size(make_projection(kind, fov=fov, tilt=tilt), size)
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_default_sizes_and_cube_resolution():
    fish, equi = make_projection("fisheye"), make_projection("equirect")
    assert parse_panorama_size(None, fish) == (2048, 2048) and parse_panorama_size(None, equi) == (4096, 2048)
    assert parse_panorama_size("4096x4096", fish) == (4096, 4096)
    # a face pixel at the face centre is no larger than an output pixel: 2/n rad <= 2π/W (360°), <= fov/N (dome)
    for proj, size in ((equi, (4096, 2048)), (fish, (2048, 2048)), (make_projection("fisheye", fov=220), (2048,) * 2)):
        n = proj.cube_resolution(size)
        per_px = 2 * math.pi / size[0] if proj.kind == "equirect" else math.radians(proj.fov_deg) / size[0]
        assert 2.0 / n <= per_px * 1.0001 and 2.0 / (n - 4) > per_px, (proj, n)


def test_the_formulas_here_match_the_module():
    d = np.array([_camera_dir(50, 30), _camera_dir(100, -120)])
    got = Projection("fisheye", 220.0).pixel_of(d, (1000, 1000))
    assert np.allclose(got[0], _fisheye_pixel(50, 30, 1000, 220)) and np.allclose(
        got[1], _fisheye_pixel(100, -120, 1000, 220)
    )
    az, el = 100.0, 25.0
    direction = [math.cos(math.radians(el)) * math.sin(math.radians(az)), math.sin(math.radians(el)),
                 math.cos(math.radians(el)) * math.cos(math.radians(az))]  # fmt: skip
    assert np.allclose(Projection("equirect").pixel_of(direction, (800, 400))[0], _equirect_pixel(az, el, 800, 400))


# ---------------------------------------------------------------------------------------------- real frames


@pytest.mark.parametrize("fov,tilt,theta,bearing", [(180.0, 0.0, 60.0, 30.0), (220.0, 0.0, 100.0, -140.0),
                                                     (180.0, 25.0, 40.0, 70.0)])  # fmt: skip
def test_fisheye_puts_the_earth_at_theta_over_half_fov(kernels_loaded, fov, tilt, theta, bearing):
    from viewer.epochs import et_from_utc

    n = 512
    et = et_from_utc(LUNAR_ORBIT_UTC)
    projection = make_projection("fisheye", fov=fov, tilt=tilt)
    src = _source((n, n), projection, et)
    try:
        src.render_frame(et)  # builds the view; the camera position is the lunar preset's
        position = np.asarray(src.scene.plotter.camera.position, float)
        earth = _earth_in_lunar_view(src, et)
        # θ and bearing are measured from the dome axis, which the tilt turns up from the camera's view direction
        t = math.radians(tilt)
        to_dome = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
        src.fixed = _pose_seeing(position, earth, to_dome.T @ _camera_dir(theta, bearing))
        src._seg_index = -1
        frame = src.render_frame(et)
    finally:
        src.close()
    expect = _fisheye_pixel(theta, bearing, n, fov)
    x, y, count = _blob_centroid(frame, expect, 0.05 * n)
    r_got = math.hypot(x - n / 2, y - n / 2)
    assert abs(r_got - theta / (fov / 2) * n / 2) < 0.01 * n / 2, (x, y, expect)
    assert math.hypot(x - expect[0], y - expect[1]) < 0.01 * n / 2, (x, y, expect)
    assert count < 200  # the Earth alone, not a smear
    for cy, cx in ((0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)):
        assert frame[cy, cx].max() == 0


@pytest.mark.parametrize("az,el", [(100.0, 25.0), (-150.0, -40.0)])
def test_equirect_puts_the_earth_at_its_azimuth_and_elevation(kernels_loaded, az, el):
    from viewer.epochs import et_from_utc

    w, h = 1024, 512
    et = et_from_utc(LUNAR_ORBIT_UTC)
    src = _source((w, h), make_projection("equirect"), et)
    try:
        src.render_frame(et)
        position = np.asarray(src.scene.plotter.camera.position, float)
        a, e = math.radians(az), math.radians(el)
        src.fixed = _pose_seeing(
            position, _earth_in_lunar_view(src, et), [math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)]
        )
        src._seg_index = -1
        frame = src.render_frame(et)
        notes = src.notes_at(et)  # the scene's screen notes, hidden in the frame, handed to the dome overlays
        labels = src.labels_at(et)  # the labels, at their pixels in the panorama
    finally:
        src.close()
    assert any("spacecraft enlarged ×" in n for n in notes), notes
    expect = _equirect_pixel(az, el, w, h)
    earth = [label for label in labels if label.text == "Earth"]
    assert earth and math.hypot(earth[0].at[0] - expect[0], earth[0].at[1] - expect[1]) < 0.01 * w, labels
    x, y, _ = _blob_centroid(frame, expect, 0.05 * w)
    assert math.hypot(x - expect[0], y - expect[1]) < 0.005 * w, (x, y, expect)


def test_no_screen_text_is_drawn_on_the_cube_faces(kernels_loaded):
    """The scene places labels and the relay legend just before it renders; none of them is drawn in a panorama."""
    from viewer.epochs import et_from_utc
    from viewer.export import camera_paths as cp
    from viewer.export.panorama_source import PanoramaSource

    et = et_from_utc(LUNAR_ORBIT_UTC)
    src = PanoramaSource((512, 256), [cp.Segment(et, et + 60, "lunar", "preset")], make_projection("equirect"),
                         ets=np.array([et]))  # fmt: skip
    drawn = []
    src.scene.renderer.AddObserver("EndEvent", lambda *a: drawn.extend(_visible_2d(src.scene.renderer)))
    try:
        src.render_frame(et)
        assert src.labels_at(et), "the scene has labels to place at this time"
    finally:
        src.close()
    assert drawn == []


def _visible_2d(renderer) -> list[str]:
    props = renderer.GetViewProps()
    props.InitTraversal()
    out = []
    for _ in range(props.GetNumberOfItems()):
        prop = props.GetNextProp()
        if prop.IsA("vtkActor2D") and prop.GetVisibility():
            out.append(prop.GetClassName())
    return out


def test_equirect_seam_is_continuous(kernels_loaded):
    """The Moon straight behind the camera straddles the left and right edges: the two edge columns agree."""
    from viewer.epochs import et_from_utc

    w, h = 1024, 512
    et = et_from_utc(LUNAR_ORBIT_UTC)
    src = _source((w, h), make_projection("equirect"), et, keep=("moon",))
    try:
        src.render_frame(et)
        position = np.asarray(src.scene.plotter.camera.position, float)
        src.fixed = _pose_seeing(position, np.zeros(3), [0.0, 0.1, -1.0])  # the Moon's centre behind, 6° up
        src._seg_index = -1
        frame = src.render_frame(et).astype(int)
    finally:
        src.close()
    left, right = frame[:, 0], frame[:, -1]
    rows = left.max(axis=1) > 20
    assert rows.sum() > 0.1 * h, "the Moon is not on the seam"
    seam = np.abs(left - right)[rows].mean()
    neighbours = np.abs(frame[:, 0] - frame[:, 1])[rows].mean()  # two adjacent columns inside the frame
    assert seam < 3 * neighbours + 2.0, (seam, neighbours)
    # the Moon's rows on both edges are the same rows
    assert np.abs((left.max(axis=1) > 20).astype(int) - (right.max(axis=1) > 20).astype(int)).sum() <= 2


# ---------------------------------------------------------------------------------------------- files


def test_a_360_mp4_carries_spherical_metadata_and_decodes(tmp_path):
    out = tmp_path / "descent360.mp4"
    r = _cli("export", "video", "--phase", "powered_descent", "--projection", "equirect", "--size", "1024x512",
             "--fps", "10", "--duration", "1", "--credits", "0.5", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (1024, 512))
    assert info["frames"] == 15 and info["faststart"]
    assert "1/15 frames" in r.stderr and "15/15 frames 100%" in r.stderr  # the progress lines (stderr not a tty)
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "Spherical Mapping: equirectangular" in text and "Stereo 3D: 2D" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["descent360.mp4"]


def _decoded(path: Path) -> list[bytes]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    next(gen)
    return [bytes(b) for b in gen]


@pytest.mark.parametrize("faststart", [True, False])
def test_spherical_boxes_keep_every_frame(tmp_path, faststart):
    """Adding the boxes moves the media data (moov first) or not (moov last); every frame decodes as before."""
    import shutil

    from viewer.export.spherical import add_equirect_metadata
    from viewer.export.video import FfmpegSink

    plain = tmp_path / "plain.mp4"
    with FfmpegSink(plain, (256, 128), 10) as sink:
        for i in range(12):
            frame = np.zeros((128, 256, 3), np.uint8)
            frame[:, (20 * i) % 256 : (20 * i) % 256 + 30] = (200, 120, 40)
            sink.write(frame)
        sink.commit()
    marked = tmp_path / "marked.mp4"
    if faststart:
        shutil.copy(plain, marked)
    else:  # the muxer's default: moov after mdat
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(plain), "-c", "copy", str(marked)], check=True)
    assert probe(marked)["faststart"] is faststart
    add_equirect_metadata(marked)
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(marked)], capture_output=True, text=True).stderr
    assert "Spherical Mapping: equirectangular" in text
    assert _decoded(marked) == _decoded(plain) and len(_decoded(plain)) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marked.mp4", "plain.mp4"]


def test_a_file_that_is_not_an_mp4_is_refused_in_one_line(tmp_path):
    from viewer.export.spherical import add_equirect_metadata
    from viewer.export.video import ExportError

    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00\x00\x00\x10ftypisom" + b"\x00" * 8 + b"garbage")
    with pytest.raises(ExportError) as err:
        add_equirect_metadata(bad)
    assert "\n" not in str(err.value) and "x.mp4" in str(err.value)


def test_a_clean_dome_master_as_a_png_sequence(tmp_path):
    """--captions none: nothing burnt in and no credits; every frame is a dome master with black corners."""
    from PIL import Image

    out = tmp_path / "dome_frames"
    r = _cli("export", "video", "--phase", "powered_descent", "--projection", "fisheye", "--fov", "200",
             "--dome-tilt", "30", "--size", "256x256", "--fps", "4", "--duration", "1", "--captions", "none",
             "--png-dir", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(4)]  # 4 frames, no credits
    from viewer.export.render_job import JobSpec, make_overlays

    clean = JobSpec(0.0, 1.0, (256, 256), captions=None, projection=make_projection("fisheye"))
    assert make_overlays(clean, None) is None and clean.credit_frames() == 0  # nothing is drawn over the frames
    captioned = JobSpec(0.0, 1.0, (256, 256), captions="en", projection=make_projection("fisheye"))
    from viewer.export.overlays import OverlayContent

    assert make_overlays(captioned, OverlayContent("en", [])) is not None and captioned.credit_frames() > 0
    for name in names:
        frame = np.asarray(Image.open(out / name).convert("RGB"))
        assert frame.shape == (256, 256, 3) and frame[[0, 0, -1, -1], [0, -1, 0, -1]].max() == 0
        assert frame.std() > 3


def test_a_dome_master_still_is_black_outside_the_circle(tmp_path):
    from PIL import Image

    out = tmp_path / "dome.png"
    r = _cli("screenshot", "--time", "2024-06-01T22:10:00Z", "--view", "site", "--projection", "fisheye",
             "--size", "512x512", "--quality", "fast", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    frame = np.asarray(Image.open(out).convert("RGB"))
    assert frame.shape == (512, 512, 3)
    y, x = np.mgrid[0:512, 0:512]
    outside = (x + 0.5 - 256) ** 2 + (y + 0.5 - 256) ** 2 > 256**2
    assert frame[outside].max() == 0 and frame[~outside].std() > 5


def test_dome_captions_stay_inside_the_circle():
    from viewer.export.dome_overlays import DomeOverlays
    from viewer.export.overlays import OverlayContent, PhaseText

    long = "The lander fires its 7500 N engine, hovers, picks a safe spot and touches down in Apollo crater. " * 2
    content = OverlayContent("en", [PhaseText("p", 0.0, 100.0, "Powered descent and landing", long, "sourced")])
    for n in (1024, 2048):
        frame = np.zeros((n, n, 3), np.uint8)
        DomeOverlays((n, n), content, make_projection("fisheye"))(frame, 50.0, 0)
        y, x = np.mgrid[0:n, 0:n]
        r = np.hypot(x + 0.5 - n / 2, y + 0.5 - n / 2) / (n / 2)
        drawn = frame.max(axis=2) > 0
        assert drawn.sum() > 0.002 * n * n and r[drawn].max() < 1.0
        assert (y[drawn] > n / 2).mean() > 0.7  # the lower front of the dome
    # the scene's notes go in the band too, inside the circle
    n = 1024
    frame = np.zeros((n, n, 3), np.uint8)
    notes = ("spacecraft enlarged ×40,000", "attitudes: assumed")
    ov = DomeOverlays((n, n), content, make_projection("fisheye"), notes=lambda et: notes)
    with_notes = ov(frame, 50.0, 0)
    plain = DomeOverlays((n, n), content, make_projection("fisheye"))(np.zeros_like(frame), 50.0, 0)
    y, x = np.mgrid[0:n, 0:n]
    extra = (with_notes.max(axis=2) > 0) & ~(plain.max(axis=2) > 0)
    assert extra.sum() > 200 and np.hypot(x[extra] + 0.5 - n / 2, y[extra] + 0.5 - n / 2).max() < n / 2


@pytest.mark.parametrize("kind,size", [("fisheye", (2048, 2048)), ("fisheye", (512, 512)), ("equirect", (4096, 2048))])
def test_the_credits_card_sits_in_the_viewing_band(kind, size):
    """Dome: the card centred 0.3 R below the centre (the lower front), inside the circle; 360°: straight ahead."""
    from viewer.export.dome_overlays import DomeOverlays
    from viewer.export.overlays import content_from_mission
    from viewer.mission import load_mission

    content = content_from_mission(load_mission(), "en")
    w, h = size
    ov = DomeOverlays(size, content, make_projection(kind))
    (frame,) = list(ov.credits_frames(None, 1, content.phases[:3], fade=1))
    y, x = np.mgrid[0:h, 0:w]
    drawn = frame.max(axis=2) > 0
    assert drawn.sum() > 0.002 * w * h  # the text (the card's dark backing stays 0 over black)
    cx, cy = x[drawn].mean(), y[drawn].mean()
    if kind == "fisheye":
        assert np.hypot(x[drawn] + 0.5 - w / 2, y[drawn] + 0.5 - h / 2).max() < w / 2
        assert abs(cx - w / 2) < 0.05 * w and 0.1 * h / 2 < cy - h / 2 < 0.5 * h / 2, (cx, cy)
    else:
        az = (x[drawn] + 0.5) / w * 360.0 - 180.0
        assert np.abs(az).max() < 45.0 and abs(cy - h / 2) < 0.1 * h, (cx, cy)


@pytest.mark.parametrize("n", [384, 2048])
def test_the_site_views_long_notes_wrap_inside_the_circle(n):
    """The site view's five notes (scale, attitudes, Sun, Earth, the ground) are wider than the dome's chord on one
    line: they wrap, between notes, and stay inside the circle at every size."""
    from viewer.export.dome_overlays import DomeOverlays
    from viewer.export.overlays import OverlayContent

    notes = ("spacecraft enlarged ×500", "attitudes: assumed", "Sun el 36.9°  az 45°",
             "Earth below horizon: el -42.7°  az 144°", "LOLA 512 px/deg, 59 m")  # fmt: skip
    ov = DomeOverlays((n, n), OverlayContent("en", []), make_projection("fisheye"), notes=lambda et: notes)
    frame = ov(np.zeros((n, n, 3), np.uint8), 0.0, 0)
    y, x = np.mgrid[0:n, 0:n]
    drawn = frame.max(axis=2) > 0
    assert np.hypot(x[drawn] + 0.5 - n / 2, y[drawn] + 0.5 - n / 2).max() < n / 2
    rows = np.flatnonzero(drawn.any(axis=1))
    assert rows.min() > n / 2  # in the lower front
    patch = ov._notes_patch(notes)
    assert patch.height > 1.5 * ov._notes_patch(notes[:1]).height  # on two lines or more


def test_labels_are_drawn_just_above_their_points():
    from viewer.export.dome_overlays import DomeOverlays, Label
    from viewer.export.overlays import OverlayContent

    w, h = 1024, 512
    marks = (Label("Earth", (700.0, 150.0), "#3f7fbf"), Label("Queqiao-2", (5.0, 400.0), "#ffffff"))
    frame = np.zeros((h, w, 3), np.uint8)
    ov = DomeOverlays((w, h), OverlayContent(None, []), make_projection("equirect"), labels=lambda et: marks)
    ov.clock = False
    ov(frame, 0.0, 0)
    ys, xs = np.nonzero(frame.max(axis=2) > 0)
    near = (np.abs(xs - 700) < 60) & (ys < 150) & (ys > 120)
    assert near.sum() > 30 and near.sum() == (np.abs(xs - 700) < 60).sum()  # just above its point, nowhere else
    blue = frame[ys[near], xs[near]]
    assert (blue[:, 2] > blue[:, 0]).mean() > 0.5  # in the Earth's colour
    assert ((xs < 60) & (ys > 370) & (ys < 400)).sum() > 10  # a label at the left edge is clipped, not lost
    # on a dome master a label at the rim is cut at the circle: black outside it
    n = 512
    rim = (Label("Queqiao-2", (n / 2 + 0.7 * n / 2, n / 2 - 0.7 * n / 2), "#ffffff"),)
    frame = np.zeros((n, n, 3), np.uint8)
    ov = DomeOverlays((n, n), OverlayContent(None, []), make_projection("fisheye"), labels=lambda et: rim)
    ov.clock = False
    ov(frame, 0.0, 0)
    y, x = np.mgrid[0:n, 0:n]
    outside = (x + 0.5 - n / 2) ** 2 + (y + 0.5 - n / 2) ** 2 > (n / 2) ** 2
    assert frame[~outside].max() > 0 and frame[outside].max() == 0


@pytest.mark.parametrize(
    "args,expect",
    [
        (["--projection", "fisheye", "--size", "2048x1024"], "is square"),
        (["--projection", "fisheye", "--fov", "300"], "--fov 300 is out of range"),
        (["--projection", "equirect", "--size", "4096x4096"], "is 2:1"),
        (["--projection", "equirect", "--size", "4094x2047"], "odd side"),
        (["--projection", "equirect", "--size", "4095x2047"], "is 2:1; use e.g. 4096x2048"),
        (["--projection", "perspective", "--dome-tilt", "10"], "--dome-tilt is for --projection fisheye"),
    ],
)
def test_cli_projection_mistakes_are_one_line(tmp_path, args, expect):
    r = _cli("export", "video", "--phase", "powered_descent", *args, str(tmp_path / "x.mp4"), timeout=60)
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if "error" in x]
    assert len(lines) == 1 and expect in lines[0], r.stderr
    assert "Traceback" not in r.stderr and list(tmp_path.iterdir()) == []
