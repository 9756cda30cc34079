// Labels and minimum-size markers in the browser: the rule of viewer/scene/placement.py (the stills') on the
// tracks' "labels" block (viewer/scene/tracks.py). One label per thing: the run at the time names the vehicles that
// carry a label (a stack's root stands for its modules: "Chang'e-6 (4 modules)", which splits when they part), then
// the bodies shown (in the site view the Earth's label sits at the tip of the Earth-direction arrow). Each label is
// a box of the text's measured size put at the first free place around its subject: above, right, below, left,
// then the diagonals, `offset` beyond the subject's on-screen radius (or its marker's), then farther rings; inside
// the frame, over no other label, no screen text, its own subject and no other small subject. A label that finds
// no place is left out.
// Loaded in one module with mission_view.js (viewer/ui/components.py), which calls labelsDraw once per drawn frame.
// Cheap per frame: text widths come from a canvas (cached per text and font), the DOM nodes are reused and moved
// by transform, and the layer is read for its font once (and again after fonts load or the language changes).

const LABEL_PAD_PX = 2;            // viewer.scene.placement.PAD_PX: the box's padding around the text
const LABEL_LINE_EM = 1.2;         // viewer.scene.placement.LINE_EM
const LABEL_BODIES = ["earth", "moon"];

function labelsPrepare(raw) {
  if (!raw || !raw.t || !raw.runs) return null;
  return {t: decode(raw.t), runs: raw.runs, bodies: raw.bodies || [], rule: raw.rule || {}};
}

// the run of labels at et (each holds until the next t)
function labelsRun(lab, et) {
  const t = lab.t;
  let lo = 0, hi = t.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] <= et) lo = m + 1; else hi = m; }
  return lab.runs[Math.max(0, lo - 1)] || [];
}

// text widths from a canvas context, in the font the layer's labels use
function labelsMeasure(state, layer) {
  if (!state.font) {
    const probe = document.createElement("div");
    probe.className = "mv-label";
    probe.style.visibility = "hidden";
    layer.append(probe);
    const cs = getComputedStyle(probe);
    state.fontPx = parseFloat(cs.fontSize) || 15;
    state.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    probe.remove();
    state.widths = new Map();
    if (!state.ctx2d) state.ctx2d = document.createElement("canvas").getContext("2d");
    state.ctx2d.font = state.font;
  }
  return (text) => {
    let w = state.widths.get(text);
    if (w === undefined) { w = state.ctx2d.measureText(text).width; state.widths.set(text, w); }
    return [Math.ceil(w) + 2 * LABEL_PAD_PX, Math.ceil(LABEL_LINE_EM * state.fontPx) + 2 * LABEL_PAD_PX];
  };
}

// boxes the screen words take, which labels keep clear of: the relay chain's words, edge markers and legend
// (relay_chain.js, 14 px text; estimated from the same measure) and the scale cue (ctx.scaleBox)
function labelsKeepOut(ctx, measure, fontPx) {
  const out = ctx.scaleBox ? [ctx.scaleBox] : [], k = 14 / fontPx, lay = ctx.relay;
  if (!lay) return out;
  const size = (text) => { const [w, h] = measure(text); return [(w - 2 * LABEL_PAD_PX) * k, 1.2 * 14]; };
  for (const l of lay.labels || []) {
    const [w, h] = size(l.text);
    out.push([l.x - w / 2, l.y - h / 2, l.x + w / 2, l.y + h / 2]);
  }
  for (const m of lay.markers || []) {
    const [w, h] = size(m.text);
    const x0 = m.dx > 0.5 ? m.x - 20 - w : m.dx < -0.5 ? m.x + 20 : m.x - w / 2;
    const y0 = m.dy > 0.5 ? m.y - 12 - h : m.dy < -0.5 ? m.y + 12 : m.y - 9;
    out.push([x0, y0, x0 + w, y0 + h], [m.x - 8, m.y - 8, m.x + 8, m.y + 8]);
  }
  if ((lay.lines || []).length) out.push([ctx.W - 12 - 220, ctx.H - 34 - 42, ctx.W - 12, ctx.H - 34]);  // the legend
  return out;
}

