"""Kiosk settings (``assets/kiosk.yaml``) and the attract tour, checked on start. No Panel import: testable alone.

- :func:`load_kiosk_config` reads the file (default ``assets/kiosk.yaml``, or env ``VIEWER_KIOSK_CONFIG``),
  applies the env overrides ``VIEWER_KIOSK_IDLE_S`` / ``VIEWER_KIOSK_COUNTDOWN_S`` (short timeouts for tests and
  for an exhibit designer trying things out) and fails on the first broken rule with a one-line
  :class:`~viewer.errors.DataError` naming the file, the key and the fix.
- :class:`Tour` is the attract loop's schedule: which step plays at a given wall time, and the mission time (ET)
  shown then. The browser keeps the wall clock; the server applies a step's view, time and speed to the session's
  :class:`~viewer.ui.state.AppState` when the browser says the step began.

>>> cfg = load_kiosk_config()                          # doctest: +SKIP
>>> index, step, et = cfg.tour.at(20.0); step          # doctest: +SKIP
<TourStep into_orbit lunar 2024-05-08T01:40:00Z 14 s ×1000>
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viewer import paths
from viewer.errors import DataError
from viewer.mission import LANGUAGES, FieldReader, Text, load_mission
from viewer.scene.views import load_views
from viewer.ui.state import SPEEDS, mission_span

SHIPPED_PIN = "2406"  # the operator PIN in the repository's assets/kiosk.yaml: public, so never trusted for Exit
ENV_CONFIG = "VIEWER_KIOSK_CONFIG"
ENV_IDLE = "VIEWER_KIOSK_IDLE_S"
ENV_COUNTDOWN = "VIEWER_KIOSK_COUNTDOWN_S"
KEY_MODIFIERS = ("Ctrl", "Alt", "Shift", "Meta")

_TOP = {
    "required": ("idle_timeout_s", "countdown_s", "default_language", "operator", "reconnect", "attract_tour"),
    "optional": (),
}


@dataclass(frozen=True)
class TourStep:
    """One stop of the attract loop: ``view`` from ``from_utc`` for ``duration_s`` of wall time at ``speed``."""

    chapter: str
    view: str
    from_utc: str
    from_et: float
    duration_s: float
    speed: int
    caption: Text | None = None

    def __repr__(self) -> str:
        return f"<TourStep {self.chapter} {self.view} {self.from_utc} {self.duration_s:g} s ×{self.speed}>"

    def et_after(self, wall_s: float) -> float:
        """Mission time (ET) ``wall_s`` seconds of wall time into this step."""
        return self.from_et + max(0.0, min(wall_s, self.duration_s)) * self.speed


@dataclass(frozen=True)
class Tour:
    """The attract loop: steps played one after the other, then again from the first."""

    steps: tuple[TourStep, ...]

    @property
    def total_s(self) -> float:
        return sum(s.duration_s for s in self.steps)

    def at(self, wall_s: float) -> tuple[int, TourStep, float]:
        """(step index, step, ET) ``wall_s`` seconds after the loop started (it repeats forever)."""
        t = wall_s % self.total_s if wall_s >= 0 else 0.0
        for i, step in enumerate(self.steps):
            if t < step.duration_s:
                return i, step, step.et_after(t)
            t -= step.duration_s
        last = len(self.steps) - 1  # only reached through rounding at the very end of the loop
        return last, self.steps[last], self.steps[last].et_after(self.steps[last].duration_s)

    def step_for_chapter(self, chapter_id: str) -> TourStep | None:
        """The first step that tells ``chapter_id`` (its view and speed are the chapter's defaults)."""
        return next((s for s in self.steps if s.chapter == chapter_id), None)

    def to_json(self) -> list[dict]:
        return [
            {"chapter": s.chapter, "view": s.view, "from_et": s.from_et, "duration_s": s.duration_s, "speed": s.speed}
            for s in self.steps
        ]


@dataclass(frozen=True)
class KioskConfig:
    """Everything in ``kiosk.yaml`` after checking (and after the env overrides)."""

    path: Path
    idle_timeout_s: float
    countdown_s: float
    default_language: str
    pin: str
    corner_taps: int
    corner_window_s: float
    keys: str
    retry_every_s: float
    reload_after_s: float
    tour: Tour
    overrides: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"<KioskConfig {self.path.name}: idle {self.idle_timeout_s:g} s, countdown {self.countdown_s:g} s, "
            f"{self.default_language}, tour of {len(self.tour.steps)} steps ({self.tour.total_s:g} s)>"
        )

    def client_settings(self) -> dict:
        """What the browser needs (never the PIN: the server checks it)."""
        return {
            "idle_timeout_s": self.idle_timeout_s,
            "countdown_s": self.countdown_s,
            "default_language": self.default_language,
            "corner_taps": self.corner_taps,
            "corner_window_s": self.corner_window_s,
            "keys": self.keys,
            "retry_every_s": self.retry_every_s,
            "reload_after_s": self.reload_after_s,
            "tour": self.tour.to_json(),
        }


