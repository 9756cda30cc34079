// Relay chain in the browser: the chain that carries the signal now (source -> Queqiao-2 -> the stations that see
// it), from the tracks' "chain" block (viewer/scene/tracks.py). The same drawing as the stills
// (viewer/scene/relay.py): open legs solid, a blocked leg only as a dashed stub up to the obstruction with its
// words, station names at the Earth's limb, each line clipped to the frame and, where the frame cuts an end off,
// a marker at the frame edge naming that end; a legend of the two styles.
// Loaded before mission_view.js in one module (viewer/ui/components.py); relayDraw is called once per frame.

const RELAY_EDGE_PX = 3;       // a line stops this far inside the frame; its marker sits there
const RELAY_MERGE_PX = 28;     // edge markers (or obstruction words) closer than this share one
const RELAY_DROP_PX = 14;      // words at an end sit this far below it
const RELAY_NEAR = 0.05;       // nothing nearer the camera than this x its distance
const RELAY_CSS = `
.mv-relay { position: absolute; inset: 0; pointer-events: none; font-size: 14px; }
.mv-relay-label { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; color: #bfd9f2;
  text-shadow: 0 0 3px #000, 0 0 6px #000; }
.mv-relay-label[data-kind="reason"] { color: #ff7b70; }
.mv-relay-marker { position: absolute; width: 0; height: 0; }
.mv-relay-marker > i { position: absolute; left: -7px; top: -6px; width: 0; height: 0; border-top: 6px solid transparent;
  border-bottom: 6px solid transparent; border-left: 13px solid #e6e6e6; transform-origin: 7px 6px; }
.mv-relay-marker > span { position: absolute; white-space: nowrap; color: #eee; text-shadow: 0 0 3px #000, 0 0 6px #000; }
.mv-relay-legend { position: absolute; right: 12px; bottom: 34px; color: #cfcfcf; font-size: 13px; line-height: 1.5;
  text-shadow: 0 0 3px #000; text-align: right; }
.mv-relay-legend svg { vertical-align: middle; margin-left: 6px; }
`;

function relayPrepare(raw) {
  if (!raw || !raw.legs || !raw.t) return null;
  const legs = {};
  for (const [name, a] of Object.entries(raw.legs)) {
    legs[name] = {from: a.from, to: a.to, from_name: a.from_name, to_name: a.to_name, sphere_km: a.sphere_km,
                  state: decode(a.state), stub: decode(a.stub)};
  }
  const stations = {};
  for (const [sid, s] of Object.entries(raw.stations || {})) stations[sid] = {name: s.name, limb: decode(s.limb)};
  return {t: decode(raw.t), limb_t: decode(raw.limb_t), legs, stations, reasons: raw.reasons,
          reason_text: raw.reason_text, legend: raw.legend, stub_max_km: raw.stub_max_km,
          earth_sphere_km: raw.earth_sphere_km};
}

const rv = {
  sub: (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]],
  add: (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]],
  mul: (a, s) => [a[0] * s, a[1] * s, a[2] * s],
  dot: (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2],
  cross: (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]],
  unit: (a) => { const n = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / n, a[1] / n, a[2] / n]; },
  lerp: (a, b, t) => [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])],
};

// camera basis and pixel projection (the same arithmetic as viewer.scene.relay.Camera)
function relayCamera(ren, W, H) {
  const c = ren.getActiveCamera();
  const pos = c.getPosition(), fp = c.getFocalPoint();
  const fwd = rv.unit(rv.sub(fp, pos));
  let up = c.getViewUp();
  up = rv.unit(rv.sub(up, rv.mul(fwd, rv.dot(up, fwd))));
  const right = rv.cross(fwd, up);
  const tv = Math.tan(c.getViewAngle() * Math.PI / 360), th = tv * W / H;
  const dist = Math.hypot(...rv.sub(fp, pos));
  const pixels = (p) => {
    const v = rv.sub(p, pos), z = rv.dot(v, fwd);
    return [(rv.dot(v, right) / (z * th) + 1) * 0.5 * W, (1 - rv.dot(v, up) / (z * tv)) * 0.5 * H];
  };
  return {pos, fwd, up, right, tv, th, dist, W, H, pixels};
}

