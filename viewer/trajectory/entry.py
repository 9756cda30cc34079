"""Atmospheric entry of the returner: an exponential atmosphere that turns with the Earth, and 3-DOF lifting flight.

The returner is a point mass integrated in J2000 relative to the Earth. Its acceleration is

- gravity: the shared force model (:mod:`viewer.trajectory.forces`, Earth J2 plus Moon and Sun), so the state at
  the entry interface joins the vacuum arc before it without a seam;
- drag ``-rho |v_rel| v_rel / (2 beta)`` on the velocity relative to the air (the atmosphere turns with the
  Earth: ``v_rel = v - omega x r``);
- lift ``(L/D) |drag|`` perpendicular to ``v_rel``, turned by the bank angle ``sigma`` about ``v_rel`` (sigma = 0:
  lift straight up; positive sigma: lift to the right of the flight direction). The trimmed L/D is a hypersonic
  figure: below ``lift_fade_km_s`` the lift fades linearly to zero (the capsule falls near-vertically before the
  chute, where "up" perpendicular to the air velocity is undefined);
- under the parachutes (after the chute altitude) drag only, with a drogue and then a main canopy whose drag area
  grows linearly while it inflates.

Density: the piecewise exponential model of Vallado, *Fundamentals of Astrodynamics and Applications* (4th ed.
2013), Table 8-4 (the same values as Wertz, *Spacecraft Attitude Determination and Control*, p. 820): the U.S.
Standard Atmosphere 1976 below 25 km and CIRA-72 above, base altitudes 0-1000 km with a scale height for each
band. Altitude is geodetic above the Earth's ellipsoid (``BODY399_RADII``).

Earth rotation: the ITRF93 orientation is read from SPICE (EOP binary PCK) at one reference epoch and advanced
by the uniform rotation SPICE gives over the next half hour (mm-level over an entry); the touchdown point itself
is converted with SPICE's own ITRF93 at the touchdown epoch.

The guidance is an open-loop bank profile (:class:`BankProfile`): signed bank angles for the first dip (reversed at
its bottom), the second entry and the final glide, switched at the pull-up, the skip apex and a set air speed (a
sign change is a bank reversal). :func:`solve_bank` finds the
three angles (trust-region least squares, then Gauss-Newton, on fixed-step forward differences) so the capsule
touches down at a target point and time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import spiceypy
from scipy.integrate import solve_ivp

from viewer.errors import ViewerError
from viewer.trajectory import engine, forces

G0 = forces.G0  # m/s^2, standard gravity (for g loads)

# Vallado (2013) Table 8-4: base altitude (km), nominal density at the base (kg/m^3), scale height (km)
ATMOSPHERE_TABLE = (
    (0.0, 1.225, 7.249), (25.0, 3.899e-2, 6.349), (30.0, 1.774e-2, 6.682), (40.0, 3.972e-3, 7.554),
    (50.0, 1.057e-3, 8.382), (60.0, 3.206e-4, 7.714), (70.0, 8.770e-5, 6.549), (80.0, 1.905e-5, 5.799),
    (90.0, 3.396e-6, 5.382), (100.0, 5.297e-7, 5.877), (110.0, 9.661e-8, 7.263), (120.0, 2.438e-8, 9.473),
    (130.0, 8.484e-9, 12.636), (140.0, 3.845e-9, 16.149), (150.0, 2.070e-9, 22.523), (180.0, 5.464e-10, 29.740),
    (200.0, 2.789e-10, 37.105), (250.0, 7.248e-11, 45.546), (300.0, 2.418e-11, 53.628), (350.0, 9.518e-12, 53.298),
    (400.0, 3.725e-12, 58.515), (450.0, 1.585e-12, 60.828), (500.0, 6.967e-13, 63.822), (600.0, 1.454e-13, 71.835),
    (700.0, 3.614e-14, 88.667), (800.0, 1.170e-14, 124.64), (900.0, 5.245e-15, 181.05), (1000.0, 3.019e-15, 268.00),
)
_BASES = [row[0] for row in ATMOSPHERE_TABLE]
TOP_OF_ATMOSPHERE_KM = 1000.0


class EntryError(ViewerError):
    """The entry problem has no solution within the model's bounds."""


