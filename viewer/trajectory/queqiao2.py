"""Queqiao-2 from launch to July: a 24 h frozen elliptical relay orbit (i 62.4 deg to the lunar equator), phased
for the CE-6 windows.

1. Launch (Long March 8, Wenchang) and transfer: the same machinery as Chang'e-6 (outbound.py): a powered ascent,
   the upper stage's finite TLI solved backwards from the sourced 200 km perigee injection, and a ballistic transfer
   to a 200 km periselene, reached ``loi.periselene_offset_s`` after the sourced LOI start (so the braking starts at
   the sourced ~440 km), with the periselene at an assumed latitude in the Moon-orbit frame. An assumed injection
   error is removed by one mid-course correction.
2. LOI: the sourced start (16:46Z) and duration (19 min); the thrust level is solved for the capture orbit.
3. Frozen-orbit insertion in two burns. The frozen elements (queqiao2.yaml ``frozen``: periselene radius, argument
   of periselene and inclination relative to MOON_ME) were found by a search in the full force model (Earth and
   Sun, the Moon's J2 and C22): the inclination stays near 62.4 deg and the periselene over the north from
   2 April to 28 June with no station keeping. The plane is the one of that inclination through the capture
   orbit's first aposelene, so the first burn there turns the plane where it is cheapest and aims the conic whose
   periselene is the frozen one (position solved in the force model); the second burn, at that periselene, sets
   the 24 h period.
4. Phase for the relay windows: a grid over the mean anomaly at the descent start (two-body over the windows) gives
   the phase with the largest margin (relay above the site's horizon and above the mask at one Earth station
   through the descent and the ascent); one tangential trim at the periselene nearest 2 April moves the orbit
   there (the period it sets is solved in the force model).
5. The mission orbit flies free to July.
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer.constants import MOON_RADIUS_KM as MOON_R
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
        raise TargetingError("Queqiao-2: no samples to find an apsis; check the arc around it")
    r = np.linalg.norm(arc.states[j, :3], axis=1)
    k = j[np.argmax(sign * r)]
    a, b = arc.ets[max(k - 1, 0)], arc.ets[min(k + 1, len(arc.ets) - 1)]
    t = minimize_scalar(lambda x: -sign * np.linalg.norm(arc.state_at(x)[:3]), bounds=(a, b), method="bounded",
                        options={"xatol": 1e-3}).x
    return float(round(t, 3))


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




def _periselene_time(arc, t_guess, period):
    """Periselene time near ``t_guess`` (r . v = 0, solved to 1 microsecond on the arc's dense output)."""
    from scipy.optimize import brentq

    t = _periselene_near(arc, t_guess, period)

    def rdot(x):
        s = arc.state_at(x)
        return float(s[:3] @ s[3:])

    lo, hi = max(arc.start_et, t - 60.0), min(arc.end_et, t + 60.0)
    if rdot(lo) >= 0 or rdot(hi) <= 0:
        return t
    return brentq(rdot, lo, hi, xtol=1e-6, rtol=1e-15, maxiter=100)


def frozen_geometry(s_a, t_a, inc, argp, h_ref):
    """Plane normal and periselene direction (J2000) of the orbit with inclination ``inc`` to the lunar equator
    (MOON_ME pole at ``t_a``) through the position of ``s_a``, argument of periselene ``argp`` from its ascending
    node on that equator; of the two such planes, the one whose normal is nearest ``h_ref``."""
    z = np.asarray(spiceypy.pxform(forces.pole_frame("MOON"), "J2000", float(t_a)))[:, 2]
    r_hat = s_a[:3] / np.linalg.norm(s_a[:3])
    u = np.cross(r_hat, z)
    u /= np.linalg.norm(u)
    w = np.cross(r_hat, u)
    b = math.cos(inc) / (w @ z)
    if abs(b) > 1.0:
        raise TargetingError("Queqiao-2: no plane of the frozen inclination passes through the capture aposelene; "
                             "check frozen.inclination_deg in assets/trajectory/queqiao2.yaml")
    n = max((s * math.sqrt(1.0 - b * b) * u + b * w for s in (1.0, -1.0)), key=lambda c: float(c @ h_ref))
    node = np.cross(z, n)
    node /= np.linalg.norm(node)
    return n, math.cos(argp) * node + math.sin(argp) * np.cross(n, node)


def transfer_conic(s_a, n, p_hat, rp, mu):
    """The conic in the plane ``n`` through the position of ``s_a`` with its periselene at ``rp`` along ``p_hat``:
    (velocity at s_a, time from s_a to that periselene)."""
    r = np.linalg.norm(s_a[:3])
    r_hat = s_a[:3] / r
    nu = math.atan2(float(n @ np.cross(p_hat, r_hat)), float(p_hat @ r_hat))
    e = (r - rp) / (rp - r * math.cos(nu))
    if not 0.0 <= e < 1.0:
        raise TargetingError(f"Queqiao-2 frozen insertion: the transfer conic has e = {e:.3f}; check frozen.* in "
                             "assets/trajectory/queqiao2.yaml")
    p = rp * (1.0 + e)
    k = math.sqrt(mu / p)
    v = k * e * math.sin(nu) * r_hat + k * (1.0 + e * math.cos(nu)) * np.cross(n, r_hat)
    a = rp / (1.0 - e)
    big_e = 2.0 * math.atan(math.sqrt((1.0 - e) / (1.0 + e)) * math.tan(nu / 2.0))
    m = (big_e - e * math.sin(big_e)) % (2.0 * math.pi)
    return v, (2.0 * math.pi - m) / math.sqrt(mu / a**3)


def frozen_state(ctx, s_a, t_a, h_ref):
    """Frozen-orbit geometry from the capture aposelene: (plane normal, periselene position, burn-1 velocity guess,
    periselene time, period), from queqiao2.yaml ``frozen`` and ``mission_orbit.period_h``."""
    mu = forces.gm("MOON")
    inc = math.radians(float(ctx.value(SEC, "frozen.inclination_deg")))
    argp = math.radians(float(ctx.value(SEC, "frozen.argp_deg")))
    rp = MOON_R + float(ctx.value(SEC, "frozen.periselene_alt_km"))
    n, p_hat = frozen_geometry(s_a, t_a, inc, argp, h_ref)
    v1, dt = transfer_conic(s_a, n, p_hat, rp, mu)
    return n, rp * p_hat, v1, t_a + dt, 3600.0 * float(ctx.value(SEC, "mission_orbit.period_h"))


def aim_burn(state, t0, t1, target, what, tol_km=1e-6):
    """Impulsive Δv at (t0, state) so that the force-model position at t1 is ``target`` (:func:`engine.newton`,
    converged past ``tol_km`` to the noise floor)."""
    def miss(dv):
        return engine.propagate(engine.impulse(state, dv), t0, t1, center="MOON").states[-1][:3] - target

    return engine.newton(miss, np.zeros(3), what=what, step=1e-6, tol=tol_km, max_iter=20,
                         where="frozen.* in assets/trajectory/queqiao2.yaml")


def period_velocity(state, n, period, mu):
    """Velocity perpendicular to the radius in the plane ``n`` that gives the two-body ``period`` at ``state``."""
    r = np.linalg.norm(state[:3])
    a = (mu * (period / (2.0 * math.pi)) ** 2) ** (1.0 / 3.0)
    return math.sqrt(mu * (2.0 / r - 1.0 / a)) * np.cross(n, state[:3] / r)


def _arrive(ctx, Q2):
    """Launch, transfer with the mid-course correction, cruise to the LOI start; returns the cruise arc."""
    from viewer.trajectory import outbound

    geo = outbound.LaunchGeometry(ctx, SEC)
    t_loi = ctx.et(SEC, "loi.start_utc")
    t_peri = t_loi + float(ctx.value(SEC, "loi.periselene_offset_s"))
    rp_moon = MOON_R + float(ctx.value(SEC, "loi.periselene_alt_km"))
    z_orb = orbit_plane_frame(t_peri)[2]
    lat_p = math.radians(float(ctx.value(SEC, "loi.periselene_lat_deg")))
    az, theta, vp = outbound.solve_transfer(
        ctx, geo, t_peri, rp_moon, lambda rel: (rel[:3] @ z_orb / np.linalg.norm(rel[:3]) - math.sin(lat_p)) * 100.0)
    s_inj = geo.injection(az, theta, vp)
    nominal = engine.propagate(s_inj, geo.t_sep, t_peri, center="EARTH")
    target = outbound.rel_moon(nominal.states[-1], t_peri)[:3]
    outbound.fly_launch(ctx, geo, s_inj, Q2, "QUEQIAO_2", az, theta)

    err = np.asarray(ctx.value(SEC, "mcc.injection_error_m_s"), dtype=float) / 1000.0
    r, v = s_inj[:3], s_inj[3:]
    t_hat = v / np.linalg.norm(v)
    w_hat = np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    dv_err = err[0] * t_hat + err[1] * np.cross(t_hat, w_hat) + err[2] * w_hat
    g = ctx.entry(SEC, "mcc.injection_error_m_s")
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 separation (injection error)", "QUEQIAO_2", geo.t_sep, 0.0,
                                       tuple(float(c) for c in dv_err), "upper-stage cutoff", g["grade"], g["reason"]))
    t_mcc = geo.t_launch + 3600.0 * float(ctx.value(SEC, "mcc.after_launch_h"))
    c1 = engine.propagate(engine.impulse(s_inj, dv_err), geo.t_sep, t_mcc, center="EARTH", label="Q2 cruise 1")
    ctx.add_arc(Q2, c1)
    dv = outbound.correction(c1.states[-1], t_mcc, t_peri, target, "Queqiao-2 mid-course correction")
    g = ctx.entry(SEC, "mcc.after_launch_h")
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 mid-course correction", "QUEQIAO_2", t_mcc, 0.0,
                                       tuple(float(c) for c in dv), str(ctx.value(SEC, "mcc.engine")), g["grade"],
                                       g["reason"] + "; Δv solved to hit the nominal periselene"))
    cruise = engine.propagate(engine.impulse(c1.states[-1], dv), t_mcc, t_loi, center="EARTH", label="Q2 cruise 2")
    ctx.add_arc(Q2, cruise)
    return cruise


