// Smooth trails for the camera in use: a vehicle's cubic Hermite curve (its sampled positions and velocities)
// between two times, refined until consecutive on-screen segments turn by at most TRAIL_MAX_TURN_DEG. The rule and
// the method are the stills' (viewer/scene/hermite.py `densify`): every vertex whose two segments are both at least
// TRAIL_MIN_PX long turns by at most 2°; first each sample interval is split evenly by how far its on-screen
// tangent turns (at most one piece per TRAIL_MIN_PX of chord), then rounds split, at the Hermite midpoint in time,
// what still breaks the rule, only near the screen.
//
//   const proj = pinhole(camera, W, H);               // world -> on-screen pixels (x right, y down), or NaN
//   const {points, times} = trailPoints(track, lo, hi, proj, W, H);
//   trailOwn(own, et)                                  // false while the vehicle rides in a stack (tracks' runs)

const TRAIL_MAX_TURN_DEG = 2.0, TRAIL_MIN_PX = 1.0, TRAIL_MAX_ROUNDS = 8, TRAIL_MAX_POINTS = 20000;
const TRAIL_SCREEN_MARGIN_PX = 64;

// a pinhole camera like viewer/scene/camera.py `projector`: the vtk.js camera's pose and vertical view angle
// over a W x H picture
export function pinhole(cam, W, H) {
  const pos = cam.getPosition(), fp = cam.getFocalPoint(), up = cam.getViewUp();
  const unit = (v) => { const n = Math.hypot(v[0], v[1], v[2]) || 1; return [v[0] / n, v[1] / n, v[2] / n]; };
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const fwd = unit([fp[0] - pos[0], fp[1] - pos[1], fp[2] - pos[2]]);
  const right = unit(cross(fwd, up)), u = cross(right, fwd);
  const f = 1 / Math.tan(cam.getViewAngle() * Math.PI / 360), aspect = W / H;
  return (x, y, z, out, k) => {
    const dx = x - pos[0], dy = y - pos[1], dz = z - pos[2];
    const cz = dx * fwd[0] + dy * fwd[1] + dz * fwd[2];
    if (!(cz > 1e-9)) { out[k] = NaN; out[k + 1] = NaN; return; }
    out[k] = ((dx * right[0] + dy * right[1] + dz * right[2]) / cz * f / aspect + 1) * 0.5 * W;
    out[k + 1] = H - 1 - ((dx * u[0] + dy * u[1] + dz * u[2]) / cz * f + 1) * 0.5 * H;
  };
}

// the Hermite curve of track `a` (t, p, v) at sorted times `ts`: positions (3 per time) into a Float64Array
function curve(a, ts, derivative) {
  const t = a.t, n = t.length, out = new Float64Array(3 * ts.length);
  let i = 0;
  for (let m = 0; m < ts.length; m++) {
    const x = ts[m];
    while (i < n - 2 && t[i + 1] <= x) i++;
    while (i > 0 && t[i] > x) i--;
    const t0 = t[i], h = t[i + 1] - t0, s = h > 0 ? (x - t0) / h : 0, s2 = s * s, s3 = s2 * s;
    for (let k = 0; k < 3; k++) {
      const p0 = a.p[3 * i + k], p1 = a.p[3 * i + 3 + k], v0 = a.v[3 * i + k], v1 = a.v[3 * i + 3 + k];
      out[3 * m + k] = derivative
        ? ((6 * s2 - 6 * s) * (p0 - p1)) / h + (3 * s2 - 4 * s + 1) * v0 + (3 * s2 - 2 * s) * v1
        : (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * h * v0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * h * v1;
    }
  }
  return out;
}

function projectAll(proj, p) {
  const n = p.length / 3, q = new Float64Array(2 * n);
  for (let m = 0; m < n; m++) proj(p[3 * m], p[3 * m + 1], p[3 * m + 2], q, 2 * m);
  return q;
}

// the turn (deg) at b of the on-screen points a -> b -> c; NaN where a half is under TRAIL_MIN_PX (not judged)
function turnAt(ax, ay, bx, by, cx, cy) {
  const ux = bx - ax, uy = by - ay, vx = cx - bx, vy = cy - by;
  const lu = Math.hypot(ux, uy), lv = Math.hypot(vx, vy);
  if (!(lu >= TRAIL_MIN_PX && lv >= TRAIL_MIN_PX)) return NaN;
  return Math.abs(Math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)) * 180 / Math.PI;
}

