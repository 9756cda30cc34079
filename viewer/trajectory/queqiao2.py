"""Queqiao-2: the 24 h frozen relay orbit (200 x 16,000 km, i 62.4 deg, aposelene south), phased for the windows.

The orbit elements (to the lunar equator) are set at the descent epoch; the node and mean anomaly are searched on
a grid (two-body propagation over the two windows, cheap) for the largest margin of: relay above the site's
horizon and above the mask at one of the Earth stations, through the descent and the ascent. The chosen orbit is
then integrated with the force model backwards to 2 April and forwards to 1 July.
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer.trajectory import engine, forces
from viewer.trajectory.engine import TargetingError
from viewer.trajectory.outbound import moon_eq

SEC = "queqiao2"


def _station_states(ctx, ets):
    """Earth stations (J2000, relative to the Moon) at ``ets``: dict name -> (N, 3) positions and up vectors."""
    radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
    flat = (radii[0] - radii[2]) / radii[0]
    frame = forces.pole_frame("EARTH")
    earth = np.asarray(spiceypy.spkpos("EARTH", ets, "J2000", "NONE", "MOON")[0])
    out = {}
    for name in ("kashi", "jiamusi", "neuquen"):
        lat, lon = ctx.value(SEC, f"stations.{name}")
        p = spiceypy.georec(math.radians(lon), math.radians(lat), 1.0, radii[0], flat)
        up = spiceypy.surfnm(radii[0], radii[1], radii[2], spiceypy.georec(math.radians(lon), math.radians(lat),
                                                                             0.0, radii[0], flat))
        rot = [np.asarray(spiceypy.pxform(frame, "J2000", float(t))) for t in ets]
        out[name] = (earth + np.array([m @ p for m in rot]), np.array([m @ up for m in rot]))
    return out


def elevations(ctx, ets, sat):
    """(site elevation, best station elevation) in degrees, for Moon-centred J2000 positions ``sat``."""
    frame = forces.pole_frame("MOON")
    site = ctx.site_me_km
    up_me = site / np.linalg.norm(site)
    site_el = []
    for t, p in zip(ets, sat):
        m = np.asarray(spiceypy.pxform(frame, "J2000", float(t)))
        d = p - m @ site
        site_el.append(math.degrees(math.asin((m @ up_me) @ d / np.linalg.norm(d))))
    best = np.full(len(ets), -90.0)
    for pos, up in _station_states(ctx, ets).values():
        d = sat - pos
        el = np.degrees(np.arcsin(np.einsum("ij,ij->i", d, up) / np.linalg.norm(d, axis=1)))
        best = np.maximum(best, el)
    return np.array(site_el), best


def window_ets(ctx):
    ets = []
    for key in ("descent", "ascent"):
        a, b = (ctx.et(SEC, "windows." + key) if False else None, None)
        t0, t1 = (spiceypy.str2et(s.rstrip("Z")) for s in ctx.value(SEC, f"windows.{key}"))
        ets.append(np.linspace(t0, t1, 8))
    return np.concatenate(ets)


def _kept(ctx, s0, t0, t1, days, rp, mu):
    """Integrate from t0 towards t1 (either way) with a station-keeping burn at the aposelene after every
    ``days``, which restores the periselene radius (two-body speed at aposelene); arcs in time order each."""
    from scipy.optimize import minimize_scalar

    sign = 1.0 if t1 > t0 else -1.0
    arcs, s, t = [], np.asarray(s0, dtype=float), t0
    k = 0
    while sign * (t1 - t) > 0:
        t_next = t + sign * days * 86400.0
        if sign * (t1 - t_next) < 2 * 86400.0:
            t_next = t1
        arc = engine.propagate(s, t, t_next, center="MOON", label=f"mission orbit {'+' if sign > 0 else '-'}{k}")
        if t_next == t1:
            arcs.append(arc)
            break
        # last aposelene before t_next (in the direction of integration)
        lo, hi = sorted((t_next - sign * 86400.0 * 1.05, t_next))
        j = np.where((arc.ets >= lo) & (arc.ets <= hi))[0]
        jm = j[np.argmax(np.linalg.norm(arc.states[j, :3], axis=1))]
        ta = minimize_scalar(lambda x: -np.linalg.norm(arc.state_at(x)[:3]),
                             bounds=(arc.ets[max(jm - 1, 0)], arc.ets[min(jm + 1, len(arc.ets) - 1)]),
                             method="bounded", options={"xatol": 1e-3}).x
        ta = float(round(ta, 3))
        cut = arc.sub(min(t, ta), max(t, ta))
        arcs.append(cut)
        st = arc.state_at(ta)
        r = np.linalg.norm(st[:3])
        v_req = math.sqrt(2 * mu * rp / (r * (r + rp)))
        v = st[3:]
        v_tan = v - (v @ st[:3]) / r**2 * st[:3]
        new_v = v_tan / np.linalg.norm(v_tan) * v_req + (v @ st[:3]) / r**2 * st[:3]
        dv = (new_v - v) * sign  # forward-time Δv (after minus before)
        s = np.concatenate([st[:3], new_v])
        grade = ctx.entry(SEC, "station_keeping.interval_days")
        ctx.add_manoeuvre(engine.Manoeuvre(f"Q2 station keeping {'+' if sign > 0 else '-'}{k}", "QUEQIAO_2", ta,
                                           0.0, tuple(float(c) for c in dv), "Queqiao-2 thrusters",
                                           grade["grade"], grade["reason"]))
        t = ta
        k += 1
    return arcs if sign > 0 else arcs[::-1]


def orbit_plane_frame(et):
    """Rotation J2000 -> axes with z along the Moon's orbital angular momentum about Earth (frozen at ``et``)."""
    st = np.asarray(spiceypy.spkezr("MOON", float(et), "J2000", "NONE", "EARTH")[0])
    z = np.cross(st[:3], st[3:])
    z /= np.linalg.norm(z)
    x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    return np.vstack([x, np.cross(z, x), z])


