"""The relay report: the timeline strip (every link's coverage and windows in UTC and ET, JSON for the UI) and
the text of ``python -m viewer links report``.

The text lists, in this order: the model and its inputs (terrain horizon, stations and masks); the Earth's
elevation at the site over 1–4 June (always negative); end-to-end relay availability during the powered descent,
the surface operations and the ascent; whether the orbiter and the ascender in flight are seen directly from a
station or only through Queqiao-2; then every link's windows in UTC.
"""

from __future__ import annotations

import numpy as np

from viewer.epochs import et_from_utc, utc_from_et
from viewer.links.model import MODEL_VERSION, RelayModel
from viewer.links.names import station_name, text
from viewer.links.project import default_model, mission_phases
from viewer.words import word

EARTH_CHECK_UTC = ("2024-06-01T00:00:00Z", "2024-06-05T00:00:00Z")  # "all of 1–4 June"


def _windows_utc(wins) -> list[dict]:
    return [
        {"et0": a, "et1": b, "utc0": utc_from_et(a, 1), "utc1": utc_from_et(b, 1), "duration_s": round(b - a, 2)}
        for a, b in wins
    ]


def timeline_strip(model: RelayModel | None = None) -> dict:
    """JSON-serialisable windows per link in UTC and ET, for the UI's timeline strip."""
    model = model or default_model()
    wins = model.all_windows()
    out_links = []
    for lid, link in model.links.items():
        cov = model.coverage(lid)
        out_links.append(
            {
                **link.to_dict(),
                "coverage": [{"et0": a, "et1": b, "utc0": utc_from_et(a), "utc1": utc_from_et(b)} for a, b in cov],
                "windows": _windows_utc(wins[lid]),
            }
        )
    h = model.horizon
    return {
        "model": MODEL_VERSION,
        "geometry": text("report_geometry", "en"),
        "step_s": model.step_s,
        "tolerance_s": model.tolerance_s,
        "stations": [
            {
                "id": s.id,
                "name": s.name.en,
                "label": station_name(s),
                "lat_deg": s.lat_deg,
                "lon_east_deg": s.lon_east_deg,
                "altitude_m": s.altitude_m,
                "elevation_mask_deg": s.elevation_mask_deg,
                "grade": s.grade,
            }
            for s in model.stations.values()
        ],
        "horizon": {
            "source": h.source,
            "azimuths_deg": h.azimuths_deg.tolist(),
            "elevations_deg": [round(float(e), 4) for e in h.elevations_deg],
            "observer_height_m": h.observer_height_m,
            "max_range_km": h.max_range_km,
        },
        "links": out_links,
    }


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def build_report(model, mission, link_ids=None) -> dict:
    """Everything the report prints, JSON-serialisable."""
    strip = timeline_strip(model)
    if link_ids:
        for lid in link_ids:
            model.coverage(lid)  # one-line InputError for an unknown id
        strip["links"] = [l for l in strip["links"] if l["id"] in link_ids]
    phases = model.phase_availability(mission_phases(mission))
    for ph in phases:
        ph["windows_utc"] = [[utc_from_et(a, 1), utc_from_et(b, 1)] for a, b in ph["windows"]]
        ph["window_utc"] = [utc_from_et(t, 1) for t in ph["window"]] if ph["window"] else None
    t0, t1 = (et_from_utc(u) for u in EARTH_CHECK_UTC)
    ets = np.arange(t0, t1 + 1.0, 60.0)
    el = model.earth_elevation_at_site(ets)
    liftoff = mission.item("ascent").start_et
    landing = mission.item("surface_operations").start_et
    asc_cov = model.coverage("ascender-queqiao2")
    asc_end = asc_cov[-1][1] if asc_cov else liftoff
    flight = []
    for role in ("ascender", "orbiter"):
        cov = [w for w in model.coverage(f"relay-{role}") if w[0] <= liftoff < w[1]]
        end = min(asc_end, cov[0][1]) if cov else liftoff
        if end <= liftoff:
            continue  # the kernels do not cover this vehicle's flight after liftoff
        r = model.direct_or_relay(role, liftoff, end)
        flight.append(
            {k: v for k, v in r.items() if k not in ("direct", "relay_only", "none")}
            | {
                "start_utc": utc_from_et(liftoff),
                "end_utc": utc_from_et(end),
                "direct_utc": [[utc_from_et(a), utc_from_et(b)] for a, b in r["direct"]][:50],
            }
        )
    return {
        **{k: v for k, v in strip.items() if k != "links"},
        "earth_elevation_at_site": {
            "from_utc": EARTH_CHECK_UTC[0],
            "to_utc": EARTH_CHECK_UTC[1],
            "step_s": 60.0,
            "max_deg": float(el.max()),
            "min_deg": float(el.min()),
            "at_touchdown_deg": float(model.earth_elevation_at_site([landing])[0]),
            "at_liftoff_deg": float(model.earth_elevation_at_site([liftoff])[0]),
        },
        "phases": phases,
        "in_flight": flight,
        "links": strip["links"],
    }