// fractions [t0, t1] of a -> b in front of the camera and inside the frame (Liang-Barsky), or null
function relayClip(a, b, cam) {
  const th = cam.th * (1 - 2 * RELAY_EDGE_PX / cam.W), tv = cam.tv * (1 - 2 * RELAY_EDGE_PX / cam.H);
  const va = rv.sub(a, cam.pos), vb = rv.sub(b, cam.pos);
  const planes = [
    (v) => rv.dot(v, cam.fwd) * th - rv.dot(v, cam.right), (v) => rv.dot(v, cam.fwd) * th + rv.dot(v, cam.right),
    (v) => rv.dot(v, cam.fwd) * tv - rv.dot(v, cam.up), (v) => rv.dot(v, cam.fwd) * tv + rv.dot(v, cam.up),
    (v) => rv.dot(v, cam.fwd) - RELAY_NEAR * cam.dist,
  ];
  let t0 = 0, t1 = 1;
  for (const g of planes) {
    const ga = g(va), gb = g(vb);
    if (ga < 0 && gb < 0) return null;
    if (ga < 0) t0 = Math.max(t0, ga / (ga - gb));
    else if (gb < 0) t1 = Math.min(t1, ga / (ga - gb));
  }
  return t1 > t0 ? [t0, t1] : null;
}

// fraction along a -> b where the segment enters the sphere (centre c, radius r), or null
function relaySphereEntry(a, b, c, r) {
  const d = rv.sub(b, a), m = rv.sub(a, c);
  const A = rv.dot(d, d), B = 2 * rv.dot(m, d), C = rv.dot(m, m) - r * r;
  const disc = B * B - 4 * A * C;
  if (A <= 0 || disc < 0) return null;
  const t = (-B - Math.sqrt(disc)) / (2 * A);
  return t >= 0 && t <= 1 ? t : (C <= 0 ? 0 : null);
}

function relayIndex(t, et) {
  let lo = 0, hi = t.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] <= et) lo = m + 1; else hi = m; }
  return Math.max(0, Math.min(t.length - 1, lo - 1));
}

// the chain's drawn legs at et in render units: [{id, open, reason, a, b, aEnd, bEnd, reasonText, midAir}]
function relayLegs(ch, et, ctx) {
  const j = relayIndex(ch.t, et), out = [];
  const k = ctx.unitsPerKm, lang = ctx.lang;
  for (const [name, lg] of Object.entries(ch.legs)) {
    const state = lg.state[j];  // bit 0 shown, bit 1 open, bits 2-4: 1 + reason index
    if (!(state & 1)) continue;
    const pa = ctx.endpoint(lg.from), pb = ctx.endpoint(lg.to);
    if (!pa || !pb) continue;
    const aName = lg.from_name[lang] || lg.from_name.en, bName = lg.to_name[lang] || lg.to_name.en;
    const aEnd = {key: lg.from, name: aName}, bEnd = {key: lg.to, name: bName};
    if (state & 2) { out.push({id: name, open: true, a: pa, b: pb, aEnd, bEnd}); continue; }
    const reason = ch.reasons[(state >> 2) - 1];
    if (!reason || reason === "out_of_range") continue;
    let f1 = lg.stub[j] / 32767;
    if (reason === "moon_limb" && ctx.poses.moon) f1 = relaySphereEntry(pa, pb, ctx.poses.moon.p, lg.sphere_km * k);
    if (reason === "earth_limb" && ctx.poses.earth) f1 = relaySphereEntry(pa, pb, ctx.poses.earth.p, ch.earth_sphere_km * k);
    if (f1 == null || !(f1 > 0)) continue;
    const L = Math.hypot(...rv.sub(pb, pa));
    const f0 = Math.max(0, f1 - ch.stub_max_km * k / Math.max(L, 1e-9));
    const words = ch.reason_text[reason] || {};
    out.push({id: name, open: false, reason, a: rv.lerp(pa, pb, f0), b: rv.lerp(pa, pb, f1),
              aEnd, midAir: f0 > 0, bEnd: {key: "reason:" + reason, name: bName},
              reasonText: words[lang] || words.en || reason});
  }
  return out;
}

