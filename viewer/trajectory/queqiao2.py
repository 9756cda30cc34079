"""Queqiao-2 from launch to July: the 24 h relay orbit (200 x 16,000 km, i 62.4 deg), phased for the CE-6 windows.

1. Launch (Long March 8, Wenchang) and transfer: the same machinery as Chang'e-6 (outbound.py): a powered ascent,
   the upper stage's finite TLI solved backwards from the sourced 200 km perigee injection, and a ballistic transfer
   to a 200 km periselene at the sourced LOI time, with the periselene at an assumed latitude in the Moon-orbit frame.
2. LOI: the sourced start (16:46Z) and duration (19 min); the thrust level is solved for the capture orbit.
3. Plane change at the first aposelene, about the apse line, to the mission inclination (to the Moon's orbit plane,
   the plane the Earth perturbation acts in).
4. Phase for the relay windows: a grid over the mean anomaly at the descent start (two-body over the windows) gives
   the phase with the largest margin (relay above the site's horizon and above the mask at one Earth station
   through the descent and the ascent); a phasing burn and a second burn on 2 April put it there.
5. Mission orbit to July with paired station keeping (see queqiao2.yaml station_keeping) and a pair on the
   revolution before each window, so those revolutions are 200 x 16,000 km, 24 h.
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer.trajectory import engine, forces
from viewer.trajectory.engine import TargetingError

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


def _next_apsis_radius(state, t, period, which):
    """Radius of the next periselene (which -1) or aposelene (+1) after (t, state), force model."""
    arc = engine.propagate(state, t, t + 0.75 * period, center="MOON", rtol=1e-8)
    return np.linalg.norm(arc.state_at(_apsis(arc, t + 0.05 * period, arc.end_et, which))[:3])


def _apsis_burn(ctx, st, t, target, which, mu, period, name):
    """Tangential Δv at an apsis (t, st) that puts the next opposite apsis at radius ``target`` (Newton with the
    two-body slope: r_other = r q / (2 - q), q = r v^2 / mu). Returns the new state and records the burn."""
    t_hat = st[3:] / np.linalg.norm(st[3:])
    r, v = np.linalg.norm(st[:3]), np.linalg.norm(st[3:])
    q = r * v**2 / mu
    slope = r * 4.0 * r * v / mu / (2.0 - q) ** 2 / 10.0

    def miss(x):
        return (_next_apsis_radius(engine.impulse(st, x * t_hat), t, period, which) - target) / 10.0

    x = 0.0
    for _ in range(8):
        f = miss(x)
        if abs(f) < 5e-3:  # 50 m
            break
        x -= f / slope
    else:
        raise TargetingError("Queqiao-2 station keeping did not converge; check station_keeping.* in "
                             "assets/trajectory/queqiao2.yaml")
    grade = ctx.entry(SEC, "station_keeping.interval_days")
    ctx.add_manoeuvre(engine.Manoeuvre(name, "QUEQIAO_2", t, 0.0, tuple(float(c) for c in x * t_hat),
                                       "Queqiao-2 thrusters", grade["grade"], grade["reason"]))
    return engine.impulse(st, x * t_hat)


def _kept(ctx, s0, t0, t1, burn_times, rp, ra, mu, period):
    """Integrate from t0 to t1. Before each of ``burn_times``: a tangential burn at a periselene restores the next
    aposelene to ``ra``, then one at that aposelene restores the next periselene to ``rp`` (force model), so the
    revolution after it has the chosen size and period. Returns the arcs in time order."""
    arcs, s, t = [], np.asarray(s0, dtype=float), t0
    for k, entry in enumerate(list(burn_times) + [None]):
        if entry is None:
            arcs.append(engine.propagate(s, t, t1, center="MOON", label=f"Q2 mission orbit {k}"))
            break
        kind, tb = entry
        arc = engine.propagate(s, t, tb, center="MOON", label=f"Q2 mission orbit {k}")
        if kind == "window":  # the pair goes on the revolution before the one holding the window
            tp_w = _apsis(arc, tb - 1.05 * period, tb, -1)
            ta = _apsis(arc, tp_w - 0.75 * period, tp_w - 0.25 * period, +1)
        else:
            ta = _apsis(arc, tb - 0.9 * period, tb, +1)
        tp = _apsis(arc, max(t + 60.0, ta - 0.75 * period), ta - 0.25 * period, -1)
        arcs.append(arc.sub(t, tp))
        s_p = _apsis_burn(ctx, arc.state_at(tp), tp, ra, +1, mu, period, f"Q2 station keeping {k}a")
        arc2 = engine.propagate(s_p, tp, tp + 0.75 * period, center="MOON", label=f"Q2 mission orbit {k}b")
        ta2 = _apsis(arc2, tp + 0.25 * period, arc2.end_et, +1)
        arcs.append(arc2.sub(tp, ta2))
        s = _apsis_burn(ctx, arc2.state_at(ta2), ta2, rp, -1, mu, period, f"Q2 station keeping {k}p")
        t = ta2
    return arcs


def orbit_plane_frame(et):
    """Rotation J2000 -> axes with z along the Moon's orbital angular momentum about Earth (frozen at ``et``)."""
    st = np.asarray(spiceypy.spkezr("MOON", float(et), "J2000", "NONE", "EARTH")[0])
    z = np.cross(st[:3], st[3:])
    z /= np.linalg.norm(z)
    x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    return np.vstack([x, np.cross(z, x), z])