def build_phase(ctx) -> None:
    mu = forces.gm("MOON")
    t_ep = ctx.et(SEC, "mission_orbit.epoch_utc")
    rp = 1737.4 + float(ctx.value(SEC, "mission_orbit.periselene_alt_km"))
    ra = 1737.4 + float(ctx.value(SEC, "mission_orbit.aposelene_alt_km"))
    e = (ra - rp) / (ra + rp)
    inc = math.radians(float(ctx.value(SEC, "mission_orbit.inclination_deg")))
    argp = math.radians(float(ctx.value(SEC, "mission_orbit.argp_deg")))
    m_eq = orbit_plane_frame(t_ep) if ctx.value(SEC, "mission_orbit.reference_plane") == "moon_orbit" \
        else moon_eq(t_ep)
    ets = window_ets(ctx)
    site_mask = float(ctx.value(SEC, "windows.site_mask_deg"))
    mask = float(ctx.value(SEC, "windows.mask_deg"))

    def state0(raan, m0):
        s = engine.state_from_elements(rp, e, inc, raan, argp, m0, mu, t_ep)
        return np.concatenate([m_eq.T @ s[:3], m_eq.T @ s[3:]])

    def margin(s0):
        sat = np.array([spiceypy.prop2b(mu, s0, float(t - t_ep))[:3] for t in ets])
        site_el, st_el = elevations(ctx, ets, sat)
        return min((site_el - site_mask).min(), (st_el - mask).min())

    g0, g1, gs = ctx.value(SEC, "mission_orbit.raan_grid_deg")
    p0, p1, ps = ctx.value(SEC, "mission_orbit.phase_grid_deg")
    best = None
    for raan in np.arange(g0, g1, gs):
        for m0 in np.arange(p0, p1, ps):
            s0 = state0(math.radians(raan), math.radians(m0))
            mg = margin(s0)
            if best is None or mg > best[0]:
                best = (mg, raan, m0, s0)
    if best[0] <= 0:
        raise TargetingError("no Queqiao-2 node/phase on the grid sees the site and a station in both windows; "
                             "widen the grids in assets/trajectory/queqiao2.yaml")
    s0 = best[3]
    t_start = ctx.et(SEC, "mission_orbit.start_utc")
    t_end = ctx.et(SEC, "mission_orbit.end_utc")
    keep_days = float(ctx.value(SEC, "station_keeping.interval_days"))
    back_arcs = _kept(ctx, s0, t_ep, t_start, keep_days, rp, mu)
    fwd_arcs = _kept(ctx, s0, t_ep, t_end, keep_days, rp, mu)
    for arc in back_arcs + fwd_arcs:
        ctx.add_arc(["QUEQIAO_2"], arc)
    back, fwd = back_arcs[-1], fwd_arcs[0]
    site_el, st_el = elevations(ctx, ets, np.array([fwd.state_at(t)[:3] if t >= t_ep else back.state_at(t)[:3]
                                                     for t in ets]))
    ctx.queqiao2_info = {"raan_deg": best[1], "m0_deg": best[2], "grid_margin_deg": best[0],
                         "min_site_el_deg": float(site_el.min()), "min_station_el_deg": float(st_el.min())}
    ctx.add_event("queqiao2_mission_orbit", t_start, "QUEQIAO_2", "24 h frozen mission orbit (200 x 16,000 km)")
