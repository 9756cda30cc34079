"""The mission as data: ``assets/mission.yaml`` parsed into frozen dataclasses and checked once on load.

Every phase, event, site, station and spacecraft fact carries a grade (``sourced``, ``derived`` or ``assumed``),
a one-line ``grade_note`` and source ids that resolve to the file's ``sources:`` list. Times are UTC ISO strings
with ``Z`` in the file; each is kept as that string and as SPICE ET (converted by :mod:`viewer.epochs` only).

A malformed file raises :class:`~viewer.errors.DataError` with one line naming the file, the key path
(``events[12].caption.zh``) and the rule that was broken.

>>> m = load_mission()
>>> m.item("touchdown")
<Event 'touchdown' 2024-06-01T22:23:16Z sourced>
>>> m.phase_at(m.item("touchdown").et).id
'surface_operations'
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from viewer import paths
from viewer.constants import VEHICLES
from viewer.epochs import et_from_utc
from viewer.errors import DataError, InputError

__all__ = [
    "GRADES",
    "LANGUAGES",
    "Alternative",
    "Chapter",
    "Conflict",
    "Event",
    "Fact",
    "Mission",
    "Phase",
    "Site",
    "Source",
    "Spacecraft",
    "Station",
    "Text",
    "default_path",
    "load_mission",
]

GRADES = ("sourced", "derived", "assumed")
LANGUAGES = ("en", "zh")
BODIES = ("MOON", "EARTH")
UTC_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# A "Latin word" in a Chinese text: starts with a Latin letter (or Δ, for Δv) and runs over letters, digits, - / '.
LATIN_WORD = re.compile(r"[A-Za-zΔ][A-Za-z0-9'’/\-]*")


# --------------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------------


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

    def __str__(self) -> str:
        return f"{self.outlet}, {self.title}" + (f" <{self.url}>" if self.url else "")


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

    @property
    def naif_id(self) -> int:
        return VEHICLES[self.naif_name]

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
    """Everything in ``mission.yaml``. Build it with :func:`load_mission`."""

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

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> Mission:
        """Same as :func:`load_mission`."""
        return load_mission(path)

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

    def conflicts_about(self, some_id: str) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.about == some_id)

    def fact(self, fact_id: str) -> Fact:
        for f in self.facts:
            if f.id == fact_id:
                return f
        raise KeyError(f"{self.path.name} has no mission fact {fact_id!r}")

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

    def source_ids_used(self) -> set[str]:
        """Every source id that some record of the file cites (credits included)."""
        used = set(self.credits)
        for f in self.facts:
            used.update(f.sources)
        for x in (*self.phases, *self.events, *self.sites, *self.stations):
            used.update(x.sources)
        for s in self.sites:
            for q in (s.diameter_km, s.depth_km):
                if q is not None:
                    used.update(q.sources)
        for v in self.spacecraft:
            for f in v.facts:
                used.update(f.sources)
        for c in self.conflicts:
            for a in c.alternatives:
                used.update(a.sources)
        return used


# --------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------


def default_path() -> Path:
    return Path(paths.ASSETS_DIR) / "mission.yaml"


def load_mission(path: str | Path | None = None) -> Mission:
    """Load and check ``mission.yaml`` (default: ``assets/mission.yaml``); cached per file and modification time."""
    p = Path(path) if path is not None else default_path()
    try:
        p = p.resolve()
        st = p.stat()
    except OSError as exc:
        raise DataError(f"{p}: cannot read the mission file ({exc.strerror or exc}); check the path", path=p) from None
    return _load_cached(str(p), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Mission:
    return _Reader(Path(path)).mission()


class _Loader(yaml.SafeLoader):
    """Safe YAML without timestamp conversion (times stay strings) and with duplicate keys as errors."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_TOP = {
    "required": (
        "mission",
        "proper_names",
        "sources",
        "phases",
        "events",
        "conflicts",
        "sites",
        "stations",
        "spacecraft",
        "chapters",
    ),
    "optional": ("station_note",),
}
_ITEM_COMMON = ("id", "title", "caption", "grade", "grade_note", "sources")


