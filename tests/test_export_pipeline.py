"""The video pipeline on its own: ffmpeg pipe, atomic output, sizes, frame stepping, overlays and camera maths.

The frame source here is a tiny numpy renderer (a square moving with ET), so these tests check the encoder and
the safety rules without building the mission scene; tests/test_export_scene.py runs the real scene.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from viewer.errors import InputError
from viewer.export import camera_paths as cp
from viewer.export.ffmpeg import probe
from viewer.export.progress import Progress
from viewer.export.video import ExportError, FfmpegSink, check_size, export, frame_ets, parse_size


class MovingSquare:
    """Draws a red square whose x position is ET modulo the width (so consecutive frames differ)."""

    def __init__(self, size=(640, 360), fail_at: int | None = None):
        self.size = size
        self.calls = 0
        self.fail_at = fail_at

    def render_frame(self, et: float) -> np.ndarray:
        self.calls += 1
        if self.fail_at is not None and self.calls > self.fail_at:
            raise RuntimeError("renderer broke")
        w, h = self.size
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 2] = 40
        x = int(et) % (w - 40)
        frame[h // 3 : h // 3 + 40, x : x + 40] = (230, 30, 30)
        return frame


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_two_second_clip_checks_out(tmp_path):
    out = tmp_path / "clip.mp4"
    ets = frame_ets(1000.0, 1240.0, 30, duration=2)
    assert len(ets) == 60 and ets[1] - ets[0] == pytest.approx(240 / 60) and ets[-1] < 1240.0
    res = export(MovingSquare(), ets, out, fps=30, crf=18)
    info = probe(out)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["size"] == (640, 360)
    assert info["frames"] == 60 == res.frames and info["seconds"] == pytest.approx(2.0, abs=0.05)
    assert info["faststart"], "moov atom must come before mdat (+faststart)"
    assert _leftovers(tmp_path) == ["clip.mp4"]
    # the square moves: decoded consecutive frames differ, where it is drawn
    frames = _decode(out)
    assert len(frames) == 60
    diffs = [np.abs(frames[i + 1].astype(int) - frames[i].astype(int)).mean() for i in range(0, 59, 10)]
    assert min(diffs) > 0.1


def _decode(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen]


def test_speed_steps_frames_by_et():
    ets = frame_ets(0.0, 100.0, 25, speed=50)  # 100 mission s at 50 s per video s = 2 s = 50 frames
    assert len(ets) == 50
    assert np.allclose(np.diff(ets), 2.0)
    with pytest.raises(InputError, match="either --speed or --duration"):
        frame_ets(0.0, 100.0, 25, speed=50, duration=3)
    with pytest.raises(InputError, match="empty"):
        frame_ets(5.0, 5.0, 25)


@pytest.mark.parametrize(
    "text,expect",
    [
        ("641x360", "width must be even"),
        ("640x361", "height must be even"),
        ("641x361", "width and height"),
        ("3842x2160", "larger than"),
        ("abc", "WIDTHxHEIGHT"),
        ("8x8", "too small"),
    ],
)
def test_bad_sizes_are_one_line_errors(text, expect):
    with pytest.raises(InputError, match=expect) as exc:
        parse_size(text)
    assert "\n" not in str(exc.value)
    if "even" in expect:
        assert "never rescaled" in str(exc.value)


def test_sizes_up_to_4k_and_odd_still_images():
    assert parse_size("3840x2160") == (3840, 2160)
    assert parse_size("2160x3840") == (2160, 3840)
    assert check_size((1001, 601), video=False) == (1001, 601)


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "x.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(InputError, match="--force"):
        export(MovingSquare(), frame_ets(0, 10, 10, duration=0.5), out, fps=10)
    assert out.read_bytes() == b"keep me"
    export(MovingSquare(), frame_ets(0, 10, 10, duration=0.5), out, fps=10, force=True)
    assert probe(out)["frames"] == 5


def test_renderer_error_leaves_nothing(tmp_path):
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="renderer broke"):
        export(MovingSquare(fail_at=7), frame_ets(0, 100, 30, duration=1), out, fps=30)
    assert _leftovers(tmp_path) == []


def test_wrong_frame_size_is_not_rescaled(tmp_path):
    class Liar(MovingSquare):
        size = (640, 360)

        def render_frame(self, et):
            return np.zeros((362, 640, 3), np.uint8)

    with pytest.raises(ExportError, match="never rescaled"):
        export(Liar(), frame_ets(0, 1, 10, duration=0.5), tmp_path / "a.mp4", fps=10)
    assert _leftovers(tmp_path) == []


def test_ffmpeg_dying_is_reported_and_cleaned(tmp_path):
    sink = FfmpegSink(tmp_path / "a.mp4", (64, 64), 10)
    with pytest.raises(ExportError, match="ffmpeg stopped"):
        with sink:
            sink.write(np.zeros((64, 64, 3), np.uint8))
            sink._proc.kill()
            sink._proc.wait()
            for _ in range(50):
                sink.write(np.zeros((64, 64, 3), np.uint8))
            sink.commit()
    assert _leftovers(tmp_path) == []


def test_png_sequence_is_lossless(tmp_path):
    from PIL import Image

    out = tmp_path / "frames"
    src = MovingSquare(size=(96, 64))
    ets = frame_ets(0, 30, 10, duration=0.6)
    export(src, ets, out, fps=10, kind="png")
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(6)]
    for f, et in zip(files, ets):
        assert np.array_equal(np.asarray(Image.open(f).convert("RGB")), MovingSquare((96, 64)).render_frame(et))
    with pytest.raises(InputError, match="--force"):
        export(src, ets, out, fps=10, kind="png")
    (tmp_path / "notframes").mkdir()
    (tmp_path / "notframes" / "thesis.txt").write_text("x")
    with pytest.raises(InputError, match="not a PNG sequence"):
        export(src, ets, tmp_path / "notframes", fps=10, kind="png", force=True)
    assert _leftovers(tmp_path) == ["frames", "notframes"]


def test_progress_lines_and_json(capsys):
    import io
    import json

    buf = io.StringIO()
    p = Progress(10, stream=buf, fmt="lines", min_interval=100)
    for i in range(1, 11):
        p.update(i)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and "1/10" in lines[0] and "10/10" in lines[1] and "ETA" in lines[0]
    buf = io.StringIO()
    p = Progress(4, stream=buf, fmt="json", min_interval=0)
    for i in range(1, 5):
        p.update(i)
    rows = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert rows[-1]["done"] == 4 and rows[-1]["total"] == 4 and rows[0]["eta_s"] >= 0


# ---------------------------------------------------------------------------------------------------------------
# camera maths


def test_interpolate_ends_and_log_distance():
    a = cp.Pose.of([100, 0, 0], [0, 0, 0], [0, 0, 1], 30)
    b = cp.Pose.of([0, 1, 0], [0, 0, 0], [0, 0, 1], 40)
    assert np.allclose(cp.interpolate(a, b, 0).position, a.position)
    assert np.allclose(cp.interpolate(a, b, 1).position, b.position)
    mid = cp.interpolate(a, b, 0.5)
    assert mid.distance == pytest.approx(10.0)  # geometric mean of 100 and 1
    assert np.allclose(mid.position / mid.distance, [math.sqrt(0.5), math.sqrt(0.5), 0])
    assert mid.view_angle == pytest.approx(35)
    assert cp.ease(0) == 0 and cp.ease(1) == 1 and cp.ease(0.5) == 0.5


def test_orbit_turns_about_the_focal_point():
    base = cp.Pose.of([10, 0, 5], [0, 0, 5], [0, 0, 1])
    path = cp.Orbit(0.0, 100.0, turns=0.25)
    assert np.allclose(path.pose(0.0, base).position, [10, 0, 5])
    assert np.allclose(path.pose(100.0, base).position, [0, 10, 5])
    assert path.pose(37.0, base).distance == pytest.approx(10.0)


def test_follow_is_smooth_and_deterministic():
    def target(ets):
        ets = np.atleast_1d(ets)
        # a vehicle at 1 unit/s along x that jumps sideways by 1 unit at t = 100 s (an SPK segment join)
        return np.stack([ets, np.where(ets >= 100, 1.0, 0.0), np.zeros_like(ets)], axis=1)

    base = cp.Pose.of([0, -50, 0], [0, 0, 0], [0, 0, 1])
    f = cp.Follow(target, tau_s=5.0)
    before, after = f.pose(99.9, base), f.pose(100.1, base)
    assert abs(after.focal_point[1] - before.focal_point[1]) < 0.5  # the jump is spread out
    assert np.allclose(f.pose(123.0, base).focal_point, f.pose(123.0, base).focal_point)
    assert f.pose(123.0, base).distance == pytest.approx(50 * cp.FOLLOW_DISTANCE)
    lag = 200.0 - f.pose(200.0, base).focal_point[0]
    assert 0.5 * 5.0 < lag < 5.0  # lags behind, by less than the time constant
    assert f.pose(116.0, base).focal_point[1] == pytest.approx(1.0)  # the jump is complete after 3 tau


def test_plan_per_phase_with_flyto():
    class P:
        def __init__(self, id_):
            self.id = id_

    def phase_at(et):
        return P("orbit_lowering" if et < 10 else "powered_descent")

    segs = cp.plan(0, 20, view=None, camera="auto", phase_at=phase_at, phase_bounds=[10.0])
    assert [(s.view, s.camera, s.flyto) for s in segs] == [
        ("lunar", "follow:CHANGE6_LANDER", False),
        ("site", "follow:CHANGE6_LANDER", True),
    ]
    one = cp.plan(0, 20, view="site", camera="orbit:0.5", phase_at=phase_at, phase_bounds=[10.0])
    assert len(one) == 1 and one[0].camera == "orbit:0.5"
    with pytest.raises(InputError, match="choose story, auto"):
        cp.parse_spec("zoom")
    with pytest.raises(InputError, match="cannot follow 'CHANGE7'"):
        cp.parse_spec("follow:CHANGE7")
    assert cp.parse_spec("follow:QUEQIAO_2") == ("follow", "QUEQIAO_2")


# ---------------------------------------------------------------------------------------------------------------
# overlays


def _content(lang):
    from viewer.export.overlays import OverlayContent, PhaseText

    return OverlayContent(
        lang=lang,
        phases=[
            PhaseText("outer", 0, 100, "Outer" if lang == "en" else "外层", "Outer caption", "sourced", ("Xinhua",)),
            PhaseText(
                "inner",
                40,
                60,
                "Inner" if lang == "en" else "内层",
                "A long caption " * 12 if lang == "en" else "一个很长的中文字幕。" * 8,
                "assumed",
                ("CNSA",),
            ),
        ],
        mission_name="Chang'e-6",
        note="Reconstructed trajectory: no public ephemeris exists.",
        data_credits=["LOLA LDEM_4 (NASA PDS)"],
        epoch_et=0.0,
    )


@pytest.mark.parametrize("lang,size", [("en", (640, 360)), ("zh", (1280, 720))])
def test_overlays_stay_in_the_safe_area(lang, size, kernels_loaded):
    from viewer.export.overlays import SAFE, Overlays, grade_badge

    w, h = size
    ov = Overlays(size, _content(lang))
    assert ov.content.phase_at(50).id == "inner" and ov.content.phase_at(10).id == "outer"
    frame = np.zeros((h, w, 3), np.uint8)
    ov(frame, 50.0)
    ys, xs = np.nonzero(frame.any(axis=2))
    assert len(xs) > 0.02 * w * h  # title, clock and caption were drawn
    mx, my = int(SAFE * w), int(SAFE * h)
    assert xs.min() >= mx and xs.max() < w - mx and ys.min() >= my and ys.max() < h - my
    # the grade badge of the assumed caption is drawn in the grade's one colour (assets/words.yaml)
    badge = np.array(grade_badge("assumed", lang)[0])
    assert (np.abs(frame.astype(int) - badge).sum(axis=2) < 10).sum() > 20
    # credits fit the safe area too, and show the note
    cr = list(ov.credits_frames(frame, 6, ov.content.phases))
    assert len(cr) == 6 and not np.array_equal(cr[0], cr[-1]) and np.array_equal(cr[-2], cr[-1])


def test_credit_words_and_badges_come_from_the_words_file():
    from viewer import words
    from viewer.export.overlays import CREDIT_WORDS, credit_words, grade_badge

    section = words.section("export")
    for key in CREDIT_WORDS:
        assert section[key].get("en") and section[key].get("zh"), key
        assert credit_words("zh")[key] == section[key]["zh"] and credit_words("en")[key] == section[key]["en"]
    assert credit_words("zh")["sources"] == words.word("export", "sources", "zh") == "出处"
    rgb, label = grade_badge("sourced", "zh")
    assert label == words.grade_word("sourced", "zh") and "#%02x%02x%02x" % rgb == words.grade_colour("sourced")
    assert grade_badge("derived", "en")[1] == words.grade_word("derived", "en").upper()


def test_missing_cjk_font_is_one_line(monkeypatch):
    from viewer.export import overlays

    monkeypatch.setenv("VIEWER_CJK_FONT", "/nonexistent/font.ttc")
    overlays.font_files.cache_clear()
    try:
        with pytest.raises(InputError, match="VIEWER_CJK_FONT"):
            overlays.font_files("zh")
        monkeypatch.delenv("VIEWER_CJK_FONT")
        monkeypatch.setattr(overlays, "_fc_match", lambda pattern: None)
        monkeypatch.setattr(overlays, "_CJK_KNOWN", [])
        overlays.font_files.cache_clear()
        with pytest.raises(InputError, match="install fonts-noto-cjk"):
            overlays.font_files("zh")
    finally:
        overlays.font_files.cache_clear()


def test_wrap_breaks_latin_at_spaces_and_cjk_anywhere():
    from viewer.export.overlays import load_font, wrap

    f = load_font("en", "regular", 20)
    lines = wrap("alpha beta gamma delta epsilon zeta eta theta", f, 120)
    assert len(lines) > 1 and all(f.getlength(x) <= 120 for x in lines)
    assert " ".join(lines) == "alpha beta gamma delta epsilon zeta eta theta"
    fz = load_font("zh", "regular", 20)
    text = "着陆器在阿波罗盆地工作了49小时：钻取、铲取、拍照和测量，和地球的联系全靠鹊桥二号。"
    zl = wrap(text, fz, 150)
    assert "".join(zl) == text and len(zl) > 2
    assert not any(x[0] in "，。：、" for x in zl)


def test_follow_prepare_matches_per_frame():
    calls = []

    def target(ets):
        calls.append(len(ets))
        return np.stack([np.sin(ets), np.cos(ets), ets], axis=1)

    base = cp.Pose.of([0, -50, 0], [0, 0, 0], [0, 0, 1])
    one = cp.Follow(target, tau_s=2.0)
    ets = np.linspace(0, 10, 7)
    single = [one.pose(et, base).focal_point for et in ets]
    batch = cp.Follow(target, tau_s=2.0)
    calls.clear()
    batch.prepare(ets)
    assert calls == [7 * cp.FOLLOW_SAMPLES]
    assert np.allclose([batch.pose(et, base).focal_point for et in ets], single)


def test_follow_keeps_the_view_camera_where_the_vehicle_does_not_exist():
    def target(ets):
        ets = np.atleast_1d(ets)
        p = np.stack([ets, ets, ets], axis=1).astype(float)
        p[ets < 50] = np.nan  # the vehicle's kernels start at 50 s
        return p

    base = cp.Pose.of([0, -50, 0], [0, 0, 0], [0, 0, 1])
    f = cp.Follow(target, tau_s=2.0)
    f.prepare([10.0, 51.0, 80.0])
    assert f.pose(10.0, base) is base
    assert np.allclose(f.pose(51.0, base).focal_point, 50.5, atol=0.5)  # only the samples that exist count
    assert np.all(np.isfinite(f.pose(80.0, base).position))


def test_flyto_without_a_start_cuts():
    base = cp.Pose.of([0, -50, 0], [0, 0, 0], [0, 0, 1])
    f = cp.FlyTo(lambda et: None, 0.0, 10.0, cp.Preset())
    assert f.pose(1.0, base) is base
    g = cp.FlyTo(lambda et: cp.Pose.of([0, -500, 0], [0, 0, 0], [0, 0, 1]), 0.0, 10.0, cp.Preset())
    assert g.pose(0.0, base).distance == pytest.approx(500)
    assert g.pose(5.0, base).distance == pytest.approx(math.sqrt(500 * 50))
    assert g.pose(10.0, base) is base


@pytest.mark.parametrize("in_writer", [True, False])
def test_overlays_and_tail_reach_the_file(tmp_path, in_writer):
    import threading

    threads = set()

    def mark(frame, et, i):
        threads.add(threading.current_thread().name)
        frame[:8, :8] = (0, 255, 0)  # a green corner on every clip frame
        return frame

    def tail():
        yield np.full((64, 96, 3), 255, np.uint8)

    out = tmp_path / "o.mp4"
    export(
        MovingSquare((96, 64)),
        frame_ets(0, 10, 10, duration=0.5),
        out,
        fps=10,
        overlay=mark,
        tail=tail,
        overlay_in_writer=in_writer,
        crf=0,
    )
    frames = _decode(out)
    assert len(frames) == 6
    assert all(f[:8, :8, 1].mean() > 200 and f[:8, :8, 0].mean() < 60 for f in frames[:5])
    assert frames[5].mean() > 250
    assert threads == ({"ffmpeg-writer"} if in_writer else {threading.main_thread().name})


def test_an_overlay_error_in_the_writer_is_reported_as_itself(tmp_path):
    def broken(frame, et, i):
        if i == 3:
            raise InputError("overlay font missing")
        return frame

    with pytest.raises(InputError, match="overlay font missing"):
        export(MovingSquare((64, 64)), frame_ets(0, 10, 10, duration=2), tmp_path / "o.mp4", fps=10, overlay=broken)
    assert _leftovers(tmp_path) == []


def test_follow_smoothing_is_capped_in_mission_time():
    assert cp.follow_tau(10.0) == pytest.approx(5.0)  # half a video second at 10 mission s per video s
    assert cp.follow_tau(3600.0) == cp.FOLLOW_MAX_TAU_S  # not half an hour: that would average a whole orbit
