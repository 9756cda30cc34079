"""``python -m viewer links report [--json]``: relay link windows (UTC) and end-to-end relay availability.

The text report lists, in this order: the model and its inputs (terrain horizon, stations and masks); the Earth's
elevation at the site over 1–4 June (always negative); end-to-end relay availability during the powered descent,
the surface operations and the ascent; whether the orbiter and the ascender in flight are seen directly from a
station or only through Queqiao-2; then every link's windows in UTC. ``--json`` prints the same data as JSON.
"""

from __future__ import annotations

import json
import sys

import numpy as np

EARTH_CHECK_UTC = ("2024-06-01T00:00:00Z", "2024-06-05T00:00:00Z")  # "all of 1–4 June"


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["report"], help="`report`: print the link windows and relay availability")
    parser.add_argument("--json", action="store_true", help="print the same data as JSON")
    parser.add_argument(
        "--mask",
        type=float,
        default=None,
        metavar="DEG",
        help="station elevation mask in degrees for every station (default: each station's own, 5°)",
    )
    parser.add_argument(
        "--link",
        action="append",
        default=None,
        metavar="ID",
        help="list only this link's windows (repeatable); the summaries are always printed",
    )


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def build_report(model, mission, link_ids=None) -> dict:
    """Everything the report prints, JSON-serialisable."""
    from viewer import links
    from viewer.epochs import et_from_utc, utc_from_et

    strip = links.timeline_strip(model)
    if link_ids:
        for lid in link_ids:
            model.coverage(lid)  # one-line InputError for an unknown id
        strip["links"] = [l for l in strip["links"] if l["id"] in link_ids]
    phases = model.phase_availability(links.mission_phases(mission))
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


def format_report(rep: dict) -> str:
    lines = [
        f"Relay line of sight ({rep['model']}; grid {rep['step_s']:g} s, edges to {rep['tolerance_s']:g} s)",
        f"  {rep['geometry']}",
    ]
    h = rep["horizon"]
    lines.append(
        f"  terrain horizon at the site from {h['source']}: {min(h['elevations_deg']):.2f}° … "
        f"{max(h['elevations_deg']):.2f}° ({len(h['azimuths_deg'])} azimuths, out to {h['max_range_km']:g} km, "
        f"antenna {h['observer_height_m']:g} m above ground)"
    )
    for s in rep["stations"]:
        lines.append(
            f"  station {s['id']:<8} {s['lat_deg']:9.4f}° {s['lon_east_deg']:10.4f}°E {s['altitude_m']:6.0f} m  "
            f"mask {s['elevation_mask_deg']:g}°  ({s['grade']})"
        )
    e = rep["earth_elevation_at_site"]
    lines += [
        "",
        f"Earth's elevation at the landing site, {e['from_utc']} … {e['to_utc']}: "
        f"{e['min_deg']:.1f}° … {e['max_deg']:.1f}° (touchdown {e['at_touchdown_deg']:.1f}°, "
        f"liftoff {e['at_liftoff_deg']:.1f}°)",
        "  Earth never rises at the site: every link to the ground goes through Queqiao-2."
        if e["max_deg"] < 0
        else "  WARNING: Earth rises above the horizontal plane at the site in this interval.",
    ]
    lines += ["", "End-to-end relay availability (vehicle → Queqiao-2 → any station)"]
    for ph in rep["phases"]:
        verdict = (
            ("inside one window" if ph["inside_one_window"] else "NOT inside one window")
            if ph["covered"]
            else "NOT COVERED by the kernels"
        )
        lines.append(
            f"  {ph['title']:<24} {ph['start_utc']} … {ph['end_utc']}  {ph['link']:<15} "
            f"{100 * ph['fraction']:6.2f} %  {verdict}"
        )
        if not ph["inside_one_window"]:
            for a, b in ph["windows_utc"][:12]:
                lines.append(f"      open {a} … {b}")
    lines += [
        "",
        "In flight after liftoff: seen directly by a station, or only through Queqiao-2"
        + ("" if rep["in_flight"] else ": the kernels do not cover the flight after liftoff"),
    ]
    for f in rep["in_flight"]:
        lines.append(
            f"  {f['vehicle']:<9} {f['start_utc']} … {f['end_utc']}: direct {100 * f['direct_fraction']:5.1f} %, "
            f"only via Queqiao-2 {100 * f['relay_only_fraction']:5.1f} %, neither {100 * f['none_fraction']:5.1f} %"
        )
    lines += ["", "Windows per link (UTC)"]
    for link in rep["links"]:
        cov = link["coverage"]
        span = sum(c["et1"] - c["et0"] for c in cov)
        open_s = sum(w["duration_s"] for w in link["windows"])
        cover = f"{cov[0]['utc0']} … {cov[-1]['utc1']}" if cov else "no coverage"
        lines.append(
            f"== {link['id']}  {link['label'].get('en', '')}  [{cover}; {len(link['windows'])} windows, "
            f"{100 * open_s / span if span else 0:.1f} % open]"
        )
        for w in link["windows"]:
            lines.append(f"   {w['utc0']} → {w['utc1']}  {_duration(w['duration_s'])}")
    return "\n".join(lines)


def run(args) -> int:
    from viewer import links
    from viewer.mission import load_mission

    model = links.default_model(args.mask)
    rep = build_report(model, load_mission(), args.link)
    if args.json:
        json.dump(rep, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_report(rep))
    return 0