class _Reader:
    """Turns the parsed YAML into records, failing on the first broken rule with a one-line DataError."""

    def __init__(self, path: Path):
        self.path = path
        self.proper_names: set[str] = set()
        self.source_ids: set[str] = set()

    # ---- helpers -------------------------------------------------------------------------------------------

    def fail(self, key: str, problem: str):
        problem = " ".join(str(problem).split())
        raise DataError(f"{self.path}: {key or '(top level)'}: {problem}", path=self.path)

    def load_yaml(self) -> Any:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})", path=self.path) from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read ({exc.strerror or exc})", path=self.path) from None
        try:
            return yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
            msg = " ".join(
                f"{self.path}:{mark.line + 1 if mark else '?'}: YAML syntax error at {where}: {problem}".split()
            )
            raise DataError(msg, path=self.path) from None

    def mapping(self, node: Any, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(node, dict):
            self.fail(key, f"expected a mapping with keys {', '.join(required)}, got {type(node).__name__}")
        allowed = set(required) | set(optional)
        for k in node:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k), f"unknown key (allowed here: {', '.join(sorted(allowed))})")
        for k in required:
            if k not in node:
                self.fail(f"{key}.{k}" if key else k, "required key is missing")
        return node

    def seq(self, node: Any, key: str) -> list:
        if not isinstance(node, list):
            self.fail(key, f"expected a list, got {type(node).__name__}")
        return node

    def string(self, node: Any, key: str, *, nullable: bool = False) -> str | None:
        if node is None and nullable:
            return None
        if not isinstance(node, str) or not node.strip():
            self.fail(key, f"expected a non-empty string, got {node!r}")
        if "\n" in node.strip():
            self.fail(key, "must be one line")
        return node.strip()

    def ident(self, node: Any, key: str) -> str:
        s = self.string(node, key)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", s):
            self.fail(key, f"id {s!r} may use only letters, digits, _ and -")
        return s

    def number(self, node: Any, key: str, lo: float = -math.inf, hi: float = math.inf, *, nullable=False):
        if node is None and nullable:
            return None
        if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
            self.fail(key, f"expected a number, got {node!r}")
        if not lo <= node <= hi:
            self.fail(key, f"{node} is outside [{lo:g}, {hi:g}]")
        return float(node)

    def text(self, node: Any, key: str) -> Text:
        d = self.mapping(node, key, LANGUAGES)
        en = self.string(d["en"], f"{key}.en")
        zh = self.string(d["zh"], f"{key}.zh")
        for word in LATIN_WORD.findall(zh):
            if word not in self.proper_names:
                self.fail(f"{key}.zh", f"Latin word {word!r} in Chinese text; translate it or list it in proper_names")
        return Text(en=en, zh=zh)

    def time(self, node: Any, key: str) -> tuple[str, float]:
        if not isinstance(node, str) or not UTC_PATTERN.match(node):
            self.fail(key, f'time {node!r} is not UTC ISO with Z; write it in quotes like "2024-06-01T22:23:16Z"')
        try:
            return node, et_from_utc(node)
        except InputError as exc:
            self.fail(key, f'{exc}; write a real UTC time like "2024-06-01T22:23:16Z"')

    def grade(self, node: Any, key: str) -> str:
        if node not in GRADES:
            self.fail(key, f"grade {node!r} is not one of {', '.join(GRADES)}")
        return node

    def sources(self, node: Any, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        ids = self.seq(node, key)
        if not ids and not allow_empty:
            self.fail(key, "needs at least one source id")
        for i, s in enumerate(ids):
            if s not in self.source_ids:
                self.fail(f"{key}[{i}]", f"unknown source id {s!r}; add it to sources: or fix the id")
        return tuple(ids)

    def unique(self, ids: list[str], key: str, what: str) -> None:
        seen: dict[str, int] = {}
        for i, x in enumerate(ids):
            if x in seen:
                self.fail(f"{key}[{i}].id", f"duplicate {what} id {x!r} (also at {key}[{seen[x]}])")
            seen[x] = i

    def fact(self, node: Any, key: str, *, with_id: bool, with_label: bool) -> Fact:
        req = ("value", "grade", "grade_note", "sources") + (("id",) if with_id else ())
        opt = ("unit",) + (("label",) if with_label else ())
        d = self.mapping(node, key, req, opt)
        value = d["value"]
        if isinstance(value, list):
            if len(value) != 2:
                self.fail(f"{key}.value", "a range is written [low, high]")
            lo = self.number(value[0], f"{key}.value[0]")
            hi = self.number(value[1], f"{key}.value[1]")
            if hi < lo:
                self.fail(f"{key}.value", f"range [{lo:g}, {hi:g}] has high < low")
            value = (lo, hi)
        else:
            value = self.number(value, f"{key}.value")
        return Fact(
            id=self.ident(d["id"], f"{key}.id") if with_id else key.rsplit(".", 1)[-1],
            value=value,
            unit=self.string(d.get("unit"), f"{key}.unit", nullable=True),
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
            label=self.text(d["label"], f"{key}.label") if "label" in d else None,
        )

    # ---- sections ------------------------------------------------------------------------------------------

    def mission(self) -> Mission:
        top = self.load_yaml()
        top = self.mapping(top, "", _TOP["required"], _TOP["optional"])

        names = self.seq(top["proper_names"], "proper_names")
        self.proper_names = {self.string(n, f"proper_names[{i}]") for i, n in enumerate(names)}

        sources = [self.source(s, f"sources[{i}]") for i, s in enumerate(self.seq(top["sources"], "sources"))]
        self.unique([s.id for s in sources], "sources", "source")
        self.source_ids = {s.id for s in sources}

        m = self.mapping(top["mission"], "mission", ("id", "name", "launch", "note"), ("credits", "facts"))
        launch, launch_et = self.time(m["launch"], "mission.launch")
        facts = [
            self.fact(f, f"mission.facts[{i}]", with_id=True, with_label=True)
            for i, f in enumerate(self.seq(m.get("facts", []), "mission.facts"))
        ]
        self.unique([f.id for f in facts], "mission.facts", "fact")

        phases = [self.phase(p, f"phases[{i}]") for i, p in enumerate(self.seq(top["phases"], "phases"))]
        events = [self.event(e, f"events[{i}]") for i, e in enumerate(self.seq(top["events"], "events"))]
        self.sorted_by([p.start_et for p in phases], [p.start for p in phases], "phases", "start")
        self.sorted_by([e.et for e in events], [e.time for e in events], "events", "time")
        self.unique([p.id for p in phases] + [e.id for e in events], "phases+events", "phase/event")
        self.check_parents(phases)
        for i, e in enumerate(events):
            if e.id == "launch" and e.et != launch_et:
                self.fail(f"events[{i}].time", f"{e.time} differs from mission.launch {launch}")

        sites = [self.site(s, f"sites[{i}]") for i, s in enumerate(self.seq(top["sites"], "sites"))]
        self.unique([s.id for s in sites], "sites", "site")
        stations = [self.station(s, f"stations[{i}]") for i, s in enumerate(self.seq(top["stations"], "stations"))]
        self.unique([s.id for s in stations], "stations", "station")
        craft = [self.craft(s, f"spacecraft[{i}]") for i, s in enumerate(self.seq(top["spacecraft"], "spacecraft"))]
        self.unique([s.id for s in craft], "spacecraft", "spacecraft")

        referable = {"mission"} | {x.id for x in (*phases, *events, *sites, *stations, *craft)}
        conflicts = [
            self.conflict(c, f"conflicts[{i}]", referable)
            for i, c in enumerate(self.seq(top["conflicts"], "conflicts"))
        ]
        self.unique([c.id for c in conflicts], "conflicts", "conflict")
        conflict_ids = {c.id for c in conflicts}
        for i, s in enumerate(sites):
            for j, c in enumerate(s.conflicts):
                if c not in conflict_ids:
                    self.fail(f"sites[{i}].conflicts[{j}]", f"unknown conflict id {c!r}")

        item_ids = {x.id for x in (*phases, *events)}
        chapters = [
            self.chapter(c, f"chapters[{i}]", item_ids) for i, c in enumerate(self.seq(top["chapters"], "chapters"))
        ]
        self.unique([c.id for c in chapters], "chapters", "chapter")
        self.sorted_by([c.start_et for c in chapters], [c.start for c in chapters], "chapters", "start")
        told: dict[str, str] = {}
        for i, c in enumerate(chapters):
            for j, x in enumerate(c.covers):
                if x in told:
                    self.fail(f"chapters[{i}].covers[{j}]", f"{x!r} is already told in chapter {told[x]!r}")
                told[x] = c.id

        return Mission(
            path=self.path,
            id=self.ident(m["id"], "mission.id"),
            name=self.text(m["name"], "mission.name"),
            launch=launch,
            launch_et=launch_et,
            note=self.text(m["note"], "mission.note"),
            credits=self.sources(m.get("credits", []), "mission.credits", allow_empty=True),
            facts=tuple(facts),
            proper_names=tuple(names),
            sources=tuple(sources),
            phases=tuple(phases),
            events=tuple(events),
            conflicts=tuple(conflicts),
            sites=tuple(sites),
            stations=tuple(stations),
            station_note=self.text(top["station_note"], "station_note") if "station_note" in top else None,
            spacecraft=tuple(craft),
            chapters=tuple(chapters),
        )

    def sorted_by(self, ets: list[float], labels: list[str], key: str, field_name: str) -> None:
        for i in range(1, len(ets)):
            if ets[i] < ets[i - 1]:
                self.fail(
                    f"{key}[{i}].{field_name}",
                    f"{labels[i]} is earlier than {key}[{i - 1}].{field_name} {labels[i - 1]}; "
                    f"keep {key} sorted by {field_name}",
                )

    def source(self, node: Any, key: str) -> Source:
        d = self.mapping(node, key, ("id", "outlet", "title", "url"), ("read_copy",))
        url = self.string(d["url"], f"{key}.url", nullable=True)
        for k, u in (("url", url), ("read_copy", d.get("read_copy"))):
            if u is not None and not re.match(r"^https?://\S+$", str(u)):
                self.fail(f"{key}.{k}", f"{u!r} is not an http(s) URL")
        return Source(
            id=self.ident(d["id"], f"{key}.id"),
            outlet=self.string(d["outlet"], f"{key}.outlet"),
            title=self.string(d["title"], f"{key}.title"),
            url=url,
            read_copy=self.string(d.get("read_copy"), f"{key}.read_copy", nullable=True),
        )

    def phase(self, node: Any, key: str) -> Phase:
        d = self.mapping(node, key, _ITEM_COMMON + ("start", "end"), ("parent",))
        start, start_et = self.time(d["start"], f"{key}.start")
        end, end_et = self.time(d["end"], f"{key}.end")
        if end_et <= start_et:
            self.fail(f"{key}.end", f"end {end} is not after start {start}")
        return Phase(
            id=self.ident(d["id"], f"{key}.id"),
            title=self.text(d["title"], f"{key}.title"),
            caption=self.text(d["caption"], f"{key}.caption"),
            start=start,
            end=end,
            start_et=start_et,
            end_et=end_et,
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
            parent=self.ident(d["parent"], f"{key}.parent") if "parent" in d else None,
        )

    def check_parents(self, phases: list[Phase]) -> None:
        by_id = {p.id: p for p in phases}
        for i, p in enumerate(phases):
            if p.parent is None:
                continue
            parent = by_id.get(p.parent)
            if parent is None:
                self.fail(f"phases[{i}].parent", f"unknown phase {p.parent!r}")
            if not (parent.start_et <= p.start_et and p.end_et <= parent.end_et):
                self.fail(f"phases[{i}]", f"{p.id!r} ({p.start} → {p.end}) is not inside its parent {parent!r}")

    def event(self, node: Any, key: str) -> Event:
        d = self.mapping(node, key, _ITEM_COMMON + ("time",))
        time, et = self.time(d["time"], f"{key}.time")
        return Event(
            id=self.ident(d["id"], f"{key}.id"),
            title=self.text(d["title"], f"{key}.title"),
            caption=self.text(d["caption"], f"{key}.caption"),
            time=time,
            et=et,
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
        )

    def conflict(self, node: Any, key: str, referable: set[str]) -> Conflict:
        d = self.mapping(node, key, ("id", "about", "chosen", "alternatives", "reason"))
        about = self.string(d["about"], f"{key}.about", nullable=True)
        if about is not None and about not in referable:
            self.fail(
                f"{key}.about", f"{about!r} is not the id of a phase, event, site, station, spacecraft or 'mission'"
            )
        alts = self.seq(d["alternatives"], f"{key}.alternatives")
        if len(alts) < 2:
            self.fail(f"{key}.alternatives", "a conflict lists at least two alternatives")
        alternatives = []
        for j, a in enumerate(alts):
            ak = f"{key}.alternatives[{j}]"
            a = self.mapping(a, ak, ("value", "sources"))
            alternatives.append(
                Alternative(self.string(str(a["value"]), f"{ak}.value"), self.sources(a["sources"], f"{ak}.sources"))
            )
        return Conflict(
            id=self.ident(d["id"], f"{key}.id"),
            about=about,
            chosen=self.string(str(d["chosen"]), f"{key}.chosen"),
            alternatives=tuple(alternatives),
            reason=self.string(d["reason"], f"{key}.reason"),
        )

    def site(self, node: Any, key: str) -> Site:
        d = self.mapping(
            node,
            key,
            ("id", "name", "body", "lat_deg", "lon_east_deg", "frame", "grade", "grade_note", "sources"),
            ("elevation_m", "reference_radius_km", "diameter_km", "depth_km", "conflicts"),
        )
        body = d["body"]
        if body not in BODIES:
            self.fail(f"{key}.body", f"body {body!r} is not one of {', '.join(BODIES)}")
        conflicts = self.seq(d.get("conflicts", []), f"{key}.conflicts")
        return Site(
            id=self.ident(d["id"], f"{key}.id"),
            name=self.text(d["name"], f"{key}.name"),
            body=body,
            lat_deg=self.number(d["lat_deg"], f"{key}.lat_deg", -90, 90),
            lon_east_deg=self.number(d["lon_east_deg"], f"{key}.lon_east_deg", -180, 360),
            frame=self.string(d["frame"], f"{key}.frame"),
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
            elevation_m=self.number(d.get("elevation_m"), f"{key}.elevation_m", -20000, 20000, nullable=True),
            reference_radius_km=self.number(
                d.get("reference_radius_km"), f"{key}.reference_radius_km", 0, nullable=True
            ),
            diameter_km=(
                self.fact(d["diameter_km"], f"{key}.diameter_km", with_id=False, with_label=False)
                if "diameter_km" in d
                else None
            ),
            depth_km=(
                self.fact(d["depth_km"], f"{key}.depth_km", with_id=False, with_label=False)
                if "depth_km" in d
                else None
            ),
            conflicts=tuple(self.ident(c, f"{key}.conflicts[{j}]") for j, c in enumerate(conflicts)),
        )

    def station(self, node: Any, key: str) -> Station:
        d = self.mapping(
            node,
            key,
            (
                "id",
                "name",
                "lat_deg",
                "lon_east_deg",
                "altitude_m",
                "altitude_grade",
                "elevation_mask_deg",
                "antenna",
                "grade",
                "grade_note",
                "sources",
            ),
        )
        return Station(
            id=self.ident(d["id"], f"{key}.id"),
            name=self.text(d["name"], f"{key}.name"),
            lat_deg=self.number(d["lat_deg"], f"{key}.lat_deg", -90, 90),
            lon_east_deg=self.number(d["lon_east_deg"], f"{key}.lon_east_deg", -180, 360),
            altitude_m=self.number(d["altitude_m"], f"{key}.altitude_m", -500, 9000),
            altitude_grade=self.grade(d["altitude_grade"], f"{key}.altitude_grade"),
            elevation_mask_deg=self.number(d["elevation_mask_deg"], f"{key}.elevation_mask_deg", 0, 90),
            antenna=self.text(d["antenna"], f"{key}.antenna"),
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
        )

    def craft(self, node: Any, key: str) -> Spacecraft:
        d = self.mapping(node, key, ("id", "naif_name", "name", "facts"))
        naif = self.string(d["naif_name"], f"{key}.naif_name")
        if naif not in VEHICLES:
            self.fail(f"{key}.naif_name", f"{naif!r} is not in viewer.constants.VEHICLES ({', '.join(VEHICLES)})")
        facts = [
            self.fact(f, f"{key}.facts[{j}]", with_id=True, with_label=True)
            for j, f in enumerate(self.seq(d["facts"], f"{key}.facts"))
        ]
        self.unique([f.id for f in facts], f"{key}.facts", "fact")
        return Spacecraft(
            id=self.ident(d["id"], f"{key}.id"),
            naif_name=naif,
            name=self.text(d["name"], f"{key}.name"),
            facts=tuple(facts),
        )

    def chapter(self, node: Any, key: str, item_ids: set[str]) -> Chapter:
        d = self.mapping(node, key, ("id", "title", "start", "covers"))
        start, start_et = self.time(d["start"], f"{key}.start")
        covers = self.seq(d["covers"], f"{key}.covers")
        if not covers:
            self.fail(f"{key}.covers", "a chapter covers at least one phase or event")
        for j, x in enumerate(covers):
            if x not in item_ids:
                self.fail(f"{key}.covers[{j}]", f"unknown phase/event id {x!r}")
        return Chapter(
            id=self.ident(d["id"], f"{key}.id"),
            title=self.text(d["title"], f"{key}.title"),
            start=start,
            start_et=start_et,
            covers=tuple(covers),
        )


def landing_site() -> tuple[float, float]:
    """The landing site (planetocentric latitude, east longitude in [0, 360), deg) from ``assets/mission.yaml``."""
    site = load_mission().site("landing_site")
    return site.lat_deg, site.lon_east_deg % 360.0
