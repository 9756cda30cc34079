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


class Geometry:
    """Site and station positions/up vectors (Moon-centred J2000) at fixed epochs, for fast elevation checks."""

    def __init__(self, ctx, ets):
        frame = forces.pole_frame("MOON")
        site = ctx.site_me_km
        rot = [np.asarray(spiceypy.pxform(frame, "J2000", float(t))) for t in ets]
        self.site = np.array([m @ site for m in rot])
        self.site_up = self.site / np.linalg.norm(self.site, axis=1)[:, None]
        self.stations = list(_station_states(ctx, ets).values())

    def elevations(self, sat):
        """(site elevation, best station elevation) in degrees for Moon-centred J2000 positions ``sat``."""
        d = sat - self.site
        site_el = np.degrees(np.arcsin(np.einsum("ij,ij->i", d, self.site_up) / np.linalg.norm(d, axis=1)))
        best = np.full(len(sat), -90.0)
        for pos, up in self.stations:
            d = sat - pos
            best = np.maximum(best, np.degrees(np.arcsin(np.einsum("ij,ij->i", d, up) / np.linalg.norm(d, axis=1))))
        return site_el, best


def window_ets(ctx):
    ets = []
    for key in ("descent", "ascent"):
        t0, t1 = ctx.et(SEC, f"windows.{key}_start_utc"), ctx.et(SEC, f"windows.{key}_end_utc")
        ets.append(np.linspace(t0, t1, 8))
    return np.concatenate(ets)


def _apsis(arc, lo, hi, sign):
    """Time of the radius extremum (sign -1: minimum, +1: maximum) of ``arc`` within [lo, hi]."""
    from scipy.optimize import minimize_scalar

    j = np.where((arc.ets >= lo) & (arc.ets <= hi))[0]
    if len(j) == 0:
        raise TargetingError("Queqiao-2 station keeping: no samples to find an apsis")
    r = np.linalg.norm(arc.states[j, :3], axis=1)
    k = j[np.argmax(sign * r)]
    a, b = arc.ets[max(k - 1, 0)], arc.ets[min(k + 1, len(arc.ets) - 1)]
    t = minimize_scalar(lambda x: -sign * np.linalg.norm(arc.state_at(x)[:3]), bounds=(a, b), method="bounded",
                        options={"xatol": 1e-3}).x
    return float(round(t, 3))


def _next_periselene_radius(state, t, sign, period):
    arc = engine.propagate(state, t, t + sign * 0.75 * period, center="MOON", rtol=1e-9, max_step_s=None)
    lo, hi = sorted((t, t + sign * 0.75 * period))
    return np.linalg.norm(arc.state_at(_apsis(arc, lo, hi, -1))[:3])


