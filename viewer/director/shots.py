"""The director's shots, read from ``assets/director.yaml``: which view, subject, context and framing hold when.

A shot starts at a phase's start or an event (``"touchdown+60"``) from ``assets/mission.yaml`` and holds until the
next shot starts. :func:`load_director` checks every field and names the shot and the fix when one is wrong.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache

import yaml

from viewer import paths
from viewer.errors import InputError
from viewer.mission import load_mission

DIRECTOR_FILE = "director.yaml"
FRAMINGS = ("chase", "over_shoulder", "top_down", "side_on", "limb", "system")
TRANSITIONS = ("move", "cut")
CONTEXTS = ("MOON", "EARTH", "TERRAIN")
_AT = re.compile(r"^\s*([a-z0-9_]+)\s*(?:([+-])\s*(\d+(?:\.\d+)?))?\s*$")


@dataclass(frozen=True)
class Shot:
    """One shot: from ``start_et`` on, the camera frames ``subjects`` in ``view`` with ``framing``."""

    index: int
    at: str
    start_et: float
    view: str
    subjects: tuple[str, ...]
    context: str
    framing: str
    distance: float
    transition: str


@dataclass(frozen=True)
class Director:
    """Every shot in time order, with the defaults and the grade of the file."""

    shots: tuple[Shot, ...]
    view_angle_deg: float
    move_s: float
    fade_s: float
    subject_size_m: float
    step_s: float
    max_turn_deg_s: float
    grade: str
    grade_note: str

    def shot_at(self, et: float) -> Shot:
        """The shot that holds at ``et`` (the first shot before the first start)."""
        starts = [s.start_et for s in self.shots]
        return self.shots[max(0, bisect.bisect_right(starts, float(et)) - 1)]

    def cuts(self, start_et: float, end_et: float) -> list[Shot]:
        """The shots that start inside (start_et, end_et]."""
        return [s for s in self.shots if start_et < s.start_et <= end_et]


def resolve_at(at: str, where: str) -> float:
    """ET of ``"PHASE_OR_EVENT[+-SECONDS]"``."""
    m = _AT.match(str(at))
    if m is None:
        raise InputError(f"{where}: at {at!r} must be a phase or event id, optionally +SECONDS or -SECONDS")
    name, sign, seconds = m.groups()
    try:
        item = load_mission().item(name)
    except (KeyError, LookupError, InputError):
        raise InputError(f"{where}: at {at!r}: no phase or event {name!r} in assets/mission.yaml") from None
    base = item.start_et if hasattr(item, "start_et") else item.et
    offset = float(seconds or 0.0) * (-1.0 if sign == "-" else 1.0)
    return float(base) + offset


def _shot(index: int, raw: dict, views: set[str], path) -> Shot:
    where = f"{path}: shot {index + 1}"
    try:
        subjects = tuple(str(s) for s in raw["subject"])
        shot = Shot(
            index,
            str(raw["at"]),
            resolve_at(raw["at"], where),
            str(raw["view"]),
            subjects,
            str(raw["context"]),
            str(raw["framing"]),
            float(raw["distance"]),
            str(raw.get("transition", "move")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{where}: needs at, view, subject (a list), context, framing and distance ({err})") from None
    for value, allowed, name in (
        (shot.view, views, "view"),
        (shot.context, CONTEXTS, "context"),
        (shot.framing, FRAMINGS, "framing"),
        (shot.transition, TRANSITIONS, "transition"),
    ):
        if value not in allowed:
            raise InputError(f"{where}: {name} {value!r}; choose one of {', '.join(sorted(allowed))}")
    if not subjects or not shot.distance > 0:
        raise InputError(f"{where}: needs at least one subject and a positive distance")
    return shot


@cache
def load_director() -> Director:
    """The director of ``assets/director.yaml`` (cached)."""
    from viewer.scene.views import load_views

    path = paths.ASSETS_DIR / DIRECTOR_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = data.get("defaults", {})
        raw_shots = list(data["shots"])
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"{path}: cannot read the director ({err}); restore it from the repository") from None
    views = set(load_views())
    shots = sorted((_shot(i, raw, views, path) for i, raw in enumerate(raw_shots)), key=lambda s: s.start_et)
    try:
        return Director(
            tuple(shots),
            float(defaults.get("view_angle_deg", 30.0)),
            float(defaults.get("move_s", 2.5)),
            float(defaults.get("fade_s", 0.6)),
            float(defaults.get("subject_size_m", 5.0)),
            float(defaults.get("step_s", 60.0)),
            float(defaults.get("max_turn_deg_s", 0.2)),
            str(data.get("grade", "assumed")),
            str(data.get("grade_note", "")),
        )
    except (TypeError, ValueError) as err:
        raise InputError(f"{path}: defaults must be numbers ({err})") from None
