"""The story camera in exported frames: the landing chapter rendered offscreen with the director's camera keeps the
lander on screen, its position projected through the real VTK camera of every frame; and --camera story is the
export's default."""

from __future__ import annotations

import numpy as np
import pytest
import vtk

from viewer.export import camera_paths as cp
from viewer.export.render_job import resolve_range
from viewer.mission import load_mission

FRAMES = 48
SIZE = (320, 180)


def _display_xy(renderer, point) -> tuple[float, float]:
    c = vtk.vtkCoordinate()
    c.SetCoordinateSystemToWorld()
    c.SetValue(*map(float, point))
    x, y = c.GetComputedDoubleDisplayValue(renderer)
    return x, y


def test_story_is_the_default_camera_and_plans_the_shots():
    import argparse

    from viewer.export.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["video", "--phase", "landing", "out.mp4"])
    assert args.camera == "story"
    t0, t1, _ = resolve_range(load_mission(), phase="landing", from_utc=None, to_utc=None)
    segs = cp.plan(t0, t1, view=None, camera="story", phase_at=load_mission().phase_at)
    assert len(segs) >= 2 and {s.camera for s in segs} == {"story"}
    assert segs[0].start_et == t0 and segs[-1].end_et == t1
    assert all(a.end_et == b.start_et for a, b in zip(segs, segs[1:]))
    assert {"lunar", "site"} <= {s.view for s in segs}
    # an explicit view keeps its own preset camera
    assert cp.plan(t0, t1, view="site", camera="story", phase_at=load_mission().phase_at)[0].camera == "preset"


def test_landing_chapter_keeps_the_lander_on_screen():
    from viewer.export.scene_source import SceneSource

    mission = load_mission()
    t0, t1, _ = resolve_range(mission, phase="landing", from_utc=None, to_utc=None)
    ets = np.linspace(t0, t1, FRAMES)
    segs = cp.plan(t0, t1, view=None, camera="story", phase_at=mission.phase_at)
    source = SceneSource(SIZE, segs, ets=ets, speed=(t1 - t0) / 8.0)
    on_screen = []
    try:
        for et in ets:
            frame = source.render_frame(et)
            assert frame.shape[:2] == (SIZE[1], SIZE[0])
            scene = source.scene
            poses = scene.poses(np.array([et]))
            if not poses.visible["CHANGE6_LANDER"][0]:
                on_screen.append(False)
                continue
            x, y = _display_xy(scene.plotter.renderer, poses.positions["CHANGE6_LANDER"][0])
            on_screen.append(0 <= x < SIZE[0] and 0 <= y < SIZE[1])
    finally:
        source.close()
    share = float(np.mean(on_screen))
    assert share >= 0.95, f"the lander is on screen in {share:.0%} of the landing chapter's frames"


def _lit_share(img) -> float:
    """Share of the frame whose 5x5-pixel mean luminance is above 30 (a starry sky alone scores about 0)."""
    g = np.asarray(img.convert("L"), float)
    h, w = (g.shape[0] // 5) * 5, (g.shape[1] // 5) * 5
    blocks = g[:h, :w].reshape(h // 5, 5, w // 5, 5).mean(axis=(1, 3))
    return float((blocks > 30).mean())


@pytest.mark.parametrize("utc", ["2024-06-02T12:00:00Z", "2024-05-20T03:00:00Z", "2024-06-05T02:00:00Z"])
def test_a_still_without_a_view_takes_the_story_camera_on_the_lit_side(tmp_path, utc):
    from PIL import Image

    from viewer.epochs import et_from_utc
    from viewer.export.screenshot import screenshot

    out = screenshot(tmp_path / "story.png", et_from_utc(utc), view=None, size=(480, 270), quality="fast")
    share = _lit_share(Image.open(out))
    assert share >= 0.08, f"{utc}: {share:.1%} of the story still is lit"


def test_a_still_after_the_last_shot_keeps_the_last_shot(tmp_path):
    """The recovery phase runs past the returner's kernels: the still keeps the last shot's view (no traceback)."""
    from PIL import Image

    from viewer.epochs import et_from_utc
    from viewer.export.screenshot import screenshot

    out = screenshot(
        tmp_path / "late.png", et_from_utc("2024-06-25T23:05:15Z"), view=None, size=(320, 180), quality="fast"
    )
    assert Image.open(out).size == (320, 180)