function labelsOverlap(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }

function labelsHits(box, d) {
  const nx = Math.min(Math.max(d.x, box[0]), box[2]), ny = Math.min(Math.max(d.y, box[1]), box[3]);
  return (nx - d.x) ** 2 + (ny - d.y) ** 2 < d.r * d.r;
}

// the first free box around c (viewer.scene.placement._free_box)
function labelsFreeBox(c, gap, bw, bh, W, H, rule, taken, discs) {
  for (const ring of rule.rings || [1, 2, 3, 4.5]) {
    for (const [dx, dy] of rule.candidates || [[0, -1], [1, 0], [0, 1], [-1, 0]]) {
      const n = Math.hypot(dx, dy), ex = c[0] + dx / n * gap * ring, ey = c[1] + dy / n * gap * ring;
      const x0 = dx === 0 ? ex - bw / 2 : dx > 0 ? ex : ex - bw, y0 = dy === 0 ? ey - bh / 2 : dy > 0 ? ey : ey - bh;
      const box = [x0, y0, x0 + bw, y0 + bh];
      if (box[0] < 0 || box[1] < 0 || box[2] > W || box[3] > H) continue;
      if (taken.some(b => labelsOverlap(box, b)) || discs.some(d => labelsHits(box, d))) continue;
      return box;
    }
  }
  return null;
}

// subjects on screen: {actor: {x, y, r (true radius px), shown, mark (ring diameter px or 0)}}; a body or a
// vehicle drawn narrower than the marker gets a ring that wide (rule.marker: min_px, px_at_1080; as the stills)
function labelsSubjects(ctx, run, rule) {
  const mk = rule.marker || {}, markPx = Math.max(mk.min_px || 8, (mk.px_at_1080 || 12) * ctx.H / 1080);
  const out = {};
  const add = (actor, body) => {
    const ps = ctx.poses[actor];
    if (!ps || !ps.vis) return;
    const xy = ctx.project(ps.p);
    if (!xy) return;
    const r = ctx.radiusPx(actor, ps.p, body);
    const shown = body || !ctx.occluded(ps.p, actor);
    out[actor] = {x: xy[0], y: xy[1], r, shown, mark: shown && 2 * r < markPx ? markPx : 0};
  };
  for (const it of run) add(it.actor, false);
  for (const b of LABEL_BODIES) if (ctx.bodies.includes(b)) add(b, true);
  return out;
}

// the labels placed on screen: [{key, actor, text, colour, members, box}], and the markers
function labelsLayout(lab, ctx, measure) {
  const run = labelsRun(lab, ctx.et), rule = lab.rule, W = ctx.W, H = ctx.H;
  const found = labelsSubjects(ctx, run, rule);
  const marks = Object.entries(found).filter(([, s]) => s.mark).map(([a, s]) => ({actor: a, x: s.x, y: s.y, d: s.mark}));
  const discs = {};
  for (const [a, s] of Object.entries(found)) if (s.shown) discs[a] = {x: s.x, y: s.y, r: Math.max(s.r, s.mark / 2)};
  const anchors = [];
  for (const it of run) {
    const s = found[it.actor];
    if (s && s.shown) anchors.push({key: it.key, actor: it.actor, text: it[ctx.lang] || it.en, members: it.members, at: s});
  }
  for (const b of lab.bodies) {
    const s = found[b.actor];
    if (s) anchors.push({key: b.key, actor: b.actor, text: b[ctx.lang] || b.en, members: [], at: s});
    else if (b.actor === "earth" && ctx.arrowTip) {  // the site view: the Earth's label at the arrow's tip
      const xy = ctx.project(ctx.arrowTip);
      if (xy) anchors.push({key: b.key, actor: "arrow", text: b[ctx.lang] || b.en, members: [], at: {x: xy[0], y: xy[1], r: 0}});
    }
  }
  const offset = (rule.offset_px_1080 || 14) * Math.max(H, 360) / 1080;
  const big = (rule.big_fraction || 0.1) * H, taken = labelsKeepOut(ctx, measure, ctx.fontPx), placed = [];
  for (const an of anchors) {
    const c = [an.at.x, an.at.y];
    if (!(c[0] >= 0 && c[0] < W && c[1] >= 0 && c[1] < H)) continue;
    const own = discs[an.actor] ? [discs[an.actor]] : [];
    const others = Object.entries(discs).filter(([a, d]) => a !== an.actor && d.r < big &&
                                                 Math.hypot(c[0] - d.x, c[1] - d.y) > d.r + 1).map(([, d]) => d);
    const [bw, bh] = measure(an.text);
    const radius = own.length ? own[0].r : 0;
    const box = labelsFreeBox(c, radius + offset, bw, bh, W, H, rule, taken, own.concat(others));
    if (!box) continue;
    taken.push(box);
    const nm = ctx.names[an.actor === "arrow" ? "earth" : an.actor] || {};
    placed.push({key: an.key, actor: an.actor, text: an.text, colour: nm.colour || "#ddd", members: an.members, box});
  }
  return {placed, marks};
}

