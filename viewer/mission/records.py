"""The records of the mission file: frozen dataclasses for phases, events, sites, stations, spacecraft, chapters,
sources and graded facts, and :class:`Mission`, which holds them all and looks them up by id or by time.

The grade names (``sourced``, ``derived``, ``assumed``) and the languages come from ``assets/words.yaml``
(:mod:`viewer.words`), the one place that also gives each grade its words and colour.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from viewer import words
from viewer.words import LANGUAGES

GRADES: tuple[str, ...] = words.grades()


@dataclass(frozen=True)
class Text:
    """A text in English (``en``) and simplified Chinese (``zh``)."""

    en: str
    zh: str

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGUAGES:
            raise KeyError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
        return getattr(self, lang)

    def __str__(self) -> str:
        return self.en


@dataclass(frozen=True)
class Source:
    """A reference: the original outlet and its canonical URL (None where only a repost was read)."""

    id: str
    outlet: str
    title: str
    url: str | None
    read_copy: str | None = None
    title_zh: str | None = None  # a Chinese gloss of outlet and title (the original stays the reference)

    def __str__(self) -> str:
        return f"{self.outlet}, {self.title}" + (f" <{self.url}>" if self.url else "")

    def gloss(self, lang: str) -> str | None:
        """The title's gloss in ``lang`` (None in English, or where the file gives none)."""
        return self.title_zh if lang == "zh" else None


@dataclass(frozen=True)
class Fact:
    """A graded value: a number, a ``(low, high)`` range, with its unit and sources."""

    id: str
    value: float | tuple[float, float]
    unit: str | None
    grade: str
    grade_note: str
    sources: tuple[str, ...]
    label: Text | None = None

    def __repr__(self) -> str:
        v = f"{self.value[0]:g}-{self.value[1]:g}" if isinstance(self.value, tuple) else f"{self.value:g}"
        return f"<Fact {self.id!r} {v}{' ' + self.unit if self.unit else ''} {self.grade}>"


@dataclass(frozen=True)
class Phase:
    """A span of the mission, ``start <= t < end``."""

    id: str
    title: Text
    caption: Text
    start: str
    end: str
    start_et: float
    end_et: float
    grade: str
    grade_note: str
    sources: tuple[str, ...]
    parent: str | None = None
    grade_note_zh: str | None = None

    def note(self, lang: str) -> str:
        """The grade note in ``lang`` (English where the file gives no translation)."""
        return (self.grade_note_zh if lang == "zh" else None) or self.grade_note

    @property
    def duration_s(self) -> float:
        return self.end_et - self.start_et

    def contains(self, et: float) -> bool:
        return self.start_et <= et < self.end_et

    def __repr__(self) -> str:
        return f"<Phase {self.id!r} {self.start} → {self.end} {self.grade}>"


@dataclass(frozen=True)
class Event:
    """A moment of the mission."""

    id: str
    title: Text
    caption: Text
    time: str
    et: float
    grade: str
    grade_note: str
    sources: tuple[str, ...]
    grade_note_zh: str | None = None

    def note(self, lang: str) -> str:
        """The grade note in ``lang`` (English where the file gives no translation)."""
        return (self.grade_note_zh if lang == "zh" else None) or self.grade_note

    def __repr__(self) -> str:
        return f"<Event {self.id!r} {self.time} {self.grade}>"


@dataclass(frozen=True)
class Alternative:
    value: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """Sources that disagree, the value chosen and why. ``about`` is the id it concerns (or None)."""

    id: str
    about: str | None
    chosen: str
    alternatives: tuple[Alternative, ...]
    reason: str


@dataclass(frozen=True)
class Site:
    """A place on the Moon or Earth (planetocentric latitude, east longitude)."""

    id: str
    name: Text
    body: str
    lat_deg: float
    lon_east_deg: float
    frame: str
    grade: str
    grade_note: str
    sources: tuple[str, ...]
    elevation_m: float | None = None
    reference_radius_km: float | None = None
    diameter_km: Fact | None = None
    depth_km: Fact | None = None
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Station:
    """A ground station (geodetic latitude, east longitude, altitude above the ellipsoid)."""

    id: str
    name: Text
    lat_deg: float
    lon_east_deg: float
    altitude_m: float
    altitude_grade: str
    elevation_mask_deg: float
    antenna: Text
    grade: str
    grade_note: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Spacecraft:
    id: str
    naif_name: str
    name: Text
    facts: tuple[Fact, ...]

    def fact(self, fact_id: str) -> Fact:
        for f in self.facts:
            if f.id == fact_id:
                return f
        raise KeyError(f"{self.id} has no fact {fact_id!r}")