def _capture(ctx, cruise, Q2):
    """LOI: sourced start and duration, thrust solved for the capture aposelene; returns the LOI arc."""
    from scipy.optimize import brentq

    from viewer.trajectory import outbound

    mu = forces.gm("MOON")
    t_loi = cruise.end_et
    s_loi = outbound.rel_moon(cruise.states[-1], t_loi)
    dur = float(ctx.value(SEC, "loi.duration_s"))
    isp, m0 = float(ctx.value(SEC, "loi.isp_s")), float(ctx.value(SEC, "loi.mass_kg"))
    ra_cap = MOON_R + float(ctx.value(SEC, "loi.aposelene_alt_km"))

    def burn(f_n, rtol=1e-9, label=""):
        thrust = engine.constant_thrust(f_n, m0, isp, t_loi, engine.antivelocity)
        return engine.propagate(s_loi, t_loi, t_loi + dur, center="MOON", thrust=thrust, rtol=rtol, label=label,
                                kind="powered")

    def apo_miss(f_n):
        el = engine.elements(burn(f_n).states[-1], mu)
        return (el["ra"] if el["e"] < 1 else 1e7) - ra_cap

    f_n = brentq(apo_miss, *engine.start([100.0, 600.0]), xtol=1e-6, rtol=1e-14, maxiter=100)
    loi = burn(f_n, rtol=engine.RTOL, label="Q2 LOI burn")
    ctx.add_arc(Q2, loi)
    h = float(np.linalg.norm(s_loi[:3])) - MOON_R
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 LOI", "QUEQIAO_2", t_loi, dur, tuple(float(c) for c in loi.dv_km_s),
                                       f"{ctx.value(SEC, 'loi.engine')} (~{f_n:.0f} N effective)", "derived",
                                       f"sourced start (at {h:.0f} km altitude) and duration (19 min); thrust solved "
                                       "for the assumed capture orbit"))
    ctx.add_event("queqiao2_loi", t_loi, "QUEQIAO_2", f"LOI burn {dur:.0f} s from {h:.0f} km, effective thrust "
                  f"{f_n:.0f} N")
    return loi