def density(h_km: float) -> float:
    """Air density (kg/m^3) at geodetic altitude ``h_km``; 0 above 1000 km; the sea-level band below 0 km."""
    if h_km >= TOP_OF_ATMOSPHERE_KM:
        return 0.0
    i = max(0, _bisect(h_km))
    h0, rho0, scale = ATMOSPHERE_TABLE[i]
    return rho0 * math.exp(-(h_km - h0) / scale)


def _bisect(h_km: float) -> int:
    lo, hi = 0, len(_BASES) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _BASES[mid] <= h_km:
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---------------------------------------------------------------------------------------------- Earth shape/spin


class EarthFrame:
    """ITRF93 <-> J2000 about one epoch, and geodetic coordinates.

    The Earth-fixed frame's orientation is SPICE's (EOP binary PCK) at ``et_ref``; its motion is a uniform
    rotation about the axis and at the rate SPICE gives over the next half hour (spin plus precession,
    nutation and polar motion as they act over that half hour): within a few mm of SPICE over an entry."""

    SPAN_S = 1800.0

    def __init__(self, et_ref: float):
        forces.ensure_generic_kernels()
        self.et_ref = float(et_ref)
        self.frame = forces.pole_frame("EARTH")
        self.r0 = np.asarray(spiceypy.pxform(self.frame, "J2000", self.et_ref))  # fixed -> inertial at et_ref
        r1 = np.asarray(spiceypy.pxform(self.frame, "J2000", self.et_ref + self.SPAN_S))
        axis, angle = spiceypy.raxisa(r1 @ self.r0.T)
        self.axis = np.asarray(axis, dtype=float)
        self.rate = float(angle) / self.SPAN_S  # rad/s (the axis is the sense of the rotation)
        self.pole = self.r0[:, 2].copy()
        self.omega = self.rate * self.axis  # rad/s, J2000
        radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
        self.a = float(radii[0])
        self.b = float(radii[2])
        self.flat = (self.a - self.b) / self.a
        self.e2 = 1.0 - (self.b / self.a) ** 2
        self.ep2 = (self.a / self.b) ** 2 - 1.0

    def _turn(self, v, ang: float) -> tuple[float, float, float]:
        """Rotate a J2000 vector by ``ang`` rad about the spin axis (Rodrigues)."""
        kx, ky, kz = self.axis
        x, y, z = v
        c, s = math.cos(ang), math.sin(ang)
        d = (kx * x + ky * y + kz * z) * (1.0 - c)
        return (x * c + (ky * z - kz * y) * s + kx * d, y * c + (kz * x - kx * z) * s + ky * d,
                z * c + (kx * y - ky * x) * s + kz * d)

    def to_fixed(self, et: float, r) -> np.ndarray:
        """Position (km) from J2000 to the Earth-fixed frame at ``et``."""
        back = self._turn(np.asarray(r, dtype=float).tolist(), -self.rate * (float(et) - self.et_ref))
        return self.r0.T @ np.array(back)

    def to_inertial(self, et: float, r_fixed) -> np.ndarray:
        """Position (km) from the Earth-fixed frame at ``et`` to J2000."""
        at_ref = (self.r0 @ np.asarray(r_fixed, dtype=float)).tolist()
        return np.array(self._turn(at_ref, self.rate * (float(et) - self.et_ref)))

    def geodetic_fixed(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """(lat rad, lon rad, height km) of an Earth-fixed point (Bowring's formula, mm-accurate near the surface)."""
        a, b = self.a, self.b
        p = math.hypot(x, y)
        th = math.atan2(z * a, p * b)
        st, ct = math.sin(th), math.cos(th)
        lat = math.atan2(z + self.ep2 * b * st ** 3, p - self.e2 * a * ct ** 3)
        sl = math.sin(lat)
        n = a / math.sqrt(1.0 - self.e2 * sl * sl)
        cl = math.cos(lat)
        h = p / cl - n if abs(cl) > 1e-9 else abs(z) - b
        return lat, math.atan2(y, x), h

    def altitude(self, et: float, x: float, y: float, z: float) -> float:
        """Geodetic height (km) of a J2000 position at ``et`` (hot path: plain floats)."""
        x, y, z = self._turn((x, y, z), -self.rate * (et - self.et_ref))
        m = self.r0
        fx = m[0, 0] * x + m[1, 0] * y + m[2, 0] * z
        fy = m[0, 1] * x + m[1, 1] * y + m[2, 1] * z
        fz = m[0, 2] * x + m[1, 2] * y + m[2, 2] * z
        return self.geodetic_fixed(fx, fy, fz)[2]

    def geodetic(self, et: float, r) -> tuple[float, float, float]:
        """(lat deg, lon deg east, height km) of a J2000 position at ``et``."""
        lat, lon, h = self.geodetic_fixed(*self.to_fixed(et, r))
        return math.degrees(lat), math.degrees(lon), h

    def surface_point(self, lat_deg: float, lon_deg: float, h_km: float) -> np.ndarray:
        """Earth-fixed position (km) of a geodetic point."""
        return np.asarray(spiceypy.georec(math.radians(lon_deg), math.radians(lat_deg), h_km, self.a, self.flat))

    def local_axes(self, et: float, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Geodetic east, north, up unit vectors (J2000) at a J2000 position."""
        lat, lon, _ = self.geodetic_fixed(*self.to_fixed(et, r))
        up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        east = np.array([-math.sin(lon), math.cos(lon), 0.0])
        north = np.cross(up, east)
        ang = self.rate * (float(et) - self.et_ref)
        return tuple(np.array(self._turn((self.r0 @ u).tolist(), ang)) for u in (east, north, up))

    def air_velocity(self, r, v) -> np.ndarray:
        """Velocity relative to the air that turns with the Earth (km/s, J2000 axes)."""
        return np.asarray(v, dtype=float) - np.cross(self.omega, np.asarray(r, dtype=float))


def flight_angles(frame: EarthFrame, et: float, state, relative: bool = False) -> tuple[float, float, float]:
    """(speed km/s, flight-path angle deg, heading deg from north) of a J2000 state, inertial or air-relative."""
    r, v = np.asarray(state[:3], dtype=float), np.asarray(state[3:6], dtype=float)
    if relative:
        v = frame.air_velocity(r, v)
    east, north, up = frame.local_axes(et, r)
    speed = float(np.linalg.norm(v))
    gamma = math.degrees(math.asin(float(v @ up) / speed))
    heading = math.degrees(math.atan2(float(v @ east), float(v @ north))) % 360.0
    return speed, gamma, heading


# ---------------------------------------------------------------------------------------------- vehicle, guidance


@dataclass(frozen=True)
class Capsule:
    """The returner as the entry model sees it (all values from assets/trajectory/return.yaml)."""

    mass_kg: float
    beta_kg_m2: float  # ballistic coefficient m / (Cd A), hypersonic
    lift_to_drag: float
    chute_alt_km: float  # drogue opens at this geodetic height (descending)
    drogue_cda_m2: float
    drogue_s: float  # drogue alone for this long, then the main canopy
    main_cda_m2: float
    main_inflation_s: float  # the main's drag area grows linearly to full over this time
    ground_km: float  # geodetic height of the landing ground
    lift_fade_km_s: tuple[float, float] = (0.5, 1.0)  # lift falls linearly to zero between these air speeds

    @property
    def capsule_cda_m2(self) -> float:
        return self.mass_kg / self.beta_kg_m2


@dataclass(frozen=True)
class BankProfile:
    """Open-loop bank in up to four guidance phases, switched by flight events (as entry guidance is):

    0. from the entry interface down to the bottom of the first dip (the pull-up),
    1. the climb out of the dip, to its top (the skip apex, or the peak of the climb if the capsule stays in the
       air),
    2. the second entry, until the air speed drops below ``switch_speed_km_s``,
    3. the final glide.

    ``sigmas_deg[k]`` is the signed bank angle of phase k (deg; positive = lift to the right of the flight
    direction, negative = left, 0 = lift up); a sign change between phases is a bank reversal. With fewer angles
    the last one holds to the end."""

    sigmas_deg: tuple[float, ...]
    switch_speed_km_s: float = 5.0

    def bank(self, phase: int) -> float:
        return math.radians(self.sigmas_deg[min(phase, len(self.sigmas_deg) - 1)])

    def with_values(self, sigmas) -> "BankProfile":
        return BankProfile(tuple(float(v) for v in sigmas), self.switch_speed_km_s)


@dataclass
class EntryResult:
    """One flight from the entry interface to touchdown: phases, samples and the events that define them."""

    phases: list[tuple[str, np.ndarray, np.ndarray]]  # (name, ets, J2000 states) each strictly increasing
    events: dict[str, float]  # name -> et
    frame: EarthFrame
    peak_g: float  # peak aerodynamic deceleration of the hypersonic flight (g)
    peak_g_et: float
    chute_peak_g: float
    apex_km: float
    info: dict = field(default_factory=dict)

    @property
    def touchdown_et(self) -> float:
        return self.events["touchdown"]

    @property
    def final_state(self) -> np.ndarray:
        return self.phases[-1][2][-1].copy()

    def touchdown_geodetic(self) -> tuple[float, float, float]:
        return self.frame.geodetic(self.touchdown_et, self.final_state[:3])


# ---------------------------------------------------------------------------------------------- dynamics


class _Flight:
    """Right-hand side of the entry equations (J2000, Earth-centred) with plain-float hot paths."""

    def __init__(self, capsule: Capsule, bank: BankProfile | None, frame: EarthFrame, et_entry: float,
                 full_gravity: bool = True):
        self.c = capsule
        self.bank = bank
        self.phase = 0
        self.f = frame
        self.et_entry = et_entry
        self.grav = forces.model("EARTH").accel if full_gravity else self._earth_j2

    def _earth_j2(self, t, x, y, z):
        """Earth point mass + J2 only (for the solvers; the Sun and Moon move a 30 min entry by < 10 m)."""
        mu = forces.gm("EARTH") if not hasattr(self, "_mu") else self._mu
        self._mu = mu
        r2 = x * x + y * y + z * z
        r3 = r2 * math.sqrt(r2)
        j, rad = forces.J2["EARTH"]
        jx, jy, jz = forces.j2_accel(x, y, z, mu, j, rad, self.f.pole)
        return -mu * x / r3 + jx, -mu * y / r3 + jy, -mu * z / r3 + jz
        self.chute_et = None  # set when the drogue opens

    def aero(self, t, y, parachute: bool):
        x, yy, z, vx, vy, vz = y.tolist() if isinstance(y, np.ndarray) else y
        h = self.f.altitude(t, x, yy, z)
        rho = density(h)
        wx, wy, wz = self.f.omega
        ux, uy, uz = vx - (wy * z - wz * yy), vy - (wz * x - wx * z), vz - (wx * yy - wy * x)
        vr = math.sqrt(ux * ux + uy * uy + uz * uz)
        if parachute:
            cda = self.c.capsule_cda_m2 + self.c.drogue_cda_m2
            tt = t - self.chute_et - self.c.drogue_s
            if tt > 0:
                cda += self.c.main_cda_m2 * min(1.0, tt / self.c.main_inflation_s)
            k = 0.5 * rho * cda / self.c.mass_kg  # 1/m
            q = k * vr * 1000.0  # (1/m)(m/s) -> 1/s ; times v_rel (km/s) gives km/s^2
            return -q * ux, -q * uy, -q * uz, h
        k = 0.5 * rho / self.c.beta_kg_m2
        drag = k * vr * 1000.0
        ax, ay, az = -drag * ux, -drag * uy, -drag * uz
        lo, hi = self.c.lift_fade_km_s
        fade = 1.0 if vr >= hi else max(0.0, (vr - lo) / (hi - lo))
        if self.bank is not None and drag > 0.0 and fade > 0.0:
            lift = self.c.lift_to_drag * drag * vr * fade  # km/s^2
            r = math.sqrt(x * x + yy * yy + z * z)
            ex, ey, ez = ux / vr, uy / vr, uz / vr
            rx, ry, rz = x / r, yy / r, z / r
            d = rx * ex + ry * ey + rz * ez
            px, py, pz = rx - d * ex, ry - d * ey, rz - d * ez  # "up", perpendicular to v_rel
            pn = math.sqrt(px * px + py * py + pz * pz)
            px, py, pz = px / pn, py / pn, pz / pn
            sx, sy, sz = ey * pz - ez * py, ez * px - ex * pz, ex * py - ey * px  # right = forward x up
            sig = self.bank.bank(self.phase)
            cs, sn = math.cos(sig), math.sin(sig)
            ax += lift * (cs * px + sn * sx)
            ay += lift * (cs * py + sn * sy)
            az += lift * (cs * pz + sn * sz)
        return ax, ay, az, h

    def rhs(self, parachute: bool):
        grav = self.grav

        def f(t, y):
            y = y.tolist()
            gx, gy, gz = grav(t, y[0], y[1], y[2])
            ax, ay, az, _ = self.aero(t, y, parachute)
            return [y[3], y[4], y[5], gx + ax, gy + ay, gz + az]

        return f


def _alt_event(flight: _Flight, level_km: float, direction: float, terminal: bool):
    def ev(t, y):
        return flight.f.altitude(t, float(y[0]), float(y[1]), float(y[2])) - level_km

    ev.direction = direction
    ev.terminal = terminal
    return ev


def fly(state0, et0: float, capsule: Capsule, bank: BankProfile, *, interface_km: float = 120.0,
        max_flight_s: float = 3600.0, sample_s: float | None = 1.0, rtol: float = 1e-10,
        full_gravity: bool = True) -> EntryResult:
    """Fly from the entry interface (``state0`` J2000 Earth-centred at ``et0``) to touchdown.

    ``sample_s``: spacing of the returned samples (the integrator's dense output), or None for a fast flight for
    solvers (integrator steps only; no load figures). Raises :class:`EntryError` if the capsule does not land
    within ``max_flight_s`` or skips out for good.
    """
    frame = EarthFrame(et0)
    fl = _Flight(capsule, bank, frame, et0, full_gravity)
    y0 = np.asarray(state0, dtype=float).reshape(6)
    atol = np.array([1e-7] * 3 + [1e-10] * 3)
    events = {"entry_interface": float(et0)}
    t_end = et0 + max_flight_s

    # hypersonic flight in pieces split at the guidance-phase switches; events: skip crossings, chute altitude
    ev_chute = _alt_event(fl, capsule.chute_alt_km, -1.0, True)
    ev_out = _alt_event(fl, interface_km, 1.0, False)
    ev_in = _alt_event(fl, interface_km, -1.0, False)

    def ev_top(t, y):  # radial velocity: + -> - at the top of a climb
        return float(y[0] * y[3] + y[1] * y[4] + y[2] * y[5])

    def ev_bottom(t, y):  # radial velocity: - -> + at the bottom of the dip
        return float(y[0] * y[3] + y[1] * y[4] + y[2] * y[5])

    ev_top.direction, ev_top.terminal = -1.0, True
    ev_bottom.direction, ev_bottom.terminal = 1.0, True

    def ev_slow(t, y):
        return float(np.linalg.norm(fl.f.air_velocity(y[:3], y[3:6]))) - bank.switch_speed_km_s

    ev_slow.direction, ev_slow.terminal = -1.0, True
    switches = [ev_bottom, ev_top, ev_slow]
    t, y = float(et0), y0
    sols = []
    chute = False
    while t < t_end:
        evs = [ev_chute, ev_out, ev_in] + ([switches[fl.phase]] if fl.phase < len(switches) else [])
        sol = solve_ivp(fl.rhs(False), (t, t_end), y, method="DOP853", rtol=rtol, atol=atol, dense_output=True,
                        events=evs)
        if sol.status < 0:
            raise EntryError(f"entry integration failed: {sol.message}")
        sols.append(sol)
        if sol.t_events[1].size and "skip_out" not in events:
            events["skip_out"] = float(sol.t_events[1][0])
        if "skip_out" in events and "second_entry" not in events:
            later = sol.t_events[2][sol.t_events[2] > events["skip_out"]]
            if later.size:
                events["second_entry"] = float(later[0])
        t, y = float(sol.t[-1]), sol.y[:, -1]
        if sol.status != 1:
            break
        if sol.t_events[0].size:  # chute altitude reached
            events["parachute"] = t
            chute = True
            break
        events[("pull_up", "guidance_apex", "guidance_final_glide")[fl.phase]] = t
        fl.phase += 1
    if not chute:
        raise EntryError(f"the capsule did not descend to {capsule.chute_alt_km} km within {max_flight_s:.0f} s "
                         "(it skipped out or the bank profile holds it up)")
    apex_t, apex_h = _apex(sols, frame)
    if "skip_out" in events and "second_entry" in events:
        events["skip_apex"] = apex_t
    fl.phase = len(bank.sigmas_deg)

    events["main_chute"] = t + capsule.drogue_s
    csols, events["touchdown"] = _fly_chutes(fl, capsule, t, y, t_end, rtol, atol, max_flight_s)
    hyper = _stitch(sols, sample_s)
    chute_samples = _stitch(csols, sample_s)
    phases = [("hypersonic", hyper[0], hyper[1]), ("parachute", chute_samples[0], chute_samples[1])]
    peak_a, peak_t, chute_g = _loads(fl, hyper, chute_samples) if sample_s else (float("nan"),) * 3
    return EntryResult(phases, events, frame, peak_a, peak_t, chute_g, apex_h)


def _fly_chutes(fl, capsule, t, y, t_end, rtol, atol, max_flight_s):
    """Under the parachutes from (t, y): drogue, then the main canopy inflating (integration split at the kinks);
    returns the integrator solutions and the touchdown epoch."""
    fl.chute_et = t
    ev_ground = _alt_event(fl, capsule.ground_km, -1.0, True)
    csols = []
    for stop in (t + capsule.drogue_s, t + capsule.drogue_s + capsule.main_inflation_s, t_end):
        sol = solve_ivp(fl.rhs(True), (t, stop), y, method="DOP853", rtol=rtol, atol=atol, dense_output=True,
                        events=[ev_ground])
        csols.append(sol)
        t, y = float(sol.t[-1]), sol.y[:, -1]
        if sol.status == 1:
            break
    if sol.status != 1:
        raise EntryError(f"the capsule did not touch down within {max_flight_s:.0f} s of entry")
    return csols, t


def _loads(fl, hyper, chute_samples):
    """(peak deceleration in g, its epoch, peak load under the parachutes in g) from the samples."""
    accs = np.array([math.sqrt(sum(a * a for a in fl.aero(tt, yy, False)[:3])) for tt, yy in zip(*hyper)])
    i = int(np.argmax(accs))
    caccs = np.array([math.sqrt(sum(a * a for a in fl.aero(tt, yy, True)[:3])) for tt, yy in zip(*chute_samples)])
    return float(accs[i]) * 1000.0 / G0, float(hyper[0][i]), float(caccs.max()) * 1000.0 / G0


def _apex(sols, frame: EarthFrame) -> tuple[float, float]:
    """Time and height of the highest point after the first pull-up (the skip apex; below the interface when
    the capsule does not skip out, which keeps the figure continuous for the solvers)."""
    from scipy.optimize import minimize_scalar

    t0, t1 = sols[0].t[0], sols[-1].t[-1]
    ts = np.arange(t0, t1, 5.0)

    def state(t):
        for s in sols:
            if s.t[0] <= t <= s.t[-1]:
                return s.sol(t)
        return sols[-1].y[:, -1]

    hs = np.array([frame.altitude(t, *state(t)[:3]) for t in ts])
    lows = np.nonzero((hs[1:-1] < hs[:-2]) & (hs[1:-1] <= hs[2:]))[0]
    if not lows.size:
        return float(t0), float(hs[0])
    i0 = lows[0] + 1
    j = i0 + int(np.argmax(hs[i0:]))
    lo, hi = ts[max(j - 1, 0)], ts[min(j + 1, len(ts) - 1)]
    res = minimize_scalar(lambda t: -frame.altitude(t, *state(t)[:3]), bounds=(lo, hi), method="bounded",
                          options={"xatol": 0.01})
    return float(res.x), float(-res.fun)


def _stitch(sols, sample_s):
    """Samples of consecutive solve_ivp solutions: every ``sample_s`` seconds from dense output plus every step."""
    ts, ys = [], []
    for sol in sols:
        t = sol.t
        if sample_s:
            grid = np.arange(t[0], t[-1], sample_s)
            t = np.union1d(grid, sol.t)
            y = sol.sol(t).T
            y[-1] = sol.y[:, -1]
            y[0] = sol.y[:, 0]
        else:
            y = sol.y.T
        if ts:
            t, y = t[1:], y[1:]
        ts.append(t)
        ys.append(y)
    ets = np.concatenate(ts)
    sts = np.vstack(ys)
    keep = np.concatenate([[True], np.diff(ets) > 1e-6])
    return ets[keep], sts[keep]


# ---------------------------------------------------------------------------------------------- targeting


def landing_miss(result: EntryResult, target_lat: float, target_lon: float) -> tuple[float, float]:
    """(north, east) miss in km of the touchdown point from the target, on the local sphere."""
    lat, lon, _ = result.touchdown_geodetic()
    r = result.frame.a
    dn = math.radians(lat - target_lat) * r
    de = math.radians(((lon - target_lon + 180.0) % 360.0) - 180.0) * r * math.cos(math.radians(target_lat))
    return dn, de


FiniteDifference = engine.FiniteDifference


def newton(f, x0, *, steps, tol: float, what: str, max_iter: int = 12, lower=None, upper=None,
           damped: bool = False) -> np.ndarray:
    """:func:`viewer.trajectory.engine.newton` (fixed forward-difference ``steps``), raising :class:`EntryError`
    naming ``what`` if it does not converge."""
    try:
        return engine.newton(f, x0, what=what, step=steps, tol=tol, max_iter=max_iter, lower=lower, upper=upper,
                             damped=damped)
    except engine.TargetingError:
        raise EntryError(f"{what} did not converge") from None


def solve_bank(state0, et0: float, capsule: Capsule, guess: BankProfile, target_lat: float, target_lon: float,
               target_et: float, *, limit_deg: float = 150.0, tol_km: float = 0.5,
               tol_s: float = 20.0) -> tuple[BankProfile, EntryResult]:
    """Solve a four-phase bank profile so the capsule lands at the target at ``target_et``.

    The first dip flies bank ``s1`` down to the pull-up and ``-s1`` back up (one reversal at the bottom, so the
    dip's cross-range largely cancels while its lift-up share sets the skip); then ``s2`` through the second entry
    and ``s3`` in the final glide (signed: cross-range control stays continuous). Residuals: north and east miss
    (km) and time miss (s), each over its tolerance. Deterministic: scipy's trust-region least squares on
    fixed-step forward differences from ``guess`` (its first, third and fourth angles, with the signs after the skip
that land closest): Gauss-Newton, and where that stalls scipy's trust-region least squares, then Gauss-Newton.
    Raises :class:`EntryError` when it does not converge.
    """
    if len(guess.sigmas_deg) != 4:
        raise ValueError("solve_bank expects a four-phase bank profile")

    def profile(x):
        return guess.with_values((x[0], -x[0], x[1], x[2]))

    def resid(x):
        try:
            r = fly(state0, et0, capsule, profile(x), sample_s=None, rtol=1e-10, full_gravity=False)
        except EntryError:
            return np.array([1e4, 1e4, 1e4])
        dn, de = landing_miss(r, target_lat, target_lon)
        return np.array([dn / tol_km, de / tol_km, (r.touchdown_et - target_et) / tol_s])

    # start from the guess, or (when it lands far off) from the sign pattern after the skip that lands closest
    x0 = np.array([guess.sigmas_deg[0], guess.sigmas_deg[2], guess.sigmas_deg[3]])
    if float(np.max(np.abs(resid(x0)))) * tol_km > 100.0:
        starts = [np.array([x0[0], a * abs(x0[1]), b * abs(x0[2])]) for a in (1.0, -1.0) for b in (1.0, -1.0)]
        x0 = min(starts, key=lambda x: float(np.linalg.norm(resid(x))))
    lo, hi = [-limit_deg] * 3, [limit_deg] * 3
    steps = [0.01, 0.01, 0.01]
    try:  # Gauss-Newton first (quadratic near the guess) ...
        x = newton(resid, np.clip(x0, lo, hi), steps=np.array(steps), tol=1.0, what="the entry bank profile",
                   lower=lo, upper=hi, max_iter=8, damped=True)
    except EntryError:  # ... else the trust region from the start, then Gauss-Newton again
        x1 = engine.solve(resid, x0, what="the entry bank profile", steps=steps, bounds=(lo, hi), x_scale=10.0,
                          max_nfev=25, xtol=1e-8, ftol=1e-8)
        try:
            x = newton(resid, x1, steps=np.array(steps), tol=1.0, what="the entry bank profile", lower=lo,
                       upper=hi, damped=True)
        except EntryError as exc:
            raise EntryError(f"no bank profile lands at the target ({exc}); check entry.* and bank.* in "
                             "assets/trajectory/return.yaml") from None
    prof = profile(x)
    result = fly(state0, et0, capsule, prof)
    dn, de = landing_miss(result, target_lat, target_lon)
    dt = result.touchdown_et - target_et
    if math.hypot(dn, de) > 3 * tol_km or abs(dt) > 3 * tol_s:
        raise EntryError(f"the bank profile misses the target by {math.hypot(dn, de):.1f} km, {dt:+.0f} s in the "
                         "full-accuracy flight; check entry.* in assets/trajectory/return.yaml")
    return prof, result
