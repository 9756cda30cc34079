"""Tests of ``assets/mission.yaml`` and its loader ``viewer.mission``.

The key times are published values: launch, lunar touchdown and liftoff to the second (Wikipedia [R2]; CNSA gives
the minute), docking 14:48 BJT (Xinhua [R15]) and capsule touchdown 14:07 BJT (CCTV/Xinhua [R17]). They are written
here as literals, independently of the YAML.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from viewer import constants
from viewer.epochs import et_from_utc
from viewer.errors import DataError
from viewer.mission import GRADES, Event, Phase, Text, default_path, landing_site, load_mission

KEY_TIMES = {
    "launch": "2024-05-03T09:27:29Z",
    "touchdown": "2024-06-01T22:23:16Z",
    "liftoff": "2024-06-03T23:38:10Z",
    "docking": "2024-06-06T06:48:00Z",
    "capsule_touchdown": "2024-06-25T06:07:00Z",
}
STABLE_EVENT_IDS = [
    "queqiao2_launch",
    "queqiao2_loi",
    "launch",
    "loi",
    "separation_la_or",
    "descent_start",
    "touchdown",
    "liftoff",
    "docking",
    "sample_transfer",
    "capsule_separation",
    "entry_interface",
    "capsule_touchdown",
    "sample_handover",
]
STABLE_PHASE_IDS = [
    "queqiao2_cruise",
    "queqiao2_mission_orbit",
    "cruise",
    "lunar_orbit",
    "powered_descent",
    "surface_operations",
    "ascent",
    "rendezvous",
    "lunar_orbit_wait",
    "trans_earth_coast",
    "reentry",
]
KNOWN_CONFLICTS = {  # the places where published sources disagree, each recorded with the value chosen
    "c_loi_time",
    "c_launch_mass",
    "c_capture_orbit",
    "c_working_periapsis",
    "c_queqiao2_inclination",
    "c_queqiao2_orbit_size",
    "c_reentry_start",
    "c_capsule_touchdown",
    "c_apollo_diameter",
    "c_apollo_centre",
    "c_spa_depth",
    "c_retroreflector_count",
    "c_mare_age",
    "c_queqiao1_distance",
}
# Domains of the original outlets: a `url:` under one of these outlets must be on its own site, never a repost.
OUTLET_DOMAINS = {
    "Wikipedia": "wikipedia.org",
    "CNSA": "cnsa.gov.cn",
    "SpaceNews": "spacenews.com",
    "LROC/NASA": "asu.edu",
    "NASA NSSDC": "nssdc.gsfc.nasa.gov",
    "China Daily": "chinadaily.com.cn",
    "Xinhua": "news.cn",
    "People's Daily": "people.com.cn",
    "CCTV": "cctv.com",
    "ESA": "esa.int",
    "CNES": "cnes.fr",
}
LATIN_WORD = re.compile(r"[A-Za-zΔ][A-Za-z0-9'’/\-]*")
CJK = re.compile(r"[\u4e00-\u9fff]")
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def mission():
    return load_mission()


def all_texts(m):
    """(key, Text) for every bilingual text in the file."""
    yield "mission.name", m.name
    yield "mission.note", m.note
    if m.station_note:
        yield "station_note", m.station_note
    for f in m.facts:
        yield f"mission.facts.{f.id}.label", f.label
    for x in (*m.phases, *m.events):
        yield f"{x.id}.title", x.title
        yield f"{x.id}.caption", x.caption
    for s in m.sites:
        yield f"{s.id}.name", s.name
    for s in m.stations:
        yield f"{s.id}.name", s.name
        yield f"{s.id}.antenna", s.antenna
    for v in m.spacecraft:
        yield f"{v.id}.name", v.name
        for f in v.facts:
            yield f"{v.id}.{f.id}.label", f.label
    for c in m.chapters:
        yield f"chapter {c.id}.title", c.title


def cited_ids(m):
    """(where, source id) for every citation in the file."""
    for x in (*m.phases, *m.events, *m.sites, *m.stations, *m.facts):
        for s in x.sources:
            yield x.id, s
    for site in m.sites:
        for q in (site.diameter_km, site.depth_km):
            for s in q.sources if q else ():
                yield site.id, s
    for v in m.spacecraft:
        for f in v.facts:
            for s in f.sources:
                yield f"{v.id}.{f.id}", s
    for c in m.conflicts:
        for a in c.alternatives:
            for s in a.sources:
                yield c.id, s
    for s in m.credits:
        yield "mission.credits", s


# ---- the data ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item_id, utc", KEY_TIMES.items())
def test_key_times(mission, item_id, utc):
    event = mission.item(item_id)
    assert isinstance(event, Event)
    assert event.time == utc
    assert event.et == et_from_utc(utc)
    assert event.grade == "sourced"


def test_launch_epoch_is_t0(mission):
    assert mission.launch == KEY_TIMES["launch"]
    assert mission.launch_et == et_from_utc(KEY_TIMES["launch"])
    assert mission.note.en.startswith("Reconstructed trajectory: no public ephemeris exists")


def test_stable_ids_exist(mission):
    for i in STABLE_EVENT_IDS:
        assert isinstance(mission.item(i), Event), i
    for i in STABLE_PHASE_IDS:
        assert isinstance(mission.item(i), Phase), i


def test_timeline_spans_queqiao2_launch_to_handover(mission):
    assert mission.events[0].id == "queqiao2_launch"
    assert mission.events[0].time == "2024-03-20T00:31:28Z"
    assert mission.events[-1].id == "sample_handover"
    assert mission.events[-1].time.startswith("2024-06-28T")


def test_times_are_utc_with_z_and_match_et(mission):
    for p in mission.phases:
        assert UTC_Z.match(p.start) and UTC_Z.match(p.end), p
        assert p.start_et == et_from_utc(p.start) and p.end_et == et_from_utc(p.end)
    for e in mission.events:
        assert UTC_Z.match(e.time), e
        assert e.et == et_from_utc(e.time)


def test_every_source_id_resolves_and_every_source_is_cited(mission):
    cited = list(cited_ids(mission))
    assert cited
    for where, sid in cited:
        assert mission.source(sid).id == sid, where
    unused = {s.id for s in mission.sources} - {sid for _, sid in cited}
    assert not unused, f"sources nobody cites: {sorted(unused)}"


def test_sources_show_the_original_outlet_never_a_repost(mission):
    for s in mission.sources:
        assert s.url or s.read_copy or s.id in ("mission-facts", "R59"), s
        if s.url and s.outlet in OUTLET_DOMAINS:
            assert OUTLET_DOMAINS[s.outlet] in s.url, f"{s.id}: {s.url} is not on {s.outlet}'s own site"
        if s.url and s.read_copy:
            assert s.url != s.read_copy
    for needed in ("lola-ldem", "lroc-wac", "blue-marble", "mission-facts"):
        assert needed in {s.id for s in mission.sources}
    assert "LOLA" in mission.source("lola-ldem").title


def test_every_text_has_english_and_chinese(mission):
    texts = list(all_texts(mission))
    assert len(texts) > 100
    for key, t in texts:
        assert isinstance(t, Text), key
        assert t.en.strip() and t.zh.strip(), key
        assert not CJK.search(t.en), f"{key}: Chinese characters in the English text"
        assert CJK.search(t.zh), f"{key}: no Chinese characters in {t.zh!r}"
        assert t["en"] == t.en and t["zh"] == t.zh


def test_chinese_texts_have_no_latin_words_but_proper_names(mission):
    allowed = set(mission.proper_names)
    assert {"LOLA", "LROC", "UTC"} <= allowed
    assert not any(CJK.search(n) for n in allowed)
    for key, t in all_texts(mission):
        stray = [w for w in LATIN_WORD.findall(t.zh) if w not in allowed]
        assert not stray, f"{key}.zh has Latin words {stray}: {t.zh}"
    assert "嫦娥六号" in mission.name.zh
    assert any("鹊桥二号" in e.caption.zh for e in mission.events)


def test_items_sorted_and_unique(mission):
    starts = [p.start_et for p in mission.phases]
    assert starts == sorted(starts)
    times = [e.et for e in mission.events]
    assert times == sorted(times)
    ids = [x.id for x in (*mission.phases, *mission.events)]
    assert len(ids) == len(set(ids))
    for p in mission.phases:
        assert p.end_et > p.start_et, p


def test_grades_and_notes(mission):
    graded = [*mission.phases, *mission.events, *mission.sites, *mission.stations, *mission.facts]
    graded += [f for v in mission.spacecraft for f in v.facts]
    for x in graded:
        assert x.grade in GRADES, x
        assert x.grade_note and "\n" not in x.grade_note, x
    grades = {x.grade for x in graded}
    assert grades == set(GRADES)


def test_change6_phases_tile_launch_to_handover(mission):
    """The top-level Chang'e-6 phases follow each other with no gap or overlap."""
    top = [p for p in mission.phases if p.parent is None and not p.id.startswith("queqiao2_")]
    assert top[0].start == KEY_TIMES["launch"]
    for a, b in zip(top, top[1:]):
        assert a.end_et == b.start_et, f"{a.id} ends {a.end}, {b.id} starts {b.start}"
    assert top[-1].end_et == mission.item("sample_handover").et