// nodes of one class in a container, reused from frame to frame (hidden when not needed)
function labelsNodes(state, parent, cls, n) {
  const pool = state.pools[cls] || (state.pools[cls] = []);
  while (pool.length < n) {
    const el = document.createElement("div");
    el.className = cls;
    el.style.left = "0px"; el.style.top = "0px";
    parent.append(el);
    pool.push(el);
  }
  for (let i = 0; i < pool.length; i++) {
    const want = i < n ? "" : "none";
    if (pool[i].style.display !== want) pool[i].style.display = want;
  }
  return pool;
}

// a spacecraft's label or ring can be clicked to follow it (follow.js reads data-actors); a body's cannot
function labelsFollowable(actor) { return actor && !["earth", "moon", "arrow"].includes(actor) ? actor : ""; }
function labelsFollowData(el, actor) { if (actor) el.dataset.actors = actor; else delete el.dataset.actors; }

function labelsSet(el, key, value, apply) { if (el["__" + key] !== value) { el["__" + key] = value; apply(value); } }

// one frame: markers and labels into state.layer; returns the layout (window.__ce6.labels)
function labelsDraw(state, lab, ctx) {
  if (ctx.lang !== state.lang) { state.lang = ctx.lang; state.font = null; }
  if (!state.fontsHooked && document.fonts) {
    state.fontsHooked = true;
    document.fonts.addEventListener("loadingdone", () => { state.font = null; ctx.markDirty(); });
  }
  const measure = labelsMeasure(state, state.layer);
  ctx.fontPx = state.fontPx;
  const lay = lab && ctx.W && ctx.H ? labelsLayout(lab, ctx, measure) : {placed: [], marks: []};
  const marks = labelsNodes(state, state.layer, "mv-mark", lay.marks.length);
  lay.marks.forEach((m, i) => {
    const el = marks[i];
    labelsSet(el, "pos", `translate(${m.x.toFixed(1)}px,${m.y.toFixed(1)}px) translate(-50%,-50%)`, v => { el.style.transform = v; });
    labelsSet(el, "size", m.d.toFixed(0) + "px", v => { el.style.width = v; el.style.height = v; });
    labelsSet(el, "colour", (ctx.names[m.actor] || {}).colour || "#ddd", v => { el.style.borderColor = v; });
    labelsSet(el, "actor", m.actor, v => { el.dataset.actor = v; });
    labelsSet(el, "follow", labelsFollowable(m.actor), v => labelsFollowData(el, v));
  });
  const shown = ctx.show ? lay.placed : [];
  const nodes = labelsNodes(state, state.layer, "mv-label", shown.length);
  shown.forEach((p, i) => {
    const el = nodes[i];
    labelsSet(el, "text", p.text, v => { el.textContent = v; });
    labelsSet(el, "colour", p.colour, v => { el.style.color = v; });
    labelsSet(el, "pos", `translate(${p.box[0].toFixed(1)}px,${p.box[1].toFixed(1)}px)`, v => { el.style.transform = v; });
    labelsSet(el, "key", p.key, v => { el.dataset.key = v; });
    labelsSet(el, "follow", labelsFollowable(p.actor), v => labelsFollowData(el, v));
  });
  return {placed: shown, marks: lay.marks};
}
