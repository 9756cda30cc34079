"""Kiosk settings (assets/kiosk.yaml): the shipped file loads, every broken rule is one line naming the key, the
env overrides work, and the attract tour's schedule adds up."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from viewer.errors import DataError
from viewer.mission import load_mission
from viewer.scene.views import load_views
from viewer.ui.kiosk_config import ENV_COUNTDOWN, ENV_IDLE, Tour, TourStep, load_kiosk_config
from viewer.ui.state import SPEEDS, mission_span

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "assets" / "kiosk.yaml"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for k in (ENV_IDLE, ENV_COUNTDOWN, "VIEWER_KIOSK_CONFIG"):
        monkeypatch.delenv(k, raising=False)


def _write(tmp_path, data: dict) -> Path:
    p = tmp_path / "kiosk.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_shipped_config_tells_every_chapter_in_order():
    cfg = load_kiosk_config(SHIPPED)
    m = load_mission()
    assert cfg.default_language in ("zh", "en")
    assert [s.chapter for s in cfg.tour.steps] == [c.id for c in m.chapters]
    views = set(load_views())
    lo, hi = mission_span(m)
    for step in cfg.tour.steps:
        assert step.view in views and step.speed in SPEEDS
        assert lo <= step.from_et and step.et_after(step.duration_s) <= hi
    assert "pin" not in cfg.client_settings() and cfg.pin not in str(cfg.client_settings())


def test_tour_schedule_walks_the_steps_and_loops():
    cfg = load_kiosk_config(SHIPPED)
    tour = cfg.tour
    t = 0.0
    for i, step in enumerate(tour.steps):
        k, s, et = tour.at(t + 0.5)
        assert (k, s) == (i, step)
        assert et == pytest.approx(step.from_et + 0.5 * step.speed)
        t += step.duration_s
    assert t == pytest.approx(tour.total_s)
    assert tour.at(tour.total_s + 0.25)[0] == 0  # the loop starts again
    assert tour.at(tour.total_s - 1e-9)[0] == len(tour.steps) - 1
    assert tour.step_for_chapter(tour.steps[2].chapter) is tour.steps[2]
    assert tour.step_for_chapter("nowhere") is None


def test_tour_step_time_is_clamped_to_the_step():
    s = TourStep("launch", "system", "x", 100.0, 10.0, 1000)
    assert s.et_after(-5) == 100.0 and s.et_after(50) == 100.0 + 10 * 1000
    assert Tour((s,)).at(-3)[2] == 100.0


def test_env_overrides_the_timeouts(monkeypatch):
    monkeypatch.setenv(ENV_IDLE, "4")
    monkeypatch.setenv(ENV_COUNTDOWN, "2.5")
    cfg = load_kiosk_config(SHIPPED)
    assert (cfg.idle_timeout_s, cfg.countdown_s) == (4.0, 2.5)
    assert cfg.overrides == (f"{ENV_IDLE}=4", f"{ENV_COUNTDOWN}=2.5")
    monkeypatch.setenv(ENV_IDLE, "soon")
    with pytest.raises(DataError, match=f"{ENV_IDLE}='soon' is not a number"):
        load_kiosk_config(SHIPPED)


def test_env_chooses_the_file(monkeypatch, tmp_path):
    data = _shipped()
    data["idle_timeout_s"] = 33
    monkeypatch.setenv("VIEWER_KIOSK_CONFIG", str(_write(tmp_path, data)))
    assert load_kiosk_config().idle_timeout_s == 33


def _set(data: dict, dotted: str, value):
    node = data
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()

BROKEN = [
    ("idle_timeout_s", "ninety", "idle_timeout_s: expected a number"),
    ("idle_timeout_s", 0.5, "idle_timeout_s: 0.5 is outside"),
    ("default_language", "fr", "default_language: 'fr' is not a language"),
    ("operator.pin", 2406, 'operator.pin: write the PIN in quotes, like "2406"'),
    ("operator.pin", "12a4", "operator.pin: PIN '12a4' must be 4 to 12 digits"),
    ("operator.keys", "O", "operator.keys: 'O' is not a key combination"),
    ("operator.keys", "Hyper+O", "operator.keys: 'Hyper+O' is not a key combination"),
    ("operator.colour", "red", "operator.colour: unknown key"),
    ("reconnect.retry_every_s", _DELETE, "reconnect.retry_every_s: required key is missing"),
    ("attract_tour", [], "attract_tour: needs at least one step"),
    ("attract_tour.0.chapter", "moonwalk", "attract_tour[0].chapter: unknown chapter 'moonwalk'; use one of launch"),
    ("attract_tour.0.view", "cockpit", "attract_tour[0].view: unknown view 'cockpit'; use one of"),
    ("attract_tour.0.from", "2024-05-03 09:20", "attract_tour[0].from: time '2024-05-03 09:20' is not UTC ISO"),
    (
        "attract_tour.1.from",
        "2024-05-03T12:00:00Z",
        "attract_tour[1].from: 2024-05-03T12:00:00Z is outside chapter 'into_orbit'",
    ),
    ("attract_tour.0.speed", 20000, "attract_tour[0].speed: 20000 is not a playback speed; use one of 1, 10"),
    ("attract_tour.0.duration_s", 1, "attract_tour[0].duration_s: 1 is outside [3, 600]"),
    ("attract_tour.5.speed", 100000, "attract_tour[5].duration_s: 24 s at ×100000 runs past the end"),
    (
        "attract_tour.0.caption",
        {"en": "Liftoff", "zh": "Liftoff 发射"},
        "attract_tour[0].caption.zh: Latin word 'Liftoff' in Chinese text",
    ),
]


@pytest.mark.parametrize("key,value,message", BROKEN, ids=[b[0] + "=" + repr(b[1])[:20] for b in BROKEN])
def test_a_broken_rule_is_one_line_naming_the_key(tmp_path, key, value, message):
    data = _shipped()
    _set(data, key, value)
    path = _write(tmp_path, data)
    with pytest.raises(DataError) as exc:
        load_kiosk_config(path)
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_duplicate_keys_and_bad_yaml_are_named(tmp_path):
    p = tmp_path / "kiosk.yaml"
    p.write_text(SHIPPED.read_text(encoding="utf-8") + "\ncountdown_s: 5\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate key 'countdown_s'"):
        load_kiosk_config(p)
    p.write_text("idle_timeout_s: [90\n", encoding="utf-8")
    with pytest.raises(DataError, match="YAML syntax error"):
        load_kiosk_config(p)
    with pytest.raises(DataError, match="cannot read"):
        load_kiosk_config(tmp_path / "missing.yaml")


def test_a_tour_caption_may_replace_the_mission_caption(tmp_path):
    data = _shipped()
    data["attract_tour"][0]["caption"] = {"en": "Liftoff from Wenchang", "zh": "从文昌发射"}
    cfg = load_kiosk_config(_write(tmp_path, data))
    assert cfg.tour.steps[0].caption.zh == "从文昌发射"
    assert cfg.tour.steps[1].caption is None


def test_check_command_prints_one_line(tmp_path, capsys):
    from viewer.ui.kiosk_config import main

    assert main([str(SHIPPED)]) == 0
    assert capsys.readouterr().out.startswith("kiosk settings OK: <KioskConfig kiosk.yaml")
    bad = tmp_path / "kiosk.yaml"
    bad.write_text("idle_timeout_s: 90\n", encoding="utf-8")
    assert main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: countdown_s: required key is missing")
