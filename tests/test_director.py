"""The story camera (viewer.director): the shots read from assets/director.yaml, and the framing rules measured on
more than 500 moments spread over the whole mission, each projected through the director's camera."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.director.rules import measure
from viewer.director.shots import FRAMINGS, load_director, resolve_at
from viewer.director.track import ASPECT, camera_track, geometry
from viewer.epochs import et_from_utc
from viewer.errors import InputError
from viewer.mission import load_mission
from viewer.scene.views import load_views

NEAR_RADII = 4.0  # "near a body": the subject within this many radii of the context body's centre


def test_shots_are_in_time_order_and_valid():
    d = load_director()
    starts = [s.start_et for s in d.shots]
    assert starts == sorted(starts) and len(d.shots) >= 15
    assert {s.framing for s in d.shots} <= set(FRAMINGS)
    assert d.grade == "assumed" and d.grade_note
    touchdown = load_mission().item("touchdown").et
    assert resolve_at("touchdown+60", "t") == pytest.approx(touchdown + 60)
    with pytest.raises(InputError, match="no phase or event 'nowhere'"):
        resolve_at("nowhere", "t")


@pytest.fixture(scope="module")
def measured():
    d = load_director()
    views = load_views()
    t0, t1 = et_from_utc("2024-03-20T01:00:00Z"), et_from_utc("2024-06-25T06:20:00Z")
    ets = np.sort(np.random.default_rng(7).uniform(t0, t1, 520))
    rows = []
    for i, shot in enumerate(d.shots):
        a = shot.start_et
        b = d.shots[i + 1].start_et if i + 1 < len(d.shots) else t1
        sel = np.concatenate([ets[(ets >= a) & (ets < b)], np.linspace(a, b, 8)[1:-1]])
        track = camera_track(a, b, d)
        view = views[shot.view]
        g, _ = geometry(shot, view, sel)
        rel = [track.relative_pose(e) for e in sel]
        cam = g.subject + np.array([r[0] for r in rel])
        focal = g.subject + np.array([r[1] for r in rel])
        up = np.array([r[2] for r in rel])
        radius = d.subject_size_m / 2 * view.spacecraft_scale * view.units_per_m
        m = measure(
            cam, focal, up, g, view_angle_deg=d.view_angle_deg, aspect=ASPECT, height_px=1080, subject_radius=radius
        )
        near = (
            np.zeros(len(sel), bool)
            if g.ground
            else (np.linalg.norm(g.subject - g.context, axis=1) < NEAR_RADII * g.context_radius)
        )
        rows.append((shot, m, near))
    return rows


def test_more_than_500_moments(measured):
    assert sum(len(m.ndc) for _, m, _ in measured) >= 500


def test_subject_centred_and_tall_in_95_percent(measured):
    ok = np.concatenate([m.centred() & m.tall() for _, m, _ in measured])
    assert ok.mean() >= 0.95, f"subject framed in {ok.mean():.1%} of moments"


def test_camera_on_the_sunlit_side_near_a_body(measured):
    lit = np.concatenate([m.sunlit[near] for _, m, near in measured])
    assert len(lit) > 100 and lit.mean() >= 0.95, f"sunlit side in {lit.mean():.1%} of {len(lit)} near moments"


def test_context_body_in_view(measured):
    ok = np.concatenate([m.context_in_view for _, m, _ in measured])
    assert ok.mean() >= 0.95, f"context body in view in {ok.mean():.1%}"


def test_no_body_hides_the_subject(measured):
    bad = [(s.at, int(m.occluded.sum())) for s, m, _ in measured if m.occluded.sum() > 0.05 * len(m.occluded)]
    assert not bad, f"shots where a body hides the subject in over 5 % of moments: {bad}"