def _periselene_near(arc, t, period):
    return _apsis(arc, max(arc.start_et, t - 0.6 * period), min(arc.end_et, t + 0.6 * period), -1)


def build_phase(ctx) -> None:
    from scipy.optimize import brentq

    from viewer.trajectory import outbound

    mu = forces.gm("MOON")
    t_ep = ctx.et(SEC, "mission_orbit.epoch_utc")
    rp = 1737.4 + float(ctx.value(SEC, "mission_orbit.periselene_alt_km"))
    ra = 1737.4 + float(ctx.value(SEC, "mission_orbit.aposelene_alt_km"))
    inc = math.radians(float(ctx.value(SEC, "mission_orbit.inclination_deg")))
    period = 2 * math.pi * math.sqrt((0.5 * (rp + ra)) ** 3 / mu)
    ets = window_ets(ctx)
    geom = Geometry(ctx, ets)
    site_mask = float(ctx.value(SEC, "windows.site_mask_deg"))
    mask = float(ctx.value(SEC, "windows.mask_deg"))
    Q2 = ["QUEQIAO_2"]

    # 1. launch and transfer: periselene (rp) at the LOI time, at the assumed latitude in the Moon-orbit frame
    #    (the highest the approach allows), so that after a plane change about the apse line to i 62.4 deg the
    #    aposelene lies far south
    geo = outbound.LaunchGeometry(ctx, SEC)
    t_loi = ctx.et(SEC, "loi.start_utc")
    t_peri = t_loi + float(ctx.value(SEC, "loi.periselene_offset_s"))
    rp_moon = 1737.4 + float(ctx.value(SEC, "loi.periselene_alt_km"))
    z_orb = orbit_plane_frame(t_peri)[2]
    lat_p = math.radians(float(ctx.value(SEC, "loi.periselene_lat_deg")))
    az, theta, vp = outbound.solve_transfer(
        ctx, geo, t_peri, rp_moon, lambda rel: (rel[:3] @ z_orb / np.linalg.norm(rel[:3]) - math.sin(lat_p)) * 100.0)
    s_inj = geo.injection(az, theta, vp)
    outbound.fly_launch(ctx, geo, s_inj, Q2, "QUEQIAO_2", az, theta)
    cruise = engine.propagate(s_inj, geo.t_sep, t_loi, center="EARTH", label="Q2 cruise")
    ctx.add_arc(Q2, cruise)

    # 2. LOI: sourced start and duration; thrust level solved for the capture aposelene
    s_loi = outbound.rel_moon(cruise.states[-1], t_loi)
    dur = float(ctx.value(SEC, "loi.duration_s"))
    isp, m0 = float(ctx.value(SEC, "loi.isp_s")), float(ctx.value(SEC, "loi.mass_kg"))
    ra_cap = 1737.4 + float(ctx.value(SEC, "loi.aposelene_alt_km"))

    def burn(f_n, rtol=1e-9, label=""):
        thrust = engine.constant_thrust(f_n, m0, isp, t_loi, engine.antivelocity)
        return engine.propagate(s_loi, t_loi, t_loi + dur, center="MOON", thrust=thrust, rtol=rtol, label=label,
                                kind="powered")

    def apo_miss(f_n):
        el = engine.elements(burn(f_n).states[-1], mu)
        return (el["ra"] if el["e"] < 1 else 1e7) - ra_cap

    f_n = brentq(apo_miss, 100.0, 600.0, xtol=1e-3, maxiter=60)
    loi = burn(f_n, rtol=engine.RTOL, label="Q2 LOI burn")
    ctx.add_arc(Q2, loi)
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 LOI", "QUEQIAO_2", t_loi, dur, tuple(float(c) for c in loi.dv_km_s),
                                       f"{ctx.value(SEC, 'loi.engine')} (~{f_n:.0f} N effective)", "derived",
                                       "sourced start and duration (19 min); thrust solved for the assumed capture "
                                       "orbit"))
    ctx.add_event("queqiao2_loi", t_loi, "QUEQIAO_2", f"LOI burn {dur:.0f} s, effective thrust {f_n:.0f} N")

    # 3. plane change at the first aposelene, about the apse line, to the mission inclination
    cap_p = engine.elements(loi.states[-1], mu)["period"]
    cap = engine.propagate(loi.states[-1], loi.end_et, loi.end_et + 0.8 * cap_p, center="MOON")
    t_a1 = _apsis(cap, loi.end_et, cap.end_et, +1)
    ctx.add_arc(Q2, cap.sub(loi.end_et, t_a1, "Q2 capture orbit"))
    s_a = cap.state_at(t_a1)
    p_hat = -s_a[:3] / np.linalg.norm(s_a[:3])
    z = orbit_plane_frame(t_a1)[2]
    e1 = np.cross(z, p_hat)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(p_hat, e1)
    b = math.cos(inc) / (e2 @ z)
    if abs(b) > 1:
        raise TargetingError("Queqiao-2: the periselene latitude exceeds the inclination; check loi.periselene_lat_deg")
    h_old = np.cross(s_a[:3], s_a[3:])
    h_new = max((a * e1 + b * e2 for a in (math.sqrt(1 - b * b), -math.sqrt(1 - b * b))), key=lambda h: h @ h_old)
    r_hat = s_a[:3] / np.linalg.norm(s_a[:3])
    v_r = s_a[3:] @ r_hat
    v_t = np.linalg.norm(s_a[3:] - v_r * r_hat)
    v_new = v_r * r_hat + v_t * np.cross(h_new, r_hat)
    grade = ctx.entry(SEC, "mission_insertion.phasing_revs")
    eng = str(ctx.value(SEC, "mission_insertion.engine"))
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 plane change", "QUEQIAO_2", t_a1, 0.0,
                                       tuple(float(c) for c in v_new - s_a[3:]), eng, "assumed",
                                       "rotate the capture orbit about its apse line to the mission inclination, at "
                                       "aposelene where it is cheapest"))
    s1 = np.concatenate([s_a[:3], v_new])

    # 4. natural phase: where would the periselene fall near the descent? grid the wanted phase for the windows
    t_start = ctx.et(SEC, "mission_orbit.start_utc")
    nat = engine.propagate(s1, t_a1, t_ep + 0.6 * period, center="MOON", rtol=1e-8)
    t_nat = _periselene_near(nat, t_ep - 0.5 * period, period)
    s_nat = nat.state_at(t_nat)

    def margin(tp0):
        sat = np.array([spiceypy.prop2b(mu, s_nat, float(t - tp0))[:3] for t in ets])
        site_el, st_el = geom.elevations(sat)
        return min((site_el - site_mask).min(), (st_el - mask).min())

    p0, p1, ps = ctx.value(SEC, "mission_orbit.phase_grid_deg")
    cands = [(margin(t_ep - m / 360.0 * period), m) for m in np.arange(p0, p1, ps)]
    best_margin, m_best = max(cands)
    if best_margin <= 0:
        raise TargetingError("no Queqiao-2 phase sees the site and a station in both windows; check "
                             "assets/trajectory/queqiao2.yaml (windows, stations, orbit)")
    shift = (t_ep - m_best / 360.0 * period) - t_nat
    shift = (shift + 0.5 * period) % period - 0.5 * period

    # 5. phasing: from the first periselene after the plane change to the last one before start_utc, run on a
    #    period longer/shorter by shift / N, then restore (tangential burns at periselene)
    ph = engine.propagate(s1, t_a1, t_a1 + 0.7 * period, center="MOON")
    t_p1 = _apsis(ph, t_a1, ph.end_et, -1)
    ctx.add_arc(Q2, ph.sub(t_a1, t_p1, "Q2 orbit after plane change"))
    s_p1 = ph.state_at(t_p1)
    n_rev = max(1, int((t_start - t_p1) // period))
    p_new = period + shift / n_rev
    a_new = (mu * (p_new / (2 * math.pi)) ** 2) ** (1.0 / 3.0)
    r1 = np.linalg.norm(s_p1[:3])
    v_need = math.sqrt(mu * (2.0 / r1 - 1.0 / a_new))
    t_hat = s_p1[3:] / np.linalg.norm(s_p1[3:])
    dv1 = (v_need - np.linalg.norm(s_p1[3:])) * t_hat
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 phasing", "QUEQIAO_2", t_p1, 0.0, tuple(float(c) for c in dv1), eng,
                                       grade["grade"], grade["reason"]))
    s2 = engine.impulse(s_p1, dv1)
    t_guess = t_p1 + n_rev * p_new
    pa = engine.propagate(s2, t_p1, t_guess + 0.3 * period, center="MOON", label="Q2 phasing orbit")
    t_pn = _periselene_near(pa, t_guess, period)
    ctx.add_arc(Q2, pa.sub(t_p1, t_pn))
    s_pn = pa.state_at(t_pn)
    r_n = np.linalg.norm(s_pn[:3])
    v_back = math.sqrt(mu * (2.0 / r_n - 2.0 / (rp + ra) * 0 - 1.0 / (0.5 * (r_n + ra))))
    t_hat = s_pn[3:] / np.linalg.norm(s_pn[3:])
    dv2 = (v_back - np.linalg.norm(s_pn[3:])) * t_hat
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 mission orbit insertion", "QUEQIAO_2", t_pn, 0.0,
                                       tuple(float(c) for c in dv2), eng, grade["grade"], grade["reason"]))
    s_m = engine.impulse(s_pn, dv2)
    ctx.add_event("queqiao2_mission_orbit", t_pn, "QUEQIAO_2", "24 h frozen mission orbit (200 x 16,000 km)")

    # 6. mission orbit with station keeping: before the descent and ascent revolutions, and every interval
    t_end = ctx.et(SEC, "mission_orbit.end_utc")
    step = float(ctx.value(SEC, "station_keeping.interval_days")) * 86400.0
    t_asc = ctx.et(SEC, "windows.ascent_start_utc")
    t_ds = ctx.et(SEC, "windows.descent_start_utc")
    must = [t_ds, t_asc]
    regular = list(np.arange(t_pn + step, t_end - 1.5 * 86400.0, step))
    times = sorted([("window", t) for t in must] +
                   [("regular", t) for t in regular if all(not -2.5 * 86400.0 < t - m < 1.0 * 86400.0 for m in must)],
                   key=lambda e: e[1])
    for arc in _kept(ctx, s_m, t_pn, t_end, times, rp, ra, mu, period):
        ctx.add_arc(Q2, arc)

    sat = np.array([ctx.arc_at("QUEQIAO_2", t).state_at(t)[:3] for t in ets])
    site_el, st_el = geom.elevations(sat)
    if min((site_el - site_mask).min(), (st_el - mask).min()) <= 0:
        raise TargetingError("Queqiao-2 misses a relay window after phasing; check assets/trajectory/queqiao2.yaml")
    ctx.queqiao2_info = {"phase_deg": float(m_best), "grid_margin_deg": best_margin, "shift_s": shift,
                         "min_site_el_deg": float(site_el.min()), "min_station_el_deg": float(st_el.min())}