// the first pass: each interval [ts[m], ts[m+1]] in as many equal steps as its on-screen tangent turns by
// 0.9 x the limit (at most one step per TRAIL_MIN_PX of chord)
function seed(a, ts, proj) {
  const p = curve(a, ts, false), v = curve(a, ts, true), n = ts.length, q = projectAll(proj, p);
  const qd = new Float64Array(2 * n);
  for (let m = 0; m < n; m++) {
    const h = Math.min(m + 1 < n ? ts[m + 1] - ts[m] : Infinity, m > 0 ? ts[m] - ts[m - 1] : Infinity);
    const e = 1e-3 * (isFinite(h) ? h : 1);
    proj(p[3 * m] + v[3 * m] * e, p[3 * m + 1] + v[3 * m + 1] * e, p[3 * m + 2] + v[3 * m + 2] * e, qd, 2 * m);
  }
  const out = [];
  for (let m = 0; m < n - 1; m++) {
    const d0x = qd[2 * m] - q[2 * m], d0y = qd[2 * m + 1] - q[2 * m + 1];
    const d1x = qd[2 * m + 2] - q[2 * m + 2], d1y = qd[2 * m + 3] - q[2 * m + 3];
    const turn = Math.abs(Math.atan2(d0x * d1y - d0y * d1x, d0x * d1x + d0y * d1y)) * 180 / Math.PI;
    const chord = Math.hypot(q[2 * m + 2] - q[2 * m], q[2 * m + 3] - q[2 * m + 1]);
    let k = Math.min(Math.ceil(turn / (0.9 * TRAIL_MAX_TURN_DEG)), Math.floor(chord / TRAIL_MIN_PX));
    k = isFinite(k) ? Math.max(1, Math.min(512, k)) : 1;
    for (let j = 0; j < k; j++) out.push(ts[m] + (ts[m + 1] - ts[m]) * j / k);
  }
  out.push(ts[n - 1]);
  return out;
}

export function trailPoints(a, lo, hi, proj, W, H) {
  const empty = {points: new Float32Array(0), times: new Float64Array(0)};
  if (!a || a.t.length < 2) return empty;
  const t = a.t, n = t.length;
  lo = Math.max(lo, t[0]); hi = Math.min(hi, t[n - 1]);
  if (!(hi > lo)) return empty;
  const ts = [lo];
  for (let i = 0; i < n; i++) if (t[i] > lo && t[i] < hi) ts.push(t[i]);
  ts.push(hi);
  let tq = seed(a, ts, proj);
  if (tq.length > TRAIL_MAX_POINTS) tq = tq.filter((_, k) => k % Math.ceil(tq.length / TRAIL_MAX_POINTS) === 0 || k === tq.length - 1);
  let pq = curve(a, tq, false);
  const near = (x, y) => x > -TRAIL_SCREEN_MARGIN_PX && x < W + TRAIL_SCREEN_MARGIN_PX &&
                         y > -TRAIL_SCREEN_MARGIN_PX && y < H + TRAIL_SCREEN_MARGIN_PX;
  for (let round = 0; round < TRAIL_MAX_ROUNDS && tq.length < TRAIL_MAX_POINTS; round++) {
    const m = tq.length, mid = new Array(m - 1);
    for (let k = 0; k < m - 1; k++) mid[k] = 0.5 * (tq[k] + tq[k + 1]);
    const pm = curve(a, mid, false), q = projectAll(proj, pq), qm = projectAll(proj, pm);
    const split = new Uint8Array(m - 1);
    for (let k = 1; k < m - 1; k++) {  // a vertex that turns too much: split both its segments
      if (turnAt(q[2 * k - 2], q[2 * k - 1], q[2 * k], q[2 * k + 1], q[2 * k + 2], q[2 * k + 3]) > TRAIL_MAX_TURN_DEG) {
        split[k - 1] = 1; split[k] = 1;
      }
    }
    let any = false;
    for (let k = 0; k < m - 1; k++) {  // the curve inside a segment: the turn its midpoint would make
      if (!split[k] && turnAt(q[2 * k], q[2 * k + 1], qm[2 * k], qm[2 * k + 1], q[2 * k + 2], q[2 * k + 3]) > TRAIL_MAX_TURN_DEG) split[k] = 1;
      if (split[k] && !near(qm[2 * k], qm[2 * k + 1])) split[k] = 0;
      any = any || split[k] === 1;
    }
    if (!any) break;
    const t2 = [], p2 = [];
    for (let k = 0; k < m; k++) {
      t2.push(tq[k]); p2.push(pq[3 * k], pq[3 * k + 1], pq[3 * k + 2]);
      if (k < m - 1 && split[k]) { t2.push(mid[k]); p2.push(pm[3 * k], pm[3 * k + 1], pm[3 * k + 2]); }
    }
    tq = t2; pq = Float64Array.from(p2);
  }
  return {points: Float32Array.from(pq), times: Float64Array.from(tq)};
}

// whether a vehicle draws its own trail at et, from its trail's runs `own` ({t, on}: each run holds until the next
// t): not while it rides in a stack, its parent's trail being the same curve (the stills' rule,
// viewer/scene/frame.py `draws_own_trail`)
export function trailOwn(own, et) {
  if (!own || !own.t.length) return true;
  let lo = 0, hi = own.t.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (own.t[m] <= et) lo = m + 1; else hi = m; }
  return own.on[Math.max(0, lo - 1)] === 1;
}
