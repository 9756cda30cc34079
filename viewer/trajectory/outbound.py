"""Chang'e-6 outbound: launch, ascent, TLI, cruise with two TCMs, LOI, plane change, working orbit (issue 3).

The flight is built from the published events (assets/trajectory/outbound.yaml) with the force model:

1. Transfer: the injection state at separation (200 km perigee, flight-path angle 0) lies in the plane through
   Wenchang at liftoff; launch azimuth, downrange angle and perigee speed are solved so that the ballistic transfer
   reaches periselene (200 km) at LOI + the burn half-duration, with the periselene in the plane of the working
   orbit (a "ghost" working orbit integrated backwards from the descent time, passing over the site), so that a
   small node change at the first aposelene puts the capture orbit into that plane.
2. Ascent and TLI (powered arcs): integrated backwards from the injection state through the upper stage's finite
   TLI burn and the parking-orbit coast; the ascent from the pad to the parking orbit is a smooth powered arc
   (quintic in radius, downrange and cross-range angles), graded assumed.
3. Cruise: an assumed injection error is corrected by TCM-1 (L+17.5 h, CE-5 pattern) and TCM-1's execution error
   by TCM-2 (L+41.5 h); both are solved to hit the nominal periselene position.
4. LOI: finite 3,000 N anti-velocity burn from 02:12, its duration solved for the 8,600 km aposelene.
5. Node change at the first aposelene: Δv solved so that the next periselene lies in the ghost plane at 200 km;
   circularisation there; a phasing trim on 28 May (Δv solved so the orbit passes over the site on 1 June 22:09).
"""

from __future__ import annotations

import math

import numpy as np
import spiceypy

from viewer.constants import MOON_RADIUS_KM as MOON_R
from viewer.epochs import utc_from_et
from viewer.trajectory import engine, forces
from viewer.trajectory.engine import Arc, Manoeuvre, TargetingError

STACK = ["CHANGE6_ORBITER", "CHANGE6_RETURNER", "CHANGE6_LANDER", "CHANGE6_ASCENDER"]
SEC = "outbound"
G0 = forces.G0
LIFTOFF_NET_ACCEL_KM_S2 = 0.2 * G0 / 1000.0  # Long March 5 liftoff thrust/weight ~1.2


def _v(ctx, key, sec=SEC):
    return ctx.value(sec, key)


def _g(ctx, key, sec=SEC):
    e = ctx.entry(sec, key)
    return e["grade"], e["reason"]


def moon_eq(et: float) -> np.ndarray:
    """Rotation J2000 -> Moon-fixed axes frozen at ``et`` (inertial lunar-equator frame)."""
    return np.asarray(spiceypy.pxform("J2000", forces.pole_frame("MOON"), float(et)))


def rel_moon(state_earth, et):
    return np.asarray(state_earth) - np.asarray(spiceypy.spkezr("MOON", float(et), "J2000", "NONE", "EARTH")[0])


# ---------------------------------------------------------------------------------------------- Earth side


class LaunchGeometry:
    """The launch site at liftoff (inertial) and injection states in planes through it, for section ``sec``."""

    def __init__(self, ctx, sec=SEC):
        self.sec = sec
        self.t_launch = ctx.et(sec, "launch.utc")
        self.t_sep = ctx.et(sec, "separation.utc")
        radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
        self.re, flat = radii[0], (radii[0] - radii[2]) / radii[0]
        lon, lat = math.radians(_v(ctx, "launch.lon_deg", sec)), math.radians(_v(ctx, "launch.lat_deg", sec))
        fixed = spiceypy.georec(lon, lat, float(_v(ctx, "launch.height_km", sec)), radii[0], flat)
        self.earth_frame = forces.pole_frame("EARTH")
        xf = np.asarray(spiceypy.sxform(self.earth_frame, "J2000", self.t_launch))
        self.pad = xf @ np.concatenate([fixed, np.zeros(3)])  # inertial state of the pad at liftoff
        s = self.pad[:3] / np.linalg.norm(self.pad[:3])
        east = np.cross([0.0, 0.0, 1.0], s)
        east /= np.linalg.norm(east)
        self.s, self.east, self.north = s, east, np.cross(s, east)
        self.rp = self.re + float(_v(ctx, "separation.perigee_alt_km", sec))

    def basis(self, az):
        u = math.cos(az) * self.north + math.sin(az) * self.east
        h = np.cross(self.s, u)
        return u, h / np.linalg.norm(h)

    def injection(self, az, theta, vp):
        u, h = self.basis(az)
        rh = math.cos(theta) * self.s + math.sin(theta) * u
        return np.concatenate([self.rp * rh, vp * np.cross(h, rh)])


