"""Write the build's outputs: the names/frames kernel, one SPK per vehicle, and the manifest JSON.

``ctx`` everywhere is the build's :class:`viewer.trajectory.build.BuildContext` (its arcs, manoeuvres, events,
input hashes and site); this module reads it and never imports the build, which calls :func:`write_all`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import spiceypy

from viewer import kernels, paths
from viewer.constants import CHANGE6_TOPO, CHANGE6_TOPO_ID, VEHICLES
from viewer.epochs import utc_from_et
from viewer.trajectory import spk

MANIFEST = "change6_manoeuvres.json"
NAMES_KERNEL = "change6_names.tf"
SPK_FILES = {
    "CHANGE6_ORBITER": "change6_orbiter.bsp",
    "CHANGE6_RETURNER": "change6_returner.bsp",
    "CHANGE6_LANDER": "change6_lander.bsp",
    "CHANGE6_ASCENDER": "change6_ascender.bsp",
    "QUEQIAO_2": "change6_queqiao2.bsp",
    "CHANGE6_SITE": "change6_site.bsp",
}
MIN_STATES = (spk.DEGREE + 1) // 2


def topo_matrix(site_me: np.ndarray) -> np.ndarray:
    """Rotation from CHANGE6_TOPO (x east, y north, z up) to the Moon-fixed frame: columns e, n, u."""
    x, y, z = site_me
    lon = math.atan2(y, x)
    lat = math.atan2(z, math.hypot(x, y))
    e = np.array([-math.sin(lon), math.cos(lon), 0.0])
    n = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
    u = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    return np.column_stack([e, n, u])


def _coverage_end(ctx, vehicle: str) -> str:
    """UTC (to the minute) of the end of ``vehicle``'s last arc."""
    return utc_from_et(ctx.arcs[vehicle][-1].end_et, 0)[:16].replace("T", " ") + " UTC"


def names_kernel_text(ctx, code_version: str) -> str:
    moon_frame = kernels.moon_frame()
    site = ctx.site_me_km
    m = topo_matrix(site)
    lat = ctx.entry("outbound", "site.lat_deg")
    lon = ctx.entry("outbound", "site.lon_deg")
    names = list(VEHICLES)
    codes = [VEHICLES[n] for n in names]
    mat = "\n".join(f"         {m[0, j]: .17f} {m[1, j]: .17f} {m[2, j]: .17f}" for j in range(3))
    return f"""KPL/FK

Chang'e-6 viewer: names of the reconstructed vehicles, the landing site and its topocentric frame
===================================================================================================

   Written by `python -m viewer kernels build` ({code_version}).
   No NAIF IDs were published for these spacecraft. The IDs are the project's own (viewer/constants.py):
   negative, in the -3,060,0xx block, which no NAIF spacecraft or instrument ID can reach.

   Bodies
   ------
      CHANGE6_ORBITER   {VEHICLES['CHANGE6_ORBITER']}   orbiter (launch .. after the Earth-return avoidance burn)
      CHANGE6_RETURNER  {VEHICLES['CHANGE6_RETURNER']}   re-entry capsule (launch .. {_coverage_end(ctx, 'CHANGE6_RETURNER')}, at rest after touchdown)
      CHANGE6_LANDER    {VEHICLES['CHANGE6_LANDER']}   lander (launch .. stays at the site)
      CHANGE6_ASCENDER  {VEHICLES['CHANGE6_ASCENDER']}   ascender (launch .. lunar impact)
      QUEQIAO_2         {VEHICLES['QUEQIAO_2']}   relay satellite (launch 2024-03-20 ..)
      CHANGE6_SITE      {VEHICLES['CHANGE6_SITE']}   landing site, a fixed point on the Moon (SPK change6_site.bsp)

   Landing site: {lat['value']} deg latitude, {lon['value']} deg east longitude in {moon_frame}
   ({lat['grade']}: {lat['reason']}), radius {float(np.linalg.norm(site)):.3f} km.

   Frame CHANGE6_TOPO (ID {CHANGE6_TOPO_ID}): topocentric frame at CHANGE6_SITE, fixed in {moon_frame}.
      +X  local east  (direction of increasing longitude, tangent to the reference sphere)
      +Y  local north (towards the Moon's north pole, tangent to the sphere)
      +Z  local up    (radial, away from the Moon's centre)
   The matrix below rotates vectors from CHANGE6_TOPO to {moon_frame}; its columns are the east, north and up
   unit vectors expressed in {moon_frame} (listed column by column, as SPICE reads TKFRAME matrices).

\\begindata

   NAIF_BODY_NAME += ( {' '.join(repr(n) for n in names)} )
   NAIF_BODY_CODE += ( {' '.join(str(c) for c in codes)} )

   FRAME_{CHANGE6_TOPO}            = {CHANGE6_TOPO_ID}
   FRAME_{CHANGE6_TOPO_ID}_NAME     = '{CHANGE6_TOPO}'
   FRAME_{CHANGE6_TOPO_ID}_CLASS    = 4
   FRAME_{CHANGE6_TOPO_ID}_CLASS_ID = {CHANGE6_TOPO_ID}
   FRAME_{CHANGE6_TOPO_ID}_CENTER   = {VEHICLES['CHANGE6_SITE']}

   TKFRAME_{CHANGE6_TOPO_ID}_RELATIVE = '{moon_frame}'
   TKFRAME_{CHANGE6_TOPO_ID}_SPEC     = 'MATRIX'
   TKFRAME_{CHANGE6_TOPO_ID}_MATRIX   = (
{mat} )

\\begintext
"""