function relayLimbLabels(ch, et, ctx, cam, legs, out) {
  const earth = ctx.poses.earth;
  if (!earth || !ch.limb_t || !ch.limb_t.length) return;
  const t = ch.limb_t, j = relayIndex(t, et), R = ctx.earthRadiusKm * ctx.unitsPerKm;
  const j1 = Math.min(j + 1, t.length - 1), u = j1 > j ? Math.min(Math.max((et - t[j]) / (t[j1] - t[j]), 0), 1) : 0;
  for (const leg of legs) {
    if (!leg.open || !String(leg.bEnd.key).startsWith("STATION:")) continue;
    const sid = leg.bEnd.key.slice(8), st = ch.stations[sid];
    if (!st) continue;
    const d = rv.unit(rv.lerp([0, 1, 2].map(c => st.limb[3 * j + c]), [0, 1, 2].map(c => st.limb[3 * j1 + c]), u));
    const anchor = rv.add(earth.p, rv.mul(d, R));
    if (rv.dot(rv.sub(anchor, cam.pos), cam.fwd) <= 0) continue;
    const xy = cam.pixels(anchor);
    if (!(xy[0] >= 0 && xy[0] <= cam.W && xy[1] >= 0 && xy[1] <= cam.H)) continue;
    let s = [rv.dot(d, cam.right), -rv.dot(d, cam.up)];
    const n = Math.hypot(s[0], s[1]) || 1; s = [s[0] / n, s[1] / n];
    let x = xy[0] + s[0] * 14, y = xy[1] + s[1] * 14;
    while (out.some(q => q.kind === "station" && Math.abs(q.y - y) < 16 && Math.abs(q.x - x) < 80)) y += s[1] >= 0 ? 16 : -16;
    out.push({x, y, text: st.name[ctx.lang] || st.name.en, kind: "station"});
  }
}

function relayMerge(items, keyOf) {
  const out = [];
  for (const it of items) {
    const m = out.find(o => keyOf(o) === keyOf(it) && Math.abs(o.x - it.x) < RELAY_MERGE_PX && Math.abs(o.y - it.y) < RELAY_MERGE_PX);
    if (m) { if (!m.names.includes(it.name)) m.names.push(it.name); } else out.push({...it, names: [it.name]});
  }
  return out;
}

// the layout on screen: {lines: [{id, open, t0, t1, a, b, xy: [[x, y], [x, y]], cut: [bool, bool]}], labels, markers}
function relayLayout(legs, cam, ch, et, ctx) {
  const lines = [], edge = [], why = [], labels = [];
  for (const leg of legs) {
    const span = relayClip(leg.a, leg.b, cam);
    if (!span) continue;
    const [t0, t1] = span;
    const pa = rv.lerp(leg.a, leg.b, t0), pb = rv.lerp(leg.a, leg.b, t1);
    const xy = [cam.pixels(pa), cam.pixels(pb)], mid = cam.pixels(rv.lerp(leg.a, leg.b, 0.5 * (t0 + t1)));
    lines.push({id: leg.id, open: leg.open, t0, t1, a: pa, b: pb, xy, cut: [t0 > 0, t1 < 1]});
    [[0, leg.aEnd, t0 > 0], [1, leg.bEnd, t1 < 1]].forEach(([i, end, cut]) => {
      if (!end) return;
      const p = xy[i];
      if (cut) {
        const d = [p[0] - mid[0], p[1] - mid[1]], n = Math.hypot(d[0], d[1]) || 1;
        const name = end.name + (i === 1 && leg.reason ? ": " + leg.reasonText : "");
        edge.push({x: p[0], y: p[1], dx: d[0] / n, dy: d[1] / n, name, kind: "edge"});
      } else if (i === 0 && leg.midAir) {
        // a long stub's start in mid-air: nothing to name
      } else if (i === 1 && leg.reason) {
        why.push({x: p[0], y: p[1] + RELAY_DROP_PX, name: end.name, reason: leg.reasonText});
      } else if (!String(end.key).startsWith("STATION:") && !ctx.labelled(end.key, p)) {
        labels.push({x: p[0], y: p[1] - RELAY_DROP_PX, text: end.name, kind: "vehicle"});
      }
    });
  }
  for (const w of relayMerge(why, o => o.reason)) labels.push({x: w.x, y: w.y, text: `${w.names.join(" · ")}: ${w.reason}`, kind: "reason"});
  relayLimbLabels(ch, et, ctx, cam, legs, labels);
  const markers = relayMerge(edge, o => o.kind).map(m => ({x: m.x, y: m.y, dx: m.dx, dy: m.dy, text: m.names.join(" · ")}));
  return {lines, labels, markers};
}