@dataclass(frozen=True)
class Chapter:
    """A kiosk chapter: where it starts and which phase/event ids it tells."""

    id: str
    title: Text
    start: str
    start_et: float
    covers: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Mission:
    """Everything in ``mission.yaml``. Build it with :func:`viewer.mission.load_mission`."""

    path: Path
    id: str
    name: Text
    launch: str
    launch_et: float
    note: Text
    credits: tuple[str, ...]
    facts: tuple[Fact, ...]
    proper_names: tuple[str, ...]
    sources: tuple[Source, ...]
    phases: tuple[Phase, ...]
    events: tuple[Event, ...]
    conflicts: tuple[Conflict, ...]
    sites: tuple[Site, ...]
    stations: tuple[Station, ...]
    station_note: Text | None
    spacecraft: tuple[Spacecraft, ...]
    chapters: tuple[Chapter, ...]
    _index: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    _event_ets: tuple[float, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        index = {
            "item": {x.id: x for x in (*self.phases, *self.events)},
            "source": {s.id: s for s in self.sources},
            "site": {s.id: s for s in self.sites},
            "station": {s.id: s for s in self.stations},
            "spacecraft": {s.id: s for s in self.spacecraft},
            "chapter": {c.id: c for c in self.chapters},
            "conflict": {c.id: c for c in self.conflicts},
        }
        object.__setattr__(self, "_index", MappingProxyType({k: MappingProxyType(v) for k, v in index.items()}))
        object.__setattr__(self, "_event_ets", tuple(e.et for e in self.events))

    def __repr__(self) -> str:
        return (
            f"<Mission {self.id!r} {len(self.phases)} phases, {len(self.events)} events, "
            f"{len(self.sources)} sources from {self.path.name}>"
        )

    def _get(self, kind: str, key: str):
        try:
            return self._index[kind][key]
        except KeyError:
            raise KeyError(f"{self.path.name} has no {kind} {key!r}") from None

    def item(self, item_id: str) -> Phase | Event:
        """The phase or event with this id."""
        return self._get("item", item_id)

    def source(self, source_id: str) -> Source:
        return self._get("source", source_id)

    def site(self, site_id: str) -> Site:
        return self._get("site", site_id)

    def station(self, station_id: str) -> Station:
        return self._get("station", station_id)

    def vehicle(self, spacecraft_id: str) -> Spacecraft:
        return self._get("spacecraft", spacecraft_id)

    def chapter(self, chapter_id: str) -> Chapter:
        return self._get("chapter", chapter_id)

    def conflict(self, conflict_id: str) -> Conflict:
        return self._get("conflict", conflict_id)

    @property
    def span(self) -> tuple[float, float]:
        """(first phase start or event, last phase end or event), ET: the range of the time slider."""
        starts = [p.start_et for p in self.phases] + [e.et for e in self.events]
        ends = [p.end_et for p in self.phases] + [e.et for e in self.events]
        return min(starts), max(ends)

    def phase_at(self, et: float) -> Phase | None:
        """The most specific (shortest) phase with ``start_et <= et < end_et``, or None."""
        inside = [p for p in self.phases if p.contains(et)]
        return min(inside, key=lambda p: p.duration_s) if inside else None

    def events_between(self, et0: float, et1: float) -> tuple[Event, ...]:
        """Events with ``et0 <= et <= et1``, in time order."""
        lo = bisect.bisect_left(self._event_ets, et0)
        hi = bisect.bisect_right(self._event_ets, et1)
        return self.events[lo:hi]

    def chapter_at(self, et: float) -> Chapter | None:
        """The last chapter starting at or before ``et`` (None before the first one)."""
        found = None
        for c in self.chapters:
            if c.start_et <= et:
                found = c
        return found