def solve_transfer(ctx, geo: LaunchGeometry, t_peri: float, rp_moon: float, third) -> np.ndarray:
    """(azimuth, downrange, perigee speed) of the ballistic transfer to periselene ``rp_moon`` at ``t_peri``;
    ``third(state relative to the Moon at t_peri) -> float`` is the third condition (zero when met)."""
    mst = np.asarray(spiceypy.spkezr("MOON", t_peri, "J2000", "NONE", "EARTH")[0])
    pole = moon_eq(t_peri)[2]
    aim = np.cross(mst[3:], pole)
    aim *= 3000.0 / np.linalg.norm(aim)
    theta0 = math.radians(float(_v(ctx, "separation.downrange_deg", geo.sec)))

    def end(x, rtol):
        return engine.propagate(geo.injection(x[0], x[1], x[2]), geo.t_sep, t_peri, center="EARTH",
                                rtol=rtol).states[-1]

    def stage1(x):
        return (end(x, 1e-9)[:3] - mst[:3] - aim) / 1000.0

    def stage2(x):
        rel = end(x, 1e-9) - mst
        r = np.linalg.norm(rel[:3])
        return np.array([(r - rp_moon) / 10.0, rel[:3] @ rel[3:] / r / 1e-3,
                         third(rel)])

    guess = [math.radians(float(g)) for g in _v(ctx, "separation.solver_start", geo.sec)[:2]]
    guess.append(float(_v(ctx, "separation.solver_start", geo.sec)[2]))
    try:  # from the recorded start values (fast), else from an aim point near the Moon (robust)
        x2 = engine.solve(stage2, guess, what="transfer periselene", x_scale=[1e-3, 1e-3, 1e-4], max_nfev=30,
                          tol=1e-3)
    except TargetingError:
        x1 = engine.solve(stage1, [math.radians(105.0), theta0, 10.92], what="transfer aim (stage 1)",
                          x_scale=[0.01, 0.01, 0.001], max_nfev=40, tol=1e-3)
        x2 = engine.solve(stage2, x1, what="transfer periselene", x_scale=[1e-3, 1e-3, 1e-4], max_nfev=60,
                          tol=1e-3)
    theta = math.degrees(x2[1])
    if not 60.0 < theta < 200.0:
        raise TargetingError(f"transfer solution puts injection {theta:.0f} deg downrange of Wenchang (implausible);"
                             " check separation.downrange_deg and the LOI time in outbound.yaml")
    return x2


def upper_stage_thrust(ctx, t_end, sec=SEC):
    f = float(_v(ctx, "launch.upper_stage_thrust_n", sec))
    isp = float(_v(ctx, "launch.upper_stage_isp_s", sec))
    m_end = float(_v(ctx, "launch.upper_stage_burnout_mass_kg", sec))
    mdot = f / (isp * G0)

    def accel(et, state):  # mass grows backwards from burnout
        m = m_end + mdot * (t_end - et)
        a = f / m / 1000.0
        v = state[3:6]
        n = math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
        return a * v[0] / n, a * v[1] / n, a * v[2] / n

    return accel, mdot, m_end, isp