def _kept(ctx, s0, t0, t1, burn_times, rp, mu, period):
    """Integrate from t0 towards t1 (either way). At the aposelene before each of ``burn_times`` (in the direction
    of integration) a tangential burn makes the periselene on the far side of it exactly ``rp`` (force model).
    Returns the arcs in time order."""
    sign = 1.0 if t1 > t0 else -1.0
    arcs, s, t = [], np.asarray(s0, dtype=float), t0
    grade = ctx.entry(SEC, "station_keeping.interval_days")
    for k, tb in enumerate(list(burn_times) + [None]):
        t_next = t1 if tb is None else tb
        arc = engine.propagate(s, t, t_next, center="MOON", label=f"mission orbit {'+' if sign > 0 else '-'}{k}")
        if tb is None:
            arcs.append(arc)
            break
        lo, hi = sorted((t_next, t_next - sign * 0.9 * period))
        ta = _apsis(arc, lo, hi, +1)
        arcs.append(arc.sub(min(t, ta), max(t, ta)))
        st = arc.state_at(ta)
        t_hat = st[3:] / np.linalg.norm(st[3:])

        def miss(x):
            # forward: after = st + x t_hat, next periselene ahead; backward: before = st - x t_hat, periselene behind
            probe = engine.impulse(st, sign * x * t_hat)
            return (_next_periselene_radius(probe, ta, sign, period) - rp) / 10.0

        # Newton with the two-body slope d(rp)/d(v) at aposelene: rp = r q / (2 - q), q = r v^2 / mu
        r_a, v_a = np.linalg.norm(st[:3]), np.linalg.norm(st[3:])
        q = r_a * v_a**2 / mu
        slope = sign * r_a * 4.0 * r_a * v_a / mu / (2.0 - q) ** 2 / 10.0  # d(miss)/dx
        x1 = 0.0
        for _ in range(8):
            f1 = miss(x1)
            if abs(f1) < 1e-3:  # 10 m
                break
            x1 -= f1 / slope
        else:
            raise TargetingError("Queqiao-2 station keeping did not converge; check station_keeping.* in "
                                 "assets/trajectory/queqiao2.yaml")
        dv = x1 * t_hat  # forward-time Δv (after minus before) in both directions
        s = engine.impulse(st, sign * x1 * t_hat)
        ctx.add_manoeuvre(engine.Manoeuvre(f"Q2 station keeping {'+' if sign > 0 else '-'}{k}", "QUEQIAO_2", ta,
                                           0.0, tuple(float(c) for c in dv), "Queqiao-2 thrusters",
                                           grade["grade"], grade["reason"]))
        t = ta
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
    geom = Geometry(ctx, ets)
    site_mask = float(ctx.value(SEC, "windows.site_mask_deg"))
    mask = float(ctx.value(SEC, "windows.mask_deg"))

    a_sm = 0.5 * (rp + ra)
    period = 2 * math.pi * math.sqrt(a_sm**3 / mu)

    def state0(raan, m0):
        """Periselene state at t_p0 = t_ep - m0 / n (the descent falls m0 of mean anomaly after periselene)."""
        s = engine.state_from_elements(rp, e, inc, raan, argp, 0.0, mu, 0.0)
        return np.concatenate([m_eq.T @ s[:3], m_eq.T @ s[3:]]), t_ep - m0 / (2 * math.pi) * period

    def margin(s0t):
        s0, tp0 = s0t
        sat = np.array([spiceypy.prop2b(mu, s0, float(t - tp0))[:3] for t in ets])
        site_el, st_el = geom.elevations(sat)
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
    if best is None or best[0] <= 0:
        raise TargetingError("no Queqiao-2 node/phase on the grid sees the site and a station in both windows; "
                             "widen the grids in assets/trajectory/queqiao2.yaml")
    s0, t_p0 = best[3]
    t_p0 = float(round(t_p0, 3))
    t_start = ctx.et(SEC, "mission_orbit.start_utc")
    t_end = ctx.et(SEC, "mission_orbit.end_utc")
    step = float(ctx.value(SEC, "station_keeping.interval_days")) * 86400.0
    t_asc = ctx.et(SEC, "windows.ascent_start_utc")
    # forward: trim on the revolution before the ascent, then every interval; backward: every interval
    fwd_b = [t_asc - 0.5 * period]
    while fwd_b[-1] + step < t_end - 2 * 86400.0:
        fwd_b.append(fwd_b[-1] + step)
    back_b = []
    while (back_b[-1] if back_b else t_p0) - step > t_start + 2 * 86400.0:
        back_b.append((back_b[-1] if back_b else t_p0) - step)
    back_arcs = _kept(ctx, s0, t_p0, t_start, back_b, rp, mu, period)
    fwd_arcs = _kept(ctx, s0, t_p0, t_end, fwd_b, rp, mu, period)
    for arc in back_arcs + fwd_arcs:
        ctx.add_arc(["QUEQIAO_2"], arc)
    sat = []
    for t in ets:
        arc = ctx.arc_at("QUEQIAO_2", t)
        sat.append(arc.state_at(t)[:3])
    site_el, st_el = geom.elevations(np.array(sat))
    ctx.queqiao2_info = {"raan_deg": best[1], "m0_deg": best[2], "grid_margin_deg": best[0],
                         "min_site_el_deg": float(site_el.min()), "min_station_el_deg": float(st_el.min())}
    ctx.add_event("queqiao2_mission_orbit", t_start, "QUEQIAO_2", "24 h frozen mission orbit (200 x 16,000 km)")