def default_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or Path(paths.ASSETS_DIR) / "kiosk.yaml")


class _KioskReader(FieldReader):
    """The mission file's checker (one-line errors, no YAML timestamps, duplicate keys refused) for kiosk.yaml."""

    def __init__(self, path: Path, mission, views: list[str]):
        super().__init__(path)
        self.mission = mission
        self.views = views
        self.proper_names = set(mission.proper_names)

    def keys(self, node: Any, key: str) -> str:
        s = self.string(node, key)
        parts = [p.strip() for p in s.split("+")]
        mods, main = parts[:-1], parts[-1]
        if not mods or any(m not in KEY_MODIFIERS for m in mods) or len(main) != 1 or not main.isalnum():
            self.fail(
                key,
                f'{s!r} is not a key combination like "Ctrl+Alt+Shift+O" '
                f"(modifiers {', '.join(KEY_MODIFIERS)}, then one letter or digit)",
            )
        return "+".join(mods + [main.upper()])

    def pin(self, node: Any, key: str) -> str:
        if isinstance(node, int) and not isinstance(node, bool):
            self.fail(key, f'write the PIN in quotes, like "{node}" (a number would lose leading zeros)')
        s = self.string(node, key)
        if not s.isdigit() or not 4 <= len(s) <= 12:
            self.fail(key, f"PIN {s!r} must be 4 to 12 digits (the operator types it on a number pad)")
        return s

    def step(self, node: Any, key: str, i: int) -> TourStep:
        d = self.mapping(node, key, ("chapter", "view", "from", "duration_s", "speed"), ("caption",))
        chapters = [c.id for c in self.mission.chapters]
        chapter = self.string(d["chapter"], f"{key}.chapter")
        if chapter not in chapters:
            self.fail(
                f"{key}.chapter",
                f"unknown chapter {chapter!r}; use one of {', '.join(chapters)} (assets/mission.yaml chapters:)",
            )
        view = self.string(d["view"], f"{key}.view")
        if view not in self.views:
            self.fail(f"{key}.view", f"unknown view {view!r}; use one of {', '.join(self.views)} (assets/views.yaml)")
        utc, et = self.time(d["from"], f"{key}.from")
        k = chapters.index(chapter)
        start = self.mission.chapters[k]
        lo = start.start_et
        hi = self.mission.chapters[k + 1].start_et if k + 1 < len(chapters) else _mission_end(self.mission)
        if not lo <= et < hi:
            nxt = (
                f"the next chapter starts {self.mission.chapters[k + 1].start}"
                if k + 1 < len(chapters)
                else "the mission ends there"
            )
            self.fail(
                f"{key}.from",
                f"{utc} is outside chapter {chapter!r} (it starts {start.start}; {nxt}); "
                "pick a time inside the chapter",
            )
        duration = self.number(d["duration_s"], f"{key}.duration_s", 3, 600)
        speed = d["speed"]
        if isinstance(speed, bool) or speed not in SPEEDS:
            self.fail(
                f"{key}.speed",
                f"{speed!r} is not a playback speed; use one of {', '.join(str(s) for s in SPEEDS)} (times real time)",
            )
        end_et = et + duration * speed
        if end_et > _mission_end(self.mission):
            self.fail(
                f"{key}.duration_s",
                f"{duration:g} s at ×{speed} runs past the end of the mission; shorten it or lower the speed",
            )
        caption = self.text(d["caption"], f"{key}.caption") if "caption" in d else None
        return TourStep(
            chapter=chapter, view=view, from_utc=utc, from_et=et, duration_s=duration, speed=int(speed), caption=caption
        )

    def config(self) -> KioskConfig:
        top = self.mapping(self.load_yaml(), "", _TOP["required"], _TOP["optional"])
        overrides = []
        idle = self.number(top["idle_timeout_s"], "idle_timeout_s", 2, 86400)
        countdown = self.number(top["countdown_s"], "countdown_s", 1, 300)
        for env, name in ((ENV_IDLE, "idle"), (ENV_COUNTDOWN, "countdown")):
            raw = os.environ.get(env)
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise DataError(
                    f"env {env}={raw!r} is not a number of seconds; unset it or write e.g. {env}=5", path=self.path
                ) from None
            lo = 1 if name == "countdown" else 2
            if not lo <= value <= 86400:
                raise DataError(
                    f"env {env}={raw!r} is outside [{lo}, 86400] seconds; unset it or change it", path=self.path
                )
            if name == "idle":
                idle = value
            else:
                countdown = value
            overrides.append(f"{env}={raw}")
        lang = top["default_language"]
        if lang not in LANGUAGES:
            self.fail("default_language", f"{lang!r} is not a language of the viewer; use zh or en")
        op = self.mapping(top["operator"], "operator", ("pin", "corner_taps", "corner_window_s"), ("keys",))
        rc = self.mapping(top["reconnect"], "reconnect", ("retry_every_s", "reload_after_s"))
        retry = self.number(rc["retry_every_s"], "reconnect.retry_every_s", 0.5, 60)
        reload_after = self.number(rc["reload_after_s"], "reconnect.reload_after_s", 1, 600)
        steps = self.seq(top["attract_tour"], "attract_tour")
        if not steps:
            self.fail("attract_tour", "needs at least one step")
        tour = Tour(tuple(self.step(s, f"attract_tour[{i}]", i) for i, s in enumerate(steps)))
        return KioskConfig(
            path=self.path,
            idle_timeout_s=idle,
            countdown_s=countdown,
            default_language=lang,
            pin=self.pin(op["pin"], "operator.pin"),
            corner_taps=int(self.number(op["corner_taps"], "operator.corner_taps", 3, 10)),
            corner_window_s=self.number(op["corner_window_s"], "operator.corner_window_s", 1, 10),
            keys=self.keys(op.get("keys", "Ctrl+Alt+Shift+O"), "operator.keys"),
            retry_every_s=retry,
            reload_after_s=reload_after,
            tour=tour,
            overrides=tuple(overrides),
        )


def _mission_end(mission) -> float:
    return mission_span(mission)[1]


def load_kiosk_config(path: str | Path | None = None, *, mission=None, views: list[str] | None = None) -> KioskConfig:
    """Read and check the kiosk settings; a broken rule is a one-line :class:`DataError` naming key and fix."""
    p = Path(path) if path is not None else default_path()
    if mission is None:
        mission = load_mission()
    if views is None:
        views = list(load_views())
    return _KioskReader(p, mission, list(views)).config()


def main(argv: list[str] | None = None) -> int:
    """``python -m viewer.ui.kiosk_config [FILE]``: check the kiosk settings and print them in one line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        cfg = load_kiosk_config(args[0] if args else None)
    except DataError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    print(f"kiosk settings OK: {cfg!r}" + (f" (overrides: {', '.join(cfg.overrides)})" if cfg.overrides else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