def build_tli(ctx, geo, s_inj):
    """Backwards from the injection: post-burn coast, finite TLI burn (duration solved for a circular parking
    orbit), parking coast to the end of the ascent. Returns (parking arc, burn arc, post-burn arc, burn duration)."""
    t_end = geo.t_sep - float(_v(ctx, "launch.tli_end_before_separation_s", geo.sec))
    post = engine.propagate(s_inj, geo.t_sep, t_end, center="EARTH", label="TLI to separation")
    s_end = post.states[0]
    accel, mdot, m_end, isp = upper_stage_thrust(ctx, t_end, geo.sec)
    mu = forces.gm("EARTH")

    def before(dur):
        return engine.propagate(s_end, t_end, t_end - dur, center="EARTH", thrust=accel, rtol=1e-9)

    def ecc(dur):
        return engine.elements(before(float(dur[0])).states[0], mu)["e"] * 100.0

    # ideal rocket guess for the duration, then solve for the least eccentric parking orbit
    v_end = np.linalg.norm(s_end[3:])
    dv = v_end - math.sqrt(mu / geo.rp)
    dur0 = m_end * (math.exp(dv * 1000.0 / (isp * G0)) - 1.0) / mdot
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda d: ecc([d]), bounds=(0.8 * dur0, 1.2 * dur0), method="bounded",
                          options={"xatol": 0.01, "maxiter": 40})
    dur = float(res.x)
    burn = engine.propagate(s_end, t_end, t_end - dur, center="EARTH", thrust=accel, label="TLI burn",
                            kind="powered")
    return burn, post, dur