def _insert_frozen(ctx, loi, Q2):
    """Capture orbit to the first aposelene, burn 1 (plane and aim), transfer, burn 2 at the frozen periselene.
    Returns (state after burn 2, its epoch, the plane normal)."""
    mu = forces.gm("MOON")
    cap_p = engine.elements(loi.states[-1], mu)["period"]
    cap = engine.propagate(loi.states[-1], loi.end_et, loi.end_et + 0.8 * cap_p, center="MOON")
    t_a = _apsis(cap, loi.end_et, cap.end_et, +1)
    ctx.add_arc(Q2, cap.sub(loi.end_et, t_a, "Q2 capture orbit"))
    s_a = cap.state_at(t_a)
    n, r_p, v1, t_p, period = frozen_state(ctx, s_a, t_a, np.cross(s_a[:3], s_a[3:]))
    t_p = round(t_p, 3)
    dv1 = (v1 - s_a[3:]) + aim_burn(engine.impulse(s_a, v1 - s_a[3:]), t_a, t_p, r_p, "Queqiao-2 frozen insertion")
    eng = str(ctx.value(SEC, "mission_insertion.engine"))
    g = ctx.entry(SEC, "frozen.periselene_alt_km")
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 frozen-orbit plane change", "QUEQIAO_2", t_a, 0.0,
                                       tuple(float(c) for c in dv1), eng, "derived",
                                       "at the first aposelene: turns the plane to the frozen inclination and aims "
                                       "the periselene at the frozen one (" + g["reason"] + ")"))
    tr = engine.propagate(engine.impulse(s_a, dv1), t_a, t_p, center="MOON", label="Q2 transfer to the frozen orbit")
    ctx.add_arc(Q2, tr)
    s_p = tr.states[-1]
    dv2 = period_velocity(s_p, n, period, mu) - s_p[3:]
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 frozen-orbit insertion", "QUEQIAO_2", t_p, 0.0,
                                       tuple(float(c) for c in dv2), eng, "derived",
                                       "at the frozen periselene: sets the 24 h period"))
    return engine.impulse(s_p, dv2), t_p, n


