"""The sections of ``assets/mission.yaml`` read into records, with the rules that join them: ids unique and
resolvable, phases and events in time order, each sub-phase inside its parent, each item told by one chapter.
"""

from __future__ import annotations

import re
from typing import Any

from viewer.constants import VEHICLES
from viewer.mission.fields import FieldReader
from viewer.mission.records import (
    Alternative,
    Chapter,
    Conflict,
    Event,
    Mission,
    Phase,
    Site,
    Source,
    Spacecraft,
    Station,
)

BODIES = ("MOON", "EARTH")

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


class MissionReader(FieldReader):
    """Reads the whole mission file; :meth:`mission` returns the checked :class:`Mission`."""

    def mission(self) -> Mission:
        top = self.mapping(self.load_yaml(), "", _TOP["required"], _TOP["optional"])
        names = self.seq(top["proper_names"], "proper_names")
        self.proper_names = {self.string(n, f"proper_names[{i}]") for i, n in enumerate(names)}
        sources = self.each(top, "sources", self.source)
        self.unique([s.id for s in sources], "sources", "source")
        self.source_ids = {s.id for s in sources}

        m = self.mapping(top["mission"], "mission", ("id", "name", "launch", "note"), ("credits", "facts"))
        launch, launch_et = self.time(m["launch"], "mission.launch")
        facts = [
            self.fact(f, f"mission.facts[{i}]", with_id=True, with_label=True)
            for i, f in enumerate(self.seq(m.get("facts", []), "mission.facts"))
        ]
        self.unique([f.id for f in facts], "mission.facts", "fact")
        phases, events = self.timeline(top, launch, launch_et)
        sites = self.each(top, "sites", self.site)
        self.unique([s.id for s in sites], "sites", "site")
        stations = self.each(top, "stations", self.station)
        self.unique([s.id for s in stations], "stations", "station")
        craft = self.each(top, "spacecraft", self.craft)
        self.unique([s.id for s in craft], "spacecraft", "spacecraft")
        referable = {"mission"} | {x.id for x in (*phases, *events, *sites, *stations, *craft)}
        conflicts = self.conflicts(top, referable, sites)
        chapters = self.chapters(top, {x.id for x in (*phases, *events)})
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

    def each(self, top: dict, key: str, read) -> list:
        """``read(node, "key[i]")`` for every entry of the top-level list ``key``."""
        return [read(node, f"{key}[{i}]") for i, node in enumerate(self.seq(top[key], key))]

    def timeline(self, top: dict, launch: str, launch_et: float) -> tuple[list[Phase], list[Event]]:
        """Phases and events, each list sorted by time, ids unique across both, the launch event at mission.launch."""
        phases = self.each(top, "phases", self.phase)
        events = self.each(top, "events", self.event)
        self.sorted_by([p.start_et for p in phases], [p.start for p in phases], "phases", "start")
        self.sorted_by([e.et for e in events], [e.time for e in events], "events", "time")
        self.unique([p.id for p in phases] + [e.id for e in events], "phases+events", "phase/event")
        self.check_parents(phases)
        for i, e in enumerate(events):
            if e.id == "launch" and e.et != launch_et:
                self.fail(f"events[{i}].time", f"{e.time} differs from mission.launch {launch}")
        return phases, events

    def conflicts(self, top: dict, referable: set[str], sites: list[Site]) -> list[Conflict]:
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
        return conflicts

    def chapters(self, top: dict, item_ids: set[str]) -> list[Chapter]:
        """The kiosk chapters, sorted by start, each phase or event told in at most one of them."""
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
        return chapters

    def source(self, node: Any, key: str) -> Source:
        d = self.mapping(node, key, ("id", "outlet", "title", "url"), ("read_copy", "title_zh"))
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
            title_zh=self.chinese(d.get("title_zh"), f"{key}.title_zh"),
        )

    def phase(self, node: Any, key: str) -> Phase:
        d = self.mapping(node, key, _ITEM_COMMON + ("start", "end"), ("parent", "grade_note_zh"))
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
            grade_note_zh=self.chinese(d.get("grade_note_zh"), f"{key}.grade_note_zh"),
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
        d = self.mapping(node, key, _ITEM_COMMON + ("time",), ("grade_note_zh",))
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
            grade_note_zh=self.chinese(d.get("grade_note_zh"), f"{key}.grade_note_zh"),
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