def test_unpublished_times_are_assumed(mission):
    """Times no source gives (separations, the skip re-entry's sub-steps) are graded assumed, in their order."""
    assert mission.item("separation_la_or").grade == "assumed"
    assert mission.item("capsule_separation").grade == "assumed"
    for i in ("skip_out", "skip_apex", "second_entry", "parachute"):
        e = mission.item(i)
        assert e.grade == "assumed"
        assert mission.item("entry_interface").et < e.et < mission.item("capsule_touchdown").et
    assert mission.item("entry_interface").time == "2024-06-25T05:41:00Z"


def test_conflicts(mission):
    ids = {c.id for c in mission.conflicts}
    assert KNOWN_CONFLICTS <= ids
    for c in mission.conflicts:
        assert len(c.alternatives) >= 2 and c.reason, c.id
        if c.about not in (None, "mission"):
            assert c.about in {
                x.id for x in (*mission.phases, *mission.events, *mission.sites, *mission.stations, *mission.spacecraft)
            }, c.id
    loi = mission.conflict("c_loi_time")
    assert loi.about == "loi" and loi.chosen == mission.item("loi").time == "2024-05-08T02:12:00Z"
    assert mission.conflict("c_capsule_touchdown").chosen == KEY_TIMES["capsule_touchdown"]
    assert [c.id for c in mission.conflicts if c.about == "apollo_basin"] == ["c_apollo_diameter", "c_apollo_centre"]