def ascent_arc(ctx, geo, state_end, t_end) -> Arc:
    """Smooth powered arc from the pad (liftoff) to ``state_end``: quintic in radius, in-plane and out-of-plane
    angles of the plane through the pad and the end state. Thrust = kinematic acceleration - gravity."""
    t0 = geo.t_launch
    s, e = geo.pad, np.asarray(state_end)
    x_ = s[:3] / np.linalg.norm(s[:3])
    h = np.cross(s[:3], e[:3])
    h /= np.linalg.norm(h)
    y_ = np.cross(h, x_)
    fm = forces.model("EARTH")
    omega = np.array([0.0, 0.0, 1.0]) * 7.292115e-5
    a0 = np.cross(omega, s[3:])  # the pad's centripetal acceleration
    a1 = np.array(fm.accel(t_end, *e[:3]))

    def sph(p):
        r = np.linalg.norm(p)
        return np.array([r, math.atan2(p @ y_, p @ x_), math.asin(p @ h / r)])

    def derivs(p, v, a, dt=1.0):
        pts = [sph(p + v * k * dt + 0.5 * a * (k * dt) ** 2) for k in (-1, 0, 1)]
        return pts[1], (pts[2] - pts[0]) / (2 * dt), (pts[2] - 2 * pts[1] + pts[0]) / dt**2

    T = t_end - t0
    q0, d0, dd0 = derivs(s[:3], s[3:], a0)
    dd0[0] += LIFTOFF_NET_ACCEL_KM_S2  # the stack leaves the pad upwards (thrust/weight ~1.2 at liftoff)
    q1, d1, dd1 = derivs(e[:3], e[3:], a1)
    q1[1] = q0[1] + ((q1[1] - q0[1]) % (2 * math.pi))
    # quintic coefficients per coordinate on u in [0, 1]
    A = np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 2, 0, 0, 0],
                  [1, 1, 1, 1, 1, 1], [0, 1, 2, 3, 4, 5], [0, 0, 2, 6, 12, 20]], dtype=float)
    coefs = [np.linalg.solve(A, [q0[k], d0[k] * T, dd0[k] * T * T, q1[k], d1[k] * T, dd1[k] * T * T])
             for k in range(3)]

    def pos(t):
        u = (t - t0) / T
        r, th, ph = (sum(c[j] * u**j for j in range(6)) for c in coefs)
        return r * (math.cos(ph) * (math.cos(th) * x_ + math.sin(th) * y_) + math.sin(ph) * h)

    n = int(_v(ctx, "launch.ascent_duration_s", geo.sec) // 4) + 1
    ets = np.linspace(t0, t_end, n)
    dt = 0.01
    states = []
    for t in ets:
        p = pos(t)
        v = (pos(t + dt) - pos(t - dt)) / (2 * dt)
        states.append(np.concatenate([p, v]))
    states[0], states[-1] = s.copy(), e.copy()
    arc = Arc("ascent", ets, np.array(states), "EARTH", "J2000", "powered")
    # plausibility: thrust acceleration below 6 g, never below the ground
    acc = np.gradient(np.array(states)[:, 3:], ets, axis=0)
    grav = np.array([fm.accel(t, *st[:3]) for t, st in zip(ets, states)])
    thrust_g = np.linalg.norm(acc - grav, axis=1) * 1000.0 / G0
    alt = np.linalg.norm(np.array(states)[:, :3], axis=1) - np.linalg.norm(s[:3])  # above the pad's radius
    if thrust_g.max() > 6.0 or alt.min() < -1.0:
        raise TargetingError(f"ascent profile implausible (max thrust {thrust_g.max():.1f} g, min altitude "
                             f"{alt.min():.1f} km); check launch.ascent_duration_s in outbound.yaml")
    arc.max_thrust_g = float(thrust_g.max())
    return arc


def fly_launch(ctx, geo, s_inj, vehicles, vehicle, az, theta) -> None:
    """Add liftoff -> ascent -> parking orbit -> TLI burn -> separation arcs, the TLI manoeuvre and the events."""
    sec = geo.sec
    burn, post, dur = build_tli(ctx, geo, s_inj)
    t_ins = geo.t_launch + float(_v(ctx, "launch.ascent_duration_s", sec))
    parking = engine.propagate(burn.states[0], burn.start_et, t_ins, center="EARTH", label="parking orbit")
    ascent = ascent_arc(ctx, geo, parking.states[0], t_ins)
    for arc in (ascent, parking, burn, post):
        ctx.add_arc(vehicles, arc)
    tli_dv = tuple(float(c) for c in -burn.dv_km_s)  # integrated backwards
    ctx.add_manoeuvre(Manoeuvre("TLI (upper stage)" if vehicle != "QUEQIAO_2" else "Q2 TLI (upper stage)", vehicle,
                                burn.start_et, dur, tli_dv, str(_v(ctx, "launch.upper_stage", sec)), "assumed",
                                "finite burn solved backwards from the sourced 200 km perigee injection at separation"))
    ctx.add_event(f"liftoff_{vehicle.lower()}", geo.t_launch, vehicle, str(_v(ctx, "launch.vehicle", sec)))
    ctx.add_event(f"separation_{vehicle.lower()}", geo.t_sep, vehicle,
                  f"injection: perigee {float(_v(ctx, 'separation.perigee_alt_km', sec)):.0f} km, "
                  f"azimuth {math.degrees(az):.1f} deg, downrange {math.degrees(theta):.1f} deg; "
                  f"ascent max thrust {ascent.max_thrust_g:.1f} g, TLI {dur:.0f} s")


# ---------------------------------------------------------------------------------------------- cruise


def correction(state, et, t_peri, target_pos, what, centre="EARTH"):
    """Impulsive Δv at (state, et) so that the position at t_peri (relative to the Moon) hits target_pos."""
    def miss(dv, rtol=1e-9):
        s = engine.impulse(state, dv)
        end = engine.propagate(s, et, t_peri, center=centre, rtol=rtol).states[-1]
        return (rel_moon(end, t_peri)[:3] - target_pos)

    return engine.newton(miss, np.zeros(3), what=what, step=1e-5, tol=1e-4, max_iter=15,
                         where="tcm.* in assets/trajectory/outbound.yaml")


# ---------------------------------------------------------------------------------------------- lunar side


def ghost_state(ctx, t_d: float) -> np.ndarray:
    """Circular orbit state (Moon-centred J2000) over the landing site at t_d with the working inclination."""
    mu = forces.gm("MOON")
    m = moon_eq(t_d)
    # site direction in the frozen lunar-equator frame at t_d = Moon-fixed direction at that instant
    p = ctx.site_me_km / np.linalg.norm(ctx.site_me_km)
    inc = math.radians(float(_v(ctx, "lunar_orbit.inclination_deg")))
    r = MOON_R + float(_v(ctx, "lunar_orbit.working_alt_km"))
    rho, alpha = math.hypot(p[0], p[1]), math.atan2(p[1], p[0])
    k = -math.cos(inc) * p[2] / (math.sin(inc) * rho)
    if abs(k) > 1:
        raise TargetingError("the working inclination cannot reach the site latitude; check inclination_deg")
    best = None
    for om in (alpha + math.asin(k), alpha + math.pi - math.asin(k)):
        hv = np.array([math.sin(inc) * math.sin(om), -math.sin(inc) * math.cos(om), math.cos(inc)])
        vdir = np.cross(hv, p)
        cand = np.concatenate([r * p, math.sqrt(mu / r) * vdir / np.linalg.norm(vdir)])
        # prefer the pass that is heading north after the southernmost point (site then behind the apex)
        if best is None or vdir[2] > best[1]:
            best = (cand, vdir[2])
    s = best[0]
    return np.concatenate([m.T @ s[:3], m.T @ s[3:]])


def _cruise(ctx, geo, s_inj, t_peri, target, t_loi) -> np.ndarray:
    """Cruise with an assumed injection error, TCM-1 and TCM-2 (solved to hit the nominal periselene ``target``);
    returns the Moon-relative state at the LOI start."""
    err = np.asarray(_v(ctx, "tcm.injection_error_m_s"), dtype=float) / 1000.0
    r, v = s_inj[:3], s_inj[3:]
    t_hat = v / np.linalg.norm(v)
    w_hat = np.cross(r, v) / np.linalg.norm(np.cross(r, v))
    r_hat = np.cross(t_hat, w_hat)
    dv_err = err[0] * t_hat + err[1] * r_hat + err[2] * w_hat
    s = engine.impulse(s_inj, dv_err)
    grade, reason = _g(ctx, "tcm.injection_error_m_s")
    ctx.add_manoeuvre(Manoeuvre("separation (injection error)", "CHANGE6_ORBITER", geo.t_sep, 0.0,
                                tuple(float(c) for c in dv_err), "separation springs / upper-stage cutoff", grade,
                                reason))
    t_prev = geo.t_sep
    engine_name = str(_v(ctx, "tcm.engine"))
    exec_err = float(_v(ctx, "tcm.tcm1_execution_error"))
    for k, key in enumerate(("tcm.tcm1_after_launch_h", "tcm.tcm2_after_launch_h"), start=1):
        t_tcm = geo.t_launch + 3600.0 * float(_v(ctx, key))
        arc = engine.propagate(s, t_prev, t_tcm, center="EARTH", label=f"cruise {k}")
        ctx.add_arc(STACK, arc)
        dv = correction(arc.states[-1], t_tcm, t_peri, target, f"TCM-{k}")
        if k == 1:
            dv = dv * (1.0 + exec_err)
        grade, reason = _g(ctx, key)
        ctx.add_manoeuvre(Manoeuvre(f"TCM-{k}", "CHANGE6_ORBITER", t_tcm, 0.0, tuple(float(c) for c in dv),
                                    engine_name, grade, reason + "; Δv solved to hit the nominal periselene"))
        s, t_prev = engine.impulse(arc.states[-1], dv), t_tcm
    arc = engine.propagate(s, t_prev, t_loi, center="EARTH", label="cruise 3")
    ctx.add_arc(STACK, arc)
    s_loi = rel_moon(arc.states[-1], t_loi)

    return s_loi


def _loi(ctx, s_loi, t_loi, mu_m):
    """LOI: finite anti-velocity burn, duration solved for the capture aposelene; returns (burn arc, duration)."""
    f_n, isp, m0 = float(_v(ctx, "loi.thrust_n")), float(_v(ctx, "loi.isp_s")), float(_v(ctx, "loi.mass_kg"))
    thrust = engine.constant_thrust(f_n, m0, isp, t_loi, engine.antivelocity)
    ra_target = MOON_R + float(_v(ctx, "loi.aposelene_alt_km"))

    def apo_miss(d):
        a = engine.propagate(s_loi, t_loi, t_loi + d, center="MOON", thrust=thrust, rtol=1e-9)
        return (engine.elements(a.states[-1], mu_m)["ra"] - ra_target) / 100.0

    from scipy.optimize import brentq

    d_loi = brentq(apo_miss, *engine.start([300.0, 2400.0]), xtol=1e-3, maxiter=60)
    loi = engine.propagate(s_loi, t_loi, t_loi + d_loi, center="MOON", thrust=thrust, label="LOI burn",
                           kind="powered")
    ctx.add_arc(STACK, loi)
    ctx.add_manoeuvre(Manoeuvre("LOI", "CHANGE6_ORBITER", t_loi, d_loi, tuple(float(c) for c in loi.dv_km_s),
                                str(_v(ctx, "loi.engine")), "assumed",
                                "start time sourced (02:12); finite 3,000 N burn, duration solved for the sourced "
                                "200 x 8,600 km capture orbit"))
    ctx.add_event("capture", loi.end_et, "CHANGE6_ORBITER", "end of LOI burn: 200 x 8,600 km, 12 h orbit")

    return loi, d_loi


def _to_working_orbit(ctx, loi, plane, rp_moon, mu_m):
    """Capture orbit to the first aposelene, node change there (next periselene in the ghost plane at rp), and
    circularisation at that periselene; returns (working-orbit state, its epoch)."""
    # capture orbit to the first aposelene
    period = engine.elements(loi.states[-1], mu_m)["period"]
    cap = engine.propagate(loi.states[-1], loi.end_et, loi.end_et + 0.75 * period, center="MOON")
    rr = np.linalg.norm(cap.states[:, :3], axis=1)
    from scipy.optimize import minimize_scalar

    k = int(rr.argmax())
    t_apo = minimize_scalar(lambda t: -np.linalg.norm(cap.state_at(t)[:3]),
                            bounds=(cap.ets[max(k - 1, 0)], cap.ets[min(k + 1, len(rr) - 1)]), method="bounded",
                            options={"xatol": 1e-3}).x
    t_apo = float(round(t_apo, 3))
    t_c_guess = t_apo + 0.5 * period
    ctx.add_arc(STACK, cap.sub(loi.end_et, t_apo, "capture orbit"))
    s_apo = cap.state_at(t_apo)

    # node change at aposelene: next periselene (at its unperturbed time) in the ghost plane at rp
    def after(dv, rtol=1e-9):
        return engine.propagate(engine.impulse(s_apo, dv), t_apo, t_c_guess, center="MOON", rtol=rtol).states[-1]

    def pc_res(dv):
        st = after(dv)
        h = plane(t_c_guess)
        r = np.linalg.norm(st[:3])
        return np.array([st[:3] @ h / 10.0, st[3:] @ h / 1e-3, (r - rp_moon) / 10.0])

    dv_pc = engine.newton(pc_res, np.zeros(3), what="node change at aposelene", step=1e-6, tol=2.0,
                          where="outbound.yaml lunar_orbit.*")
    s1 = engine.impulse(s_apo, dv_pc)
    ctx.add_manoeuvre(Manoeuvre("node change", "CHANGE6_ORBITER", t_apo, 0.0, tuple(float(c) for c in dv_pc),
                                "orbiter 3000 N", *_g(ctx, "lunar_orbit.plane_change_revs")))
    half = engine.propagate(s1, t_apo, t_apo + 0.75 * period, center="MOON")
    rr = np.linalg.norm(half.states[:, :3], axis=1)
    k = int(rr.argmin())
    t_c = minimize_scalar(lambda t: np.linalg.norm(half.state_at(t)[:3]),
                          bounds=(half.ets[max(k - 1, 0)], half.ets[min(k + 1, len(rr) - 1)]), method="bounded",
                          options={"xatol": 1e-3}).x
    t_c = float(round(t_c, 3))
    ctx.add_arc(STACK, half.sub(t_apo, t_c, "capture orbit (new node)"))
    s_c = half.state_at(t_c)
    h = np.cross(s_c[:3], s_c[3:])
    r_c = np.linalg.norm(s_c[:3])
    v_new = math.sqrt(mu_m / r_c) * np.cross(h, s_c[:3]) / np.linalg.norm(np.cross(h, s_c[:3]))
    dv_c = v_new - s_c[3:]
    ctx.add_manoeuvre(Manoeuvre("circularisation", "CHANGE6_ORBITER", t_c, 0.0, tuple(float(c) for c in dv_c),
                                "orbiter 3000 N", *_g(ctx, "lunar_orbit.circularise_periselene")))
    s_w = np.concatenate([s_c[:3], v_new])

    return s_w, t_c


def _polish_trim(s_t, t_trim, t_d, target_d, dv_t, jac):
    """Polish the phasing trim with the build tolerance (its solver ran at rtol 1e-9: ~0.5 km apart over 4 days in
    low orbit): Newton steps with the solver's Jacobian to the noise floor. Returns (arc, miss, Δv)."""
    def run(dv):
        arc = engine.propagate(engine.impulse(s_t, dv), t_trim, t_d, center="MOON")
        end = arc.states[-1]
        hh = np.cross(end[:3], end[3:])
        hh /= np.linalg.norm(hh)
        return arc, np.array([math.atan2(np.cross(end[:3], target_d) @ hh, end[:3] @ target_d)
                              * np.linalg.norm(end[:3]), target_d @ hh])

    cont, f = run(dv_t)
    prev = None
    for _ in range(4):
        if jac is None or engine.settled(float(np.linalg.norm(f)), prev, 0.1):
            break
        prev = float(np.linalg.norm(f))
        dv_t = dv_t - np.linalg.lstsq(jac, f, rcond=None)[0]
        cont, f = run(dv_t)
    return cont, f, dv_t


def _phase_working_orbit(ctx, s_w, t_c, t_d, ghost_d, mu_m) -> float:
    """Working orbit to the trim, then the phasing trim for the site overflight at t_d; returns the miss (km)."""
    # working orbit to the trim, then phasing trim for the site overflight at t_d
    t_trim = ctx.et(SEC, "lunar_orbit.trim_utc")
    work = engine.propagate(s_w, t_c, t_trim, center="MOON", label="working orbit")
    ctx.add_arc(STACK, work)
    s_t = work.states[-1]
    target_d = ghost_d[:3]

    # 1) along-track: the secular phase drift sets the semi-major axis change (secant on the phase error)
    t_dir = s_t[3:] / np.linalg.norm(s_t[3:])
    r_t = np.linalg.norm(s_t[:3])
    n_t = math.sqrt(mu_m / r_t**3)

    def phase_err(dvt):
        end = engine.propagate(engine.impulse(s_t, dvt * t_dir), t_trim, t_d, center="MOON", rtol=1e-8).states[-1]
        hh = np.cross(end[:3], end[3:])
        ang = math.atan2(np.cross(end[:3], target_d) @ hh / np.linalg.norm(hh), end[:3] @ target_d)
        return ang  # > 0: the target is ahead

    per_ms = 1.5 * n_t * (t_d - t_trim) * 2.0 / (n_t * r_t) / 1.0  # rad of phase lost per km/s along-track
    x0, f0 = 0.0, phase_err(0.0)
    x1 = float(engine.start(x0 - f0 / per_ms))
    for _ in range(8):
        f1 = phase_err(x1)
        if abs(f1) < 1e-5:
            break
        x0, f0, x1 = x1, f1, x1 - f1 * (x1 - x0) / (f1 - f0)
    # 2) along-track and cross-track miss at t_d, minimum-norm Newton on the 3-D Δv (force-model Jacobian)
    def miss2(dv):
        end = engine.propagate(engine.impulse(s_t, dv), t_trim, t_d, center="MOON", rtol=1e-9).states[-1]
        hh = np.cross(end[:3], end[3:])
        hh /= np.linalg.norm(hh)
        along = math.atan2(np.cross(end[:3], target_d) @ hh, end[:3] @ target_d) * np.linalg.norm(end[:3])
        return np.array([along, target_d @ hh])

    dv_t = x1 * t_dir
    f = miss2(dv_t)
    jac = last_jac = None
    prev = None
    for _ in range(10):
        if engine.settled(float(np.linalg.norm(f)), prev, 0.1):
            break
        prev = float(np.linalg.norm(f))
        if jac is None:
            hstep = 1e-5
            jac = np.column_stack([(miss2(dv_t + hstep * np.eye(3)[j]) - f) / hstep for j in range(3)])
        step = -np.linalg.lstsq(jac, f, rcond=None)[0]
        f_new = miss2(dv_t + step)
        if np.linalg.norm(f_new) > 0.3 * np.linalg.norm(f):
            last_jac, jac = jac, None  # refresh the Jacobian next time
        dv_t, f = dv_t + step, f_new
    else:
        raise TargetingError(f"phasing trim did not converge (miss {np.linalg.norm(f):.2f} km); check "
                             "lunar_orbit.trim_utc in outbound.yaml")
    t_sep = ctx.et(SEC, "lunar_orbit.separation_utc")

    cont, f, dv_t = _polish_trim(s_t, t_trim, t_d, target_d, dv_t, jac if jac is not None else last_jac)
    ctx.add_manoeuvre(Manoeuvre("phasing trim", "CHANGE6_ORBITER", t_trim, 0.0, tuple(float(c) for c in dv_t),
                                str(_v(ctx, "lunar_orbit.trim_engine")), *_g(ctx, "lunar_orbit.trim_utc")))
    ctx.add_arc(STACK, cont.sub(t_trim, t_sep, "working orbit (phased)"))
    miss_km = float(np.linalg.norm(f))  # along-track and cross-track
    alt_km = float(np.linalg.norm(cont.states[-1][:3])) - MOON_R
    ctx.add_event("working_orbit", t_c, "CHANGE6_ORBITER", "circular ~200 km, i 137 deg working orbit")
    ctx.add_event("overflight_target", t_d, "CHANGE6_SITE",
                  f"the stack's orbit, continued without burns, passes over the site (miss {miss_km:.2f} km along "
                  f"and across track, at {alt_km:.1f} km altitude)")
    return miss_km


def build_phase(ctx) -> None:
    geo = LaunchGeometry(ctx)
    mu_m = forces.gm("MOON")
    t_loi = ctx.et(SEC, "loi.start_utc")
    t_peri = t_loi + float(_v(ctx, "loi.periselene_offset_s"))
    rp_moon = MOON_R + float(_v(ctx, "loi.periselene_alt_km"))

    # ghost working orbit: backwards from the descent time, for its plane at capture and circularisation
    t_d = ctx.et(SEC, "lunar_orbit.descent_start_utc")
    ghost_d = ghost_state(ctx, t_d)
    ghost = engine.propagate(ghost_d, t_d, t_peri, center="MOON", rtol=1e-8)

    def plane(t):
        g = ghost.state_at(t)
        h = np.cross(g[:3], g[3:])
        return h / np.linalg.norm(h)

    # the capture periselene lies in the ghost plane, so the node change at aposelene can rotate onto it
    normal = plane(t_peri)
    az, theta, vp = solve_transfer(ctx, geo, t_peri, rp_moon, lambda rel: rel[:3] @ normal / 10.0)
    s_inj = geo.injection(az, theta, vp)
    nominal = engine.propagate(s_inj, geo.t_sep, t_peri, center="EARTH")
    target = rel_moon(nominal.states[-1], t_peri)[:3]

    fly_launch(ctx, geo, s_inj, STACK, "CHANGE6_ORBITER", az, theta)

    s_loi = _cruise(ctx, geo, s_inj, t_peri, target, t_loi)
    loi, d_loi = _loi(ctx, s_loi, t_loi, mu_m)
    s_w, t_c = _to_working_orbit(ctx, loi, plane, rp_moon, mu_m)
    miss_km = _phase_working_orbit(ctx, s_w, t_c, t_d, ghost_d, mu_m)
    ctx.outbound_info = {"azimuth_deg": math.degrees(az), "downrange_deg": math.degrees(theta), "vp_km_s": vp,
                         "loi_s": d_loi, "trim_miss_km": miss_km, "utc_c": utc_from_et(t_c)}