function relaySetLine(act, a, b, open, style) {
  const pd = act.getMapper().getInputData();
  const n = pd.getPoints().getNumberOfPoints();
  const pts = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) { const u = n > 1 ? i / (n - 1) : 0; for (let c = 0; c < 3; c++) pts[3 * i + c] = a[c] + u * (b[c] - a[c]); }
  pd.getPoints().setData(pts, 3);
  let cells;
  if (open) { cells = new Uint32Array(n + 1); cells[0] = n; for (let i = 0; i < n; i++) cells[i + 1] = i; }
  else { const s = Math.floor(n / 2); cells = new Uint32Array(3 * s); for (let i = 0; i < s; i++) { cells[3 * i] = 2; cells[3 * i + 1] = 2 * i; cells[3 * i + 2] = 2 * i + 1; } }
  pd.getLines().setData(cells, 1);
  if (pd.getVerts().getNumberOfValues()) pd.getVerts().setData(new Uint32Array(0), 1);
  const st = style && (open ? style.open : style.blocked);
  if (st) { act.getProperty().setColor(...hexRGB(st.colour)); act.getProperty().setLineWidth(st.width); }
  pd.modified();
  if (!act.getVisibility()) act.setVisibility(true);
}

function relayEsc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

function relayHtml(lay, ch, ctx) {
  let html = "";
  for (const l of lay.labels) {
    html += `<div class="mv-relay-label" data-kind="${l.kind}" style="left:${l.x.toFixed(1)}px;top:${l.y.toFixed(1)}px">${relayEsc(l.text)}</div>`;
  }
  for (const m of lay.markers) {
    const ang = Math.atan2(m.dy, m.dx) * 180 / Math.PI;
    const tx = m.dx > 0.5 ? "right:20px;" : m.dx < -0.5 ? "left:20px;" : "left:0;transform:translateX(-50%);";
    const ty = m.dy > 0.5 ? "bottom:12px;" : m.dy < -0.5 ? "top:12px;" : "top:-9px;";
    html += `<div class="mv-relay-marker" data-x="${m.x.toFixed(1)}" data-y="${m.y.toFixed(1)}" data-name="${relayEsc(m.text)}" ` +
            `style="left:${m.x.toFixed(1)}px;top:${m.y.toFixed(1)}px"><i style="transform:rotate(${ang.toFixed(0)}deg)"></i>` +
            `<span style="${tx}${ty}">${relayEsc(m.text)}</span></div>`;
  }
  if (lay.lines.length || ctx.anyLeg) {
    const w = (k) => (ch.legend[k] || {})[ctx.lang] || (ch.legend[k] || {}).en || k;
    const st = ctx.style || {}, oc = (st.open || {}).colour || "#2A8FD8", bc = (st.blocked || {}).colour || "#E8453C";
    html += `<div class="mv-relay-legend"><div>${relayEsc(w("open"))}<svg width="34" height="6"><line x1="0" y1="3" x2="34" y2="3" stroke="${oc}" stroke-width="2"/></svg></div>` +
            `<div>${relayEsc(w("blocked"))}<svg width="34" height="6"><line x1="0" y1="3" x2="34" y2="3" stroke="${bc}" stroke-width="2" stroke-dasharray="5 4"/></svg></div></div>`;
  }
  return html;
}

// one frame: lines on the link:<id> actors, words in ctx.layer; returns the layout (window.__ce6.relay)
function relayDraw(ch, et, b, ctx) {
  if (!ctx.layer.__styled) { const s = document.createElement("style"); s.textContent = RELAY_CSS; ctx.layer.before(s); ctx.layer.__styled = true; }
  const lay = {lines: [], labels: [], markers: []};
  const drawn = new Set();
  if (ch && ctx.show && ctx.W && ctx.H) {
    const cam = relayCamera(b.ren, ctx.W, ctx.H);
    const legs = relayLegs(ch, et, ctx);
    Object.assign(lay, relayLayout(legs, cam, ch, et, ctx));
    ctx.anyLeg = legs.length > 0;
    for (const l of lay.lines) {
      const list = b.actors[l.id];
      if (!list) continue;
      for (const act of list) relaySetLine(act, l.a, l.b, l.open, ctx.style);
      drawn.add(l.id);
    }
  }
  for (const [name, list] of Object.entries(b.actors)) {
    if (name.startsWith("link:") && !drawn.has(name)) for (const act of list) if (act.getVisibility()) act.setVisibility(false);
  }
  const html = ch && ctx.show ? relayHtml(lay, ch, ctx) : "";
  if (ctx.layer.__html !== html) { ctx.layer.innerHTML = html; ctx.layer.__html = html; }
  return lay;
}