def _header(rep: dict, lang: str) -> list[str]:
    h = rep["horizon"]
    lines = [
        text("report_title", lang, model=rep["model"], step=rep["step_s"], tolerance=rep["tolerance_s"]),
        f"  {text('report_geometry', lang)}",
        text(
            "report_horizon",
            lang,
            source=h["source"],
            low=min(h["elevations_deg"]),
            high=max(h["elevations_deg"]),
            n=len(h["azimuths_deg"]),
            range=h["max_range_km"],
            height=h["observer_height_m"],
        ),
    ]
    for s in rep["stations"]:
        lines.append(
            text(
                "report_station",
                lang,
                id=s["id"],
                lat=s["lat_deg"],
                lon=s["lon_east_deg"],
                alt=s["altitude_m"],
                mask=s["elevation_mask_deg"],
                grade=word("grades", s["grade"], lang),
            )
        )
    e = rep["earth_elevation_at_site"]
    return lines + [
        "",
        text(
            "report_earth",
            lang,
            t0=e["from_utc"],
            t1=e["to_utc"],
            low=e["min_deg"],
            high=e["max_deg"],
            touchdown=e["at_touchdown_deg"],
            liftoff=e["at_liftoff_deg"],
        ),
        text("report_earth_never" if e["max_deg"] < 0 else "report_earth_warning", lang),
    ]


def _phases(rep: dict, lang: str) -> list[str]:
    lines = ["", text("report_phases", lang)]
    for ph in rep["phases"]:
        verdict = ("report_inside" if ph["inside_one_window"] else "report_not_inside") if ph["covered"] else None
        lines.append(
            text(
                "report_phase",
                lang,
                title=ph["titles"][lang],
                t0=ph["start_utc"],
                t1=ph["end_utc"],
                link=ph["link"],
                percent=100 * ph["fraction"],
                verdict=text(verdict or "report_not_covered", lang),
            )
        )
        if not ph["inside_one_window"]:
            lines += [text("report_open_window", lang, t0=a, t1=b) for a, b in ph["windows_utc"][:12]]
    lines += ["", text("report_flight", lang) + ("" if rep["in_flight"] else text("report_flight_none", lang))]
    for f in rep["in_flight"]:
        lines.append(
            text(
                "report_flight_row",
                lang,
                vehicle=text(f["vehicle"], lang),
                t0=f["start_utc"],
                t1=f["end_utc"],
                direct=100 * f["direct_fraction"],
                relay=100 * f["relay_only_fraction"],
                none=100 * f["none_fraction"],
            )
        )
    return lines


def _link_windows(rep: dict, lang: str) -> list[str]:
    lines = ["", text("report_windows", lang)]
    for link in rep["links"]:
        cov = link["coverage"]
        span = sum(c["et1"] - c["et0"] for c in cov)
        open_s = sum(w["duration_s"] for w in link["windows"])
        cover = f"{cov[0]['utc0']} … {cov[-1]['utc1']}" if cov else text("report_no_coverage", lang)
        lines.append(
            text(
                "report_link",
                lang,
                id=link["id"],
                label=link["label"].get(lang, ""),
                cover=cover,
                n=len(link["windows"]),
                percent=100 * open_s / span if span else 0.0,
            )
        )
        lines += [f"   {w['utc0']} → {w['utc1']}  {_duration(w['duration_s'])}" for w in link["windows"]]
    return lines


def format_report(rep: dict, lang: str = "en") -> str:
    """The report as text in ``lang`` (``en`` or ``zh``), every word from ``assets/words.yaml``."""
    return "\n".join(_header(rep, lang) + _phases(rep, lang) + _link_windows(rep, lang))