def _segments(ctx, vehicle: str) -> list[spk.Segment]:
    out = []
    body = VEHICLES[vehicle]
    for k, arc in enumerate(ctx.arcs.get(vehicle, [])):
        ets, sts = arc.ets, arc.states
        if len(ets) < MIN_STATES:
            ets = np.linspace(arc.start_et, arc.end_et, MIN_STATES)
            sts = np.array([arc.state_at(t) for t in ets])
            sts[0], sts[-1] = arc.states[0], arc.states[-1]
        out.append(spk.Segment(body, spiceypy.bods2c(arc.center), arc.frame, ets, sts,
                               f"{vehicle.replace('CHANGE6_', 'CE6 ')} {k:02d} {arc.label}"[:40]))
    return out


def _site_segment(ctx) -> spk.Segment:
    starts = [a[0].start_et for a in ctx.arcs.values() if a]
    ends = [a[-1].end_et for a in ctx.arcs.values() if a]
    t0, t1 = min(starts) - 86400.0, max(ends) + 86400.0
    ets = np.linspace(t0, t1, MIN_STATES)
    sts = np.tile(np.concatenate([ctx.site_me_km, np.zeros(3)]), (len(ets), 1))
    return spk.Segment(VEHICLES["CHANGE6_SITE"], 301, kernels.moon_frame(), ets, sts, "CE6 landing site (LROC)")