def test_sites(mission):
    site = mission.site("landing_site")
    assert (site.lat_deg, site.lon_east_deg, site.elevation_m) == (-41.6385, 206.0148, -5256)
    assert site.reference_radius_km == constants.MOON_RADIUS_KM
    assert site.frame == constants.MOON_ME and site.grade == "sourced" and "R12" in site.sources
    capsule = mission.site("capsule_landing")
    assert (capsule.lat_deg, capsule.lon_east_deg, capsule.grade) == (42.0, 111.7, "assumed")
    wenchang = mission.site("wenchang")
    assert (wenchang.lat_deg, wenchang.lon_east_deg, wenchang.grade) == (19.6144917, 110.9511333, "sourced")
    apollo = mission.site("apollo_basin")
    assert apollo.diameter_km.value in (492, 537, 483, 538)
    assert set(apollo.conflicts) == {"c_apollo_diameter", "c_apollo_centre"}
    spa = mission.site("spa_basin")
    assert spa.grade == "assumed" and spa.diameter_km.grade == "sourced" and spa.diameter_km.value == 2500


def test_landing_site_reads_the_mission_file(tmp_path, monkeypatch):
    """landing_site() is the mission file's site, east longitude in [0, 360); moving it in the file moves it."""
    assert landing_site() == (-41.6385, 206.0148)
    text = default_path().read_text(encoding="utf-8").replace("lon_east_deg: 206.0148", "lon_east_deg: -150.0")
    (tmp_path / "mission.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr("viewer.paths.ASSETS_DIR", tmp_path)
    assert landing_site() == (-41.6385, 210.0)


def test_stations(mission):
    grades = {s.id: s.grade for s in mission.stations}
    assert grades == {"kashi": "assumed", "jiamusi": "assumed", "neuquen": "sourced"}
    neuquen = mission.station("neuquen")
    assert (neuquen.lat_deg, neuquen.lon_east_deg) == (-38.1914, -70.1495)
    assert "R39" in neuquen.sources
    for s in mission.stations:
        assert s.elevation_mask_deg == 5
        assert -180 <= s.lon_east_deg <= 360


def test_spacecraft(mission):
    names = {v.id: v.naif_name for v in mission.spacecraft}
    assert set(names) == {"orbiter", "returner", "lander", "ascender", "queqiao2"}
    assert set(names.values()) <= set(constants.VEHICLES)
    assert mission.vehicle("lander").fact("engine").value == 7500
    assert mission.vehicle("ascender").fact("engine").value == 3000
    dish = mission.vehicle("queqiao2").fact("dish")
    assert (dish.value, dish.unit, dish.grade) == (4.2, "m", "sourced")


def test_orbit_facts_agree_with_kepler(mission):
    """Periapsis, apoapsis and period are sourced separately; Kepler's third law must tie them together."""
    gm_moon = 4902.800066  # km^3/s^2, DE440 (NAIF gm_de440.tpc, BODY301_GM)
    for craft, lo, hi, period in (
        ("orbiter", "capture_periapsis", "capture_apoapsis", "capture_period"),
        ("queqiao2", "periapsis", "apoapsis", "period"),
    ):
        v = mission.vehicle(craft)
        a_km = constants.MOON_RADIUS_KM + (v.fact(lo).value + v.fact(hi).value) / 2
        t_h = 2 * math.pi * math.sqrt(a_km**3 / gm_moon) / 3600
        assert t_h == pytest.approx(v.fact(period).value, rel=0.03), craft


def test_chapters_in_story_order_cover_every_item(mission):
    assert [c.id for c in mission.chapters] == [
        "launch",
        "into_orbit",
        "landing",
        "sampling",
        "liftoff_docking",
        "trip_home",
    ]
    starts = [c.start_et for c in mission.chapters]
    assert starts == sorted(starts)
    covered = [i for c in mission.chapters for i in c.covers]
    assert sorted(covered) == sorted(x.id for x in (*mission.phases, *mission.events))
    assert "touchdown" in mission.chapter("landing").covers
    assert mission.chapter_at(mission.item("docking").et).id == "liftoff_docking"


# ---- the convenience API -------------------------------------------------------------------------------------


def test_phase_at(mission):
    assert mission.phase_at(et_from_utc(KEY_TIMES["touchdown"])).id == "surface_operations"
    assert mission.phase_at(et_from_utc("2024-06-01T22:15:00Z")).id == "powered_descent"
    assert mission.phase_at(et_from_utc("2024-06-02T01:00:00Z")).id == "drilling"
    assert mission.phase_at(et_from_utc("2024-04-20T00:00:00Z")).id == "queqiao2_mission_orbit"
    assert mission.phase_at(et_from_utc("2024-03-01T00:00:00Z")) is None


def test_events_between(mission):
    got = mission.events_between(et_from_utc("2024-06-01T22:08:00Z"), et_from_utc(KEY_TIMES["touchdown"]))
    assert [e.id for e in got][0] == "descent_start" and got[-1].id == "touchdown"
    assert all(isinstance(e, Event) for e in got)
    assert mission.events_between(et_from_utc("2024-04-10T00:00:00Z"), et_from_utc("2024-04-11T00:00:00Z")) == ()


def test_repr(mission):
    assert repr(mission.item("touchdown")) == "<Event 'touchdown' 2024-06-01T22:23:16Z sourced>"
    assert repr(mission.item("powered_descent")) == (
        "<Phase 'powered_descent' 2024-06-01T22:08:40Z → 2024-06-01T22:23:16Z sourced>"
    )
    assert repr(mission).startswith("<Mission 'change6' ")


def test_records_are_frozen(mission):
    with pytest.raises(AttributeError):
        mission.item("touchdown").time = "2024-06-02T00:00:00Z"
    with pytest.raises(AttributeError):
        mission.phases = ()


def test_unknown_id_raises_keyerror(mission):
    with pytest.raises(KeyError, match="no_such_thing"):
        mission.item("no_such_thing")
    with pytest.raises(KeyError):
        mission.source("R999")


def test_cache_follows_the_file(tmp_path):
    path = tmp_path / "mission.yaml"
    path.write_text(default_path().read_text(encoding="utf-8"), encoding="utf-8")
    first = load_mission(path)
    assert load_mission(path) is first
    text = path.read_text(encoding="utf-8").replace('zh: "发射升空"', 'zh: "点火升空"')
    path.write_text(text, encoding="utf-8")
    import os

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = load_mission(path)
    assert second is not first and second.chapter("launch").title.zh == "点火升空"


def test_loader_does_not_import_ui_or_vtk():
    code = "import sys, viewer.mission; bad = {'panel', 'pyvista', 'vtk'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- broken files -----------------------------------------------------------------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = default_path().read_text(encoding="utf-8")
    assert text.count(old) == 1, f"test anchor {old!r} is not unique in mission.yaml"
    path = tmp_path / "mission.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_mission(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    assert info.value.path == path
    return msg


# (what to replace, with what, the event it breaks, the key path after "events[i]", a word the message must hold)
BROKEN_EVENTS = {
    "unknown source id": ("sources: [R2, R9, R12, R49]", "sources: [R2, R999]", "touchdown", ".sources[1]", "R999"),
    "time without Z": (
        'time: "2024-06-06T06:48:00Z"',
        'time: "2024-06-06T06:48:00"',
        "docking",
        ".time",
        "2024-06-06T06:48:00",
    ),
    "time not ISO": ('time: "2024-06-06T06:48:00Z"', 'time: "June 6 2024"', "docking", ".time", "June 6 2024"),
    "month 13": ('time: "2024-06-06T06:48:00Z"', 'time: "2024-13-06T06:48:00Z"', "docking", ".time", "2024-13-06"),
    "missing zh": (
        '      zh: "上升器带着样品起飞。地面看不到它，它靠自身的敏感器和鹊桥二号确定位置和姿态。"\n',
        "",
        "liftoff",
        ".caption.zh",
        "missing",
    ),
    "Latin word in zh": ('zh: "月背着陆"', 'zh: "月背 landing"', "touchdown", ".title.zh", "'landing'"),
    "unsorted": ('time: "2024-05-05T02:57:00Z"', 'time: "2024-05-04T01:00:00Z"', "tcm_2", ".time", "sorted"),
    "unknown key": ("  - id: liftoff\n", "  - id: liftoff\n    colour: red\n", "liftoff", ".colour", "unknown key"),
    "bad grade": (
        '    grade: sourced\n    grade_note: "Xinhua: transfer complete by 15:24 BJT"\n',
        '    grade: probable\n    grade_note: "Xinhua: transfer complete by 15:24 BJT"\n',
        "sample_transfer",
        ".grade",
        "probable",
    ),
}


@pytest.mark.parametrize("case", BROKEN_EVENTS, ids=list(BROKEN_EVENTS))
def test_broken_event(tmp_path, mission, case):
    old, new, event_id, key, word = BROKEN_EVENTS[case]
    msg = _error(_broken(tmp_path, old, new))
    i = [e.id for e in mission.events].index(event_id)
    assert f"events[{i}]{key}:" in msg and word in msg, msg


def test_yaml_syntax_error_names_the_line(tmp_path):
    old = "    sources: [R14, R2]\n"
    path = _broken(tmp_path, old, "    sources: [R14, R2\n")
    line = default_path().read_text(encoding="utf-8").split(old)[0].count("\n") + 1
    msg = _error(path)
    reported = int(re.search(r"line (\d+)", msg).group(1))
    assert line <= reported <= line + 3, msg
    assert "YAML syntax error" in msg


def test_duplicate_yaml_key(tmp_path):
    path = _broken(tmp_path, "  - id: liftoff\n", "  - id: liftoff\n    id: liftoff2\n")
    msg = _error(path)
    assert "duplicate key 'id'" in msg and "line" in msg


def test_duplicate_id(tmp_path):
    path = _broken(tmp_path, "  - id: ascender_orbit\n", "  - id: liftoff\n")
    msg = _error(path)
    assert "duplicate" in msg and "'liftoff'" in msg


def test_phase_ending_before_start(tmp_path, mission):
    path = _broken(tmp_path, 'end: "2024-06-03T23:44:06Z"', 'end: "2024-06-03T23:30:00Z"')
    i = [p.id for p in mission.phases].index("ascent")
    msg = _error(path)
    assert f"phases[{i}].end" in msg and "not after start" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "mission.yaml"
    path.write_text("", encoding="utf-8")
    assert "(top level)" in _error(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="mission.yaml"):
        load_mission(tmp_path / "mission.yaml")