def _best_phase(ctx, s_nat, geom, ets, period):
    """Grid over the mean anomaly at the descent start (two-body from the periselene state ``s_nat`` over the
    windows): (margin in deg, the periselene time before the descent start that gives it)."""
    mu = forces.gm("MOON")
    t_ep = ctx.et(SEC, "mission_orbit.epoch_utc")
    site_mask = float(ctx.value(SEC, "windows.site_mask_deg"))
    mask = float(ctx.value(SEC, "windows.mask_deg"))

    def margin(tp0):
        sat = np.array([spiceypy.prop2b(mu, s_nat, float(t - tp0))[:3] for t in ets])
        site_el, st_el = geom.elevations(sat)
        return min((site_el - site_mask).min(), (st_el - mask).min())

    p0, p1, ps = ctx.value(SEC, "mission_orbit.phase_grid_deg")
    best, m_best = max((margin(t_ep - m / 360.0 * period), m) for m in np.arange(p0, p1, ps))
    if best <= 0:
        raise TargetingError("no Queqiao-2 phase sees the site and a station in both windows; check "
                             "assets/trajectory/queqiao2.yaml (windows, stations, frozen)")
    return best, t_ep - m_best / 360.0 * period, m_best


def _phase_trim(ctx, s0, t0, n, geom, ets):
    """Tangential trim at the periselene nearest ``mission_orbit.start_utc`` that puts the periselene near the
    descent at the best phase for the relay windows (secant on the force-model periselene time, to 1 ms).
    Returns (arc to the trim, trim epoch, state after the trim, Δv vector, phase info)."""
    mu = forces.gm("MOON")
    period = 3600.0 * float(ctx.value(SEC, "mission_orbit.period_h"))
    t_start = ctx.et(SEC, "mission_orbit.start_utc")
    t_ep = ctx.et(SEC, "mission_orbit.epoch_utc")
    pre = engine.propagate(s0, t0, t_start + 0.7 * period, center="MOON")
    t_tr = round(_periselene_time(pre, t_start, period), 3)
    pre = pre.sub(t0, t_tr, "Q2 frozen orbit")
    s_tr = pre.states[-1]
    t_hat = s_tr[3:] / np.linalg.norm(s_tr[3:])
    nat = engine.propagate(s_tr, t_tr, t_ep + 0.6 * period, center="MOON", rtol=1e-9)
    t_nat = _periselene_time(nat, t_ep - 0.5 * period, period)
    best, t_want, m_best = _best_phase(ctx, nat.state_at(t_nat), geom, ets, period)
    shift = (t_want - t_nat + 0.5 * period) % period - 0.5 * period
    t_want = t_nat + shift

    def miss(x):
        arc = engine.propagate(engine.impulse(s_tr, x * t_hat), t_tr, t_want + 0.6 * period, center="MOON")
        return _periselene_time(arc, t_want, period) - t_want

    revs = (t_want - t_tr) / period
    a = (mu * (period / (2.0 * math.pi)) ** 2) ** (1.0 / 3.0)
    slope = -revs * 1.5 * period * 2.0 * a * np.linalg.norm(s_tr[3:]) / mu  # s per km/s
    x0, f0 = 0.0, -shift
    x1 = float(engine.start(x0 - f0 / slope))
    f1 = miss(x1)
    for _ in range(12):
        if abs(f1) < 1e-3:
            break
        x0, x1, f0 = x1, x1 - f1 * (x1 - x0) / (f1 - f0), f1
        f1 = miss(x1)
    else:
        raise TargetingError("Queqiao-2 phase trim did not converge; check mission_orbit.* in "
                             "assets/trajectory/queqiao2.yaml")
    info = {"phase_deg": float(m_best), "grid_margin_deg": float(best), "shift_s": float(shift)}
    return pre, t_tr, engine.impulse(s_tr, x1 * t_hat), x1 * t_hat, info