def platform_fingerprint() -> dict:
    """What the build's floating point depends on beyond its inputs: the CPU's SIMD features that numpy uses and the
    numerical libraries' versions. The same fingerprint and inputs give bit-identical states; another CPU (e.g.
    with or without AVX-512) moves burn times by seconds through the targeting solvers."""
    import platform

    import numpy
    import scipy

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return {"machine": platform.machine(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "spiceypy": spiceypy.__version__, "cpu_features": sorted(k for k, v in features.items() if v)}


def manifest(ctx, code_version: str) -> dict:
    arcs = []
    seen = {}
    for vehicle, lst in ctx.arcs.items():
        for arc in lst:
            seen.setdefault(id(arc), {"label": arc.label, "kind": arc.kind, "center": arc.center, "frame": arc.frame,
                                      "start_et": arc.start_et, "end_et": arc.end_et,
                                      "start_utc": utc_from_et(arc.start_et, 3), "end_utc": utc_from_et(arc.end_et, 3),
                                      "vehicles": []})["vehicles"].append(vehicle)
    arcs = sorted(seen.values(), key=lambda a: (a["start_et"], a["vehicles"][0]))
    mans = sorted(ctx.manoeuvres, key=lambda m: (m.et, m.vehicle, m.name))
    return {
        "code_version": code_version,
        "inputs": ctx.hashes,
        "platform": platform_fingerprint(),
        "manoeuvres": [{"name": m.name, "vehicle": m.vehicle, "et": m.et, "utc": utc_from_et(m.et, 1),
                        "duration_s": m.duration_s, "dv_km_s": [float(c) for c in m.dv_km_s],
                        "dv_m_s": round(m.dv_m_s, 4), "engine": m.engine, "grade": m.grade, "reason": m.reason}
                       for m in mans],
        "arcs": arcs,
        "events": sorted(ctx.events, key=lambda e: e["et"]),
        "files": {v: f for v, f in SPK_FILES.items()},
    }


def write_all(ctx, out_dir: Path, code_version: str) -> list[str]:
    """Write the kernel set into a temporary copy of ``out_dir`` and swap it in with one rename
    (:func:`viewer.paths.replace_dir`): an interrupted build leaves the old set whole, never a mix."""
    out_dir = Path(out_dir)
    written: list[str] = []
    tmp = paths.replace_dir(out_dir, lambda d: written.extend(_write_set(ctx, d, code_version)))
    _reload_from(tmp, out_dir)
    return written


def _reload_from(tmp: Path, out_dir: Path) -> None:
    """Every kernel the build loaded from the temporary folder, loaded again from its final place (same order), so
    that the pool names the files that exist and a later ``unload`` by the final path removes them."""
    loaded = [spiceypy.kdata(i, "ALL")[0] for i in range(spiceypy.ktotal("ALL"))]
    moved = [f for f in loaded if Path(f).parent == tmp]
    for f in moved:
        spiceypy.unload(f)
    for f in moved:
        spiceypy.furnsh(str(out_dir / Path(f).name))


def _write_set(ctx, out_dir: Path, code_version: str) -> list[str]:
    written = []
    text = names_kernel_text(ctx, code_version)
    paths.atomic_write_text(out_dir / NAMES_KERNEL, text)
    written.append(NAMES_KERNEL)
    # names must resolve for spkw13's center/body checks and for readers of this build
    spiceypy.furnsh(str(out_dir / NAMES_KERNEL))
    comments = ["Chang'e-6 viewer reconstructed trajectory (no public ephemeris exists; this is a model).",
                f"Code: {code_version}",
                "Inputs (sha256 of assets/trajectory/*.yaml):"]
    comments += [f"  {name} {digest}" for name, digest in sorted(ctx.hashes.items())]
    comments += ["Force model: point masses Earth, Moon, Sun (DE440) + J2 Earth (EGM2008) + J2 Moon (GL0660B);",
                 "DOP853 rtol 1e-12; SPK type 13, one segment per arc, samples at the integrator steps."]
    for vehicle, fname in SPK_FILES.items():
        if vehicle == "CHANGE6_SITE":
            segs = [_site_segment(ctx)] if ctx.arcs else []
            extra = ["CHANGE6_SITE: fixed point at the LROC landing site, constant in the Moon-fixed frame."]
        else:
            segs = _segments(ctx, vehicle)
            extra = [f"{vehicle}: {len(segs)} arcs."]
        if not segs:
            continue
        spk.write_spk(out_dir / fname, segs, comments + extra)
        written.append(fname)
    paths.atomic_write_text(out_dir / MANIFEST, json.dumps(manifest(ctx, code_version), indent=1, sort_keys=False))
    written.append(MANIFEST)
    written.append(kernels.write_checksums(out_dir).name)
    return written