def build_phase(ctx) -> None:
    Q2 = ["QUEQIAO_2"]
    ets = window_ets(ctx)
    geom = Geometry(ctx, ets)
    cruise = _arrive(ctx, Q2)
    loi = _capture(ctx, cruise, Q2)
    s_f, t_f, n = _insert_frozen(ctx, loi, Q2)
    pre, t_tr, s_m, dv, info = _phase_trim(ctx, s_f, t_f, n, geom, ets)
    ctx.add_arc(Q2, pre)
    g = ctx.entry(SEC, "mission_insertion.phase_trim")
    ctx.add_manoeuvre(engine.Manoeuvre("Q2 mission orbit insertion", "QUEQIAO_2", t_tr, 0.0,
                                       tuple(float(c) for c in dv), str(ctx.value(SEC, "mission_insertion.engine")),
                                       g["grade"], g["reason"]))
    ctx.add_event("queqiao2_mission_orbit", t_tr, "QUEQIAO_2", "24 h frozen mission orbit (i 62.4 deg to the lunar "
                  "equator, periselene over the north)")
    t_end = ctx.et(SEC, "mission_orbit.end_utc")
    ctx.add_arc(Q2, engine.propagate(s_m, t_tr, t_end, center="MOON", label="Q2 mission orbit"))

    sat = np.array([ctx.arc_at("QUEQIAO_2", t).state_at(t)[:3] for t in ets])
    site_el, st_el = geom.elevations(sat)
    site_mask = float(ctx.value(SEC, "windows.site_mask_deg"))
    mask = float(ctx.value(SEC, "windows.mask_deg"))
    if min((site_el - site_mask).min(), (st_el - mask).min()) <= 0:
        raise TargetingError("Queqiao-2 misses a relay window after phasing; check assets/trajectory/queqiao2.yaml")
    ctx.queqiao2_info = {**info, "min_site_el_deg": float(site_el.min()), "min_station_el_deg": float(st_el.min())}
