// Mission view: the vtk.js scene animated in the browser from sample tracks sent once,
// plus the time bar (slider, play/pause, steps, speed, UTC and mission time, phase strip with relay windows).
//
// Relies on Panel 1.9.4's VTK pane internals (pinned; covered by tests/test_ui_browser.py):
//   vtkModel.renderer_el  -> vtk.js FullScreenRenderWindow of the pane
//   vtkModel.getActors(ptr) -> the vtk.js actors whose synchronizer id ends with the VTK pointer `ptr`
// The server learns the time throttled (model.et at most every SYNC_MS), never per frame.

const SYNC_MS = 700;

function decode(item) {
  if (item == null) return null;
  if (Array.isArray(item)) return Float64Array.from(item.flat ? item.flat() : item);
  const bin = atob(item.b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const T = {float64: Float64Array, float32: Float32Array, int16: Int16Array, uint8: Uint8Array,
             int32: Int32Array, uint32: Uint32Array}[item.dtype];
  return new T(bytes.buffer);
}

function upper(t, x) {  // first index with t[i] > x
  let lo = 0, hi = t.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] <= x) lo = m + 1; else hi = m; }
  return lo;
}

function lower(t, x) {  // first index with t[i] >= x
  let lo = 0, hi = t.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] < x) lo = m + 1; else hi = m; }
  return lo;
}

function prepare(raw) {
  const tr = {raw, actors: {}, trails: {}, links: {}, sun: null};
  if (!raw || !raw.actors) return tr;
  for (const [name, a] of Object.entries(raw.actors)) {
    tr.actors[name] = {naif: a.naif, scale: a.scale, t: decode(a.t), p: decode(a.p), v: decode(a.v),
                       q: decode(a.q), vis: decode(a.vis)};
  }
  if (raw.sun && raw.sun.t) tr.sun = {t: decode(raw.sun.t), d: decode(raw.sun.d)};
  tr.chain = relayPrepare(raw.chain);  // relay_chain.js
  tr.labels = labelsPrepare(raw.labels);  // labels.js
  for (const [name, a] of Object.entries(raw.trails || {})) {
    tr.trails[name] = {t: decode(a.t), past: a.past_s, future: a.future_s, future_part: name.startsWith("trail-future:"),
                       own: a.own ? {t: decode(a.own.t), on: decode(a.own.on)} : null};
  }
  for (const [name, a] of Object.entries(raw.links || {})) {
    tr.links[name] = {a: a.a, b: a.b, t: decode(a.t), open: decode(a.open)};
  }
  return tr;
}

// pose of a track at et: {p:[3], q:[4], vis} (Hermite position, normalised-lerp quaternion)
function pose(a, et) {
  const t = a.t, n = t.length;
  if (!n || et < t[0] || et > t[n - 1]) return null;
  let i = upper(t, et) - 1;
  if (i >= n - 1) i = n - 2;
  if (i < 0) i = 0;
  const vis = a.vis[Math.min(upper(t, et) - 1, n - 1)];
  if (n === 1) return {p: [a.p[0], a.p[1], a.p[2]], q: [a.q[0], a.q[1], a.q[2], a.q[3]].map(x => x / 32767), vis};
  const t0 = t[i], t1 = t[i + 1], dt = t1 - t0;
  const s = dt > 0 ? (et - t0) / dt : 0;
  const s2 = s * s, s3 = s2 * s;
  const h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = -2 * s3 + 3 * s2, h11 = s3 - s2;
  const p = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    p[k] = h00 * a.p[3 * i + k] + h10 * dt * a.v[3 * i + k] + h01 * a.p[3 * i + 3 + k] + h11 * dt * a.v[3 * i + 3 + k];
  }
  const q0 = [0, 1, 2, 3].map(k => a.q[4 * i + k]), q1 = [0, 1, 2, 3].map(k => a.q[4 * i + 4 + k]);
  const dot = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3];
  const sg = dot < 0 ? -1 : 1;
  const q = q0.map((x, k) => (1 - s) * x + s * sg * q1[k]);
  const qn = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  return {p, q: q.map(x => x / qn), vis};
}

function rot(q) {  // (w, x, y, z) -> row-major 3x3
  const [w, x, y, z] = q;
  return [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
          2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
          2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)];
}

function userMatrix(p, R, s) {  // T(p) R S(s), column-major (gl-matrix, as vtk.js setUserMatrix expects)
  const m = new Float64Array(16);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) m[c * 4 + r] = R[r * 3 + c] * s;
  m[12] = p[0]; m[13] = p[1]; m[14] = p[2]; m[15] = 1;
  return m;
}

function hexRGB(h) {
  const x = h.replace("#", "");
  return [0, 2, 4].map(i => parseInt(x.slice(i, i + 2), 16) / 255);
}

const svgIcon = (d) => `<svg viewBox="0 0 24 24" width="20" height="20" fill="currentColor" aria-hidden="true"><path d="${d}"/></svg>`;
const ICON = {
  play: svgIcon("M7 4.5v15l13-7.5z"),
  pause: svgIcon("M6 4.5h4.5v15H6zM13.5 4.5H18v15h-4.5z"),
  back: svgIcon("M6 5h2.5v14H6zM20 5v14L9 12z"),
  fwd: svgIcon("M15.5 5H18v14h-2.5zM4 5v14l11-7z"),
};

function pad(n, w = 2) { return String(n).padStart(w, "0"); }

export function render({model, el}) {
  const root = document.createElement("div");
  root.className = "mv-root";
  const stage = document.createElement("div");
  stage.className = "mv-stage";
  const labelLayer = document.createElement("div");
  labelLayer.className = "mv-labels";
  // Panel's pane adds an (empty) axes actor whose mapper asks vtk.js for the depth buffer: every frame then pays
  // an extra opaque pass and a synchronous readPixels (SwiftShader: 100-600 ms a frame). This scene shows no axes:
  // the pane's axes model makes no actors (set before the pane builds its scene; nothing goes to the server)
  const axes = model.vtk && model.vtk.axes;
  if (axes) axes.create_axes = () => ({psActor: null, axesActor: null, gridActor: null});
  const vtkEl = model.get_child("vtk");
  const relayLayer = document.createElement("div");  // the relay chain's words and markers (relay_chain.js)
  relayLayer.className = "mv-relay";
  stage.append(vtkEl, relayLayer, labelLayer);
  const scaleEl = document.createElement("div");  // the scale cue; labels.js adds the labels and markers
  labelLayer.append(scaleEl);
  const labelState = {layer: labelLayer, pools: {}};
  // story camera (story_camera.js): the director's camera, detached by the visitor's drag
  const shadeSite = makeSiteShadows();
  const story = makeStoryCamera({model, stage, markDirty: () => { clock.dirty = true; },
                                 requestTime: () => sendTime(true)});

  // ---- time bar
  const bar = document.createElement("div");
  bar.className = "mv-bar";
  bar.innerHTML = `
    <div class="mv-row">
      <button class="mv-btn" data-act="back" title="Step back (←)" aria-label="Step back">${ICON.back}</button>
      <button class="mv-btn mv-play" data-act="play" title="Play / pause (space)" aria-label="Play">${ICON.play}</button>
      <button class="mv-btn" data-act="fwd" title="Step forward (→)" aria-label="Step forward">${ICON.fwd}</button>
      <select class="mv-speed" title="Speed" aria-label="Speed"></select>
      <div class="mv-readout"><span class="mv-utc"></span><span class="mv-met"></span></div>
      <div class="mv-phase-name"></div>
    </div>
    <input class="mv-slider" type="range" step="any" aria-label="Mission time">
    <div class="mv-strip"><svg class="mv-svg" preserveAspectRatio="none"></svg></div>`;
  root.append(stage, bar);
  el.append(root);

  const $ = (s) => bar.querySelector(s);
  const slider = $(".mv-slider"), utcEl = $(".mv-utc"), metEl = $(".mv-met"), playBtn = $(".mv-play");
  const speedSel = $(".mv-speed"), phaseName = $(".mv-phase-name"), svg = $(".mv-svg");
  // follow a spacecraft (follow.js): a label click or the list in the time bar; its fine track fetched per window
  const follow = makeFollowCamera({model, after: speedSel, labelLayer, story, radius: (n) => actorRadius(n),
                                   markDirty: () => { clock.dirty = true; }, clockEt: () => clock.et});

  const clock = {et: model.et, playing: model.playing, speed: model.speed, dirty: true, lastWall: null,
                 lastSent: model.et, lastSentWall: 0, scrubbing: false};
  let tracks = prepare(model.tracks);
  let bound = null;          // {renWin, actors: name -> [vtk actors], light}
  let lastLabels = "";
  let raf = null;
  let alive = true;
  const stats = {renders: 0, lastRender: 0};

  const t0 = () => model.t0, t1 = () => model.t1;
  slider.min = t0(); slider.max = t1(); slider.value = clock.et;

  function text(key) { const d = model.i18n[key] || {}; return d[model.language] || d.en || key; }
  if (model.reconnect) watchConnection(stage, () => text("reconnecting"));

  function utcString(et) {
    const d = new Date(Math.round(et - model.et_minus_unix) * 1000);  // whole seconds, rounded like utc_label
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
           `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }

  function metString(et) {
    const dt = et - model.launch_et, sign = dt >= 0 ? "+" : "-";
    let s = Math.round(Math.abs(dt));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    return `T${sign}${d}d ${pad(h)}:${pad(m)}:${pad(s)}`;
  }

  function phaseAt(et) {
    let best = null;
    for (const p of model.phases) {
      if (p.start <= et && et < p.end && (!best || p.end - p.start < best.end - best.start)) best = p;
    }
    return best;
  }

  function fillSpeeds() {
    speedSel.innerHTML = "";
    for (const s of model.speeds) {
      const o = document.createElement("option");
      o.value = s; o.textContent = s === 1 ? `×1 (${text("realtime")})` : `×${s.toLocaleString("en-US")}`;
      if (s === clock.speed) o.selected = true;
      speedSel.append(o);
    }
  }

  function drawStrip() {
    const W = 1000, lo = t0(), hi = t1(), x = (et) => (et - lo) / (hi - lo) * W;
    let out = "";
    const top = model.phases.filter(p => !p.parent);
    top.forEach((p, k) => {
      const x0 = x(p.start), x1 = Math.max(x(p.end), x0 + 0.6);
      out += `<rect class="mv-ph mv-ph${k % 2}${p.relay ? " mv-ph-relay" : ""}" data-id="${p.id}" x="${x0}" y="0" ` +
             `width="${x1 - x0}" height="14"><title>${p.title[model.language] || p.title.en}</title></rect>`;
    });
    (model.relay.rows || []).forEach((row, r) => {
      for (const [a, b] of row.windows) {
        const x0 = x(a), x1 = Math.max(x(b), x0 + 0.3);
        out += `<rect class="mv-win" x="${x0}" y="${17 + r * 5}" width="${x1 - x0}" height="4"><title>${row.label[model.language] || row.label.en || row.label}</title></rect>`;
      }
    });
    for (const e of model.events) {
      out += `<line class="mv-ev" data-id="${e.id}" x1="${x(e.et)}" x2="${x(e.et)}" y1="0" y2="14"><title>${e.title[model.language] || e.title.en}</title></line>`;
    }
    out += `<line class="mv-now" x1="0" x2="0" y1="0" y2="40"></line>`;
    svg.setAttribute("viewBox", `0 0 ${W} ${17 + 5 * (model.relay.rows || []).length + 1}`);
    svg.innerHTML = out;
  }

  function updateReadouts() {
    utcEl.textContent = utcString(clock.et);
    metEl.textContent = metString(clock.et);
    const p = phaseAt(clock.et);
    phaseName.textContent = p ? (p.title[model.language] || p.title.en) : "";
    if (!clock.scrubbing) slider.value = clock.et;
    const now = svg.querySelector(".mv-now");
    if (now) { const xx = (clock.et - t0()) / (t1() - t0()) * 1000; now.setAttribute("x1", xx); now.setAttribute("x2", xx); }
    const want = clock.playing ? "pause" : "play";
    if (playBtn.dataset.icon !== want) { playBtn.innerHTML = ICON[want]; playBtn.dataset.icon = want; }
    playBtn.setAttribute("aria-label", clock.playing ? "Pause" : "Play");
  }

  // ---- binding to the vtk.js scene (again after every re-synchronisation of the pane)
  function bind() {
    const vm = model.vtk;
    if (!vm || !vm.renderer_el) return null;
    const renWin = vm.renderer_el;
    const ren = renWin.getRenderer && renWin.getRenderer();
    // the pane re-synchronises its scene on structural changes (view, relief): rebind when anything is new
    if (bound && bound.renWin === renWin && bound.ren === ren && bound.tracks === tracks &&
        ren && bound.first === ren.getActors()[0]) return bound;
    if (!ren || ren.getActors().length < 4) return null;
    for (const a of ren.getActors()) {  // in case a depth-reading pixel-space mapper came in anyway (see above)
      const m = a.getMapper && a.getMapper();
      if (m && m.getUseZValues && m.getUseZValues()) { m.setUseZValues(false); ren.removeActor(a); }
    }
    const ptr = (tracks.raw && tracks.raw.ptr) || {};
    const actors = {};
    for (const [name, p] of Object.entries(ptr)) {
      const found = vm.getActors(p);
      if (found && found.length) actors[name] = found;
    }
    if (!Object.keys(actors).length) return null;
    for (const [name, list] of Object.entries(actors)) {  // link lines: draw the segments, not their points
      if (!name.startsWith("link:")) continue;
      for (const act of list) {
        const pd = act.getMapper() && act.getMapper().getInputData();
        if (pd && pd.getVerts().getNumberOfValues()) { pd.getVerts().setData(new Uint32Array(0), 1); pd.modified(); }
      }
    }
    const light = sunLight(ren, bound && bound.ren === ren ? bound.light : null);
    bound = {renWin, ren, actors, light, tracks, trailIdx: {}, trailTimes: {}, linkState: {}, first: ren.getActors()[0]};
    clock.dirty = true;
    el.dataset.ready = "1";
    return bound;
  }

  // the Sun: Panel's pane sends no vtkLight, and a re-synchronisation of the pane may drop the one added here or
  // turn the automatic headlight back on; checked before every frame
  function sunLight(ren, light) {
    if (light && ren.getLights().includes(light) && !ren.getAutomaticLightCreation() &&
        ren.getLights().length === 1) return light;
    ren.setAutomaticLightCreation(false);
    ren.removeAllLights();
    light = ren.makeLight();
    light.setLightTypeToSceneLight();
    light.setPositional(false);
    ren.addLight(light);
    return light;
  }

  // night sides: a faint ambient term (assets/scene.yaml lighting.night_ambient, shared with the stills)
  // and the texture this view's serialisation carries drawn first: the pane's synchroniser adds every texture an
  // actor is given and never removes one, and vtk.js draws the first
  function bodyLook(b, gain) {
    const raw = tracks.raw || {}, lighting = raw.lighting || {}, widths = raw.texture_width || {};
    const k = lighting.night_ambient || 0, sun = (lighting.sun_intensity || 1) * gain;
    if (b.light.getIntensity() !== sun) b.light.setIntensity(sun);
    for (const name of ["earth", "moon", "terrain"]) {
      for (const act of b.actors[name] || []) {
        const pr = act.getProperty();
        if (pr.getAmbient() !== k) { pr.setAmbient(k); pr.setAmbientColor(1, 1, 1); }
        const tex = act.getTextures ? act.getTextures() : [];
        const width = (t) => { const im = t.getInputData && t.getInputData(); return im ? im.getDimensions()[0] : -1; };
        if (tex.length > 1 && widths[name] && width(tex[0]) !== widths[name]) {
          const want = tex.filter(t => width(t) === widths[name]);
          if (want.length) {
            const rest = tex.filter(t => t !== want[want.length - 1]);
            act.removeAllTextures();
            act.addTexture(want[want.length - 1]);
            for (const t of rest) act.addTexture(t);
          }
        }
      }
    }
  }

  function setVis(list, v) { for (const a of list || []) if (a.getVisibility() !== v) a.setVisibility(v); }

  function apply(b) {
    const et = clock.et;
    const raw = tracks.raw || {};
    const scaleF = (model.enlarge ? 1 : 1 / (raw.spacecraft_scale || 1)) * story.scale(tracks, et);  // story hook
    const poses = {};
    for (const [name, a] of Object.entries(tracks.actors)) {
      const ps = follow.adjust(name, pose(a, et), et);  // follow hook: the fine track where it has a window
      poses[name] = ps;
      const list = b.actors[name];
      if (!list) continue;
      if (!ps || !ps.vis) { setVis(list, false); continue; }
      const body = name === "earth" || name === "moon";
      const m = userMatrix(ps.p, rot(ps.q), a.scale * (body ? 1 : scaleF));
      for (const act of list) { act.setUserMatrix(m); if (!act.getVisibility()) act.setVisibility(true); }
      if (!b.sentinel || b.sentinel.actor === list[0]) b.sentinel = {actor: list[0], m: Float64Array.from(list[0].getUserMatrix())};
    }
    // Sun light; in the site view also the cast shadows and the exposure (site_shadows.js)
    b.light = sunLight(b.ren, b.light);
    let sunDir = null;
    if (tracks.sun && tracks.sun.t.length) {
      const t = tracks.sun.t, i = Math.max(0, Math.min(t.length - 1, upper(t, et) - 1));
      const d = tracks.sun.d;
      sunDir = [d[3 * i], d[3 * i + 1], d[3 * i + 2]];
      b.light.setPosition(sunDir[0] * 1e3, sunDir[1] * 1e3, sunDir[2] * 1e3);
      b.light.setFocalPoint(0, 0, 0);
    }
    const site = model.site_shadows && model.site_shadows.horizon ? model.site_shadows : null;
    if (site && sunDir && b.actors.terrain) shadeSite(b.actors.terrain, sunDir, site);
    bodyLook(b, site && sunDir ? siteGain(sunDir, site.exposure) : 1);
    follow.apply(b, poses, et);  // follow hook: before the story's (which stays detached while following)
    story.apply(b, poses, et);  // story camera hook: before what projects through the camera
    // trails: the vehicle's own track between (now - past) and now (or now and now + future), refined for the
    // camera with cubic Hermite from its sampled positions and velocities (trails.js), within the span of the
    // server's trail polyline
    const box = frameBox || labelLayer.getBoundingClientRect(), W = box.width || 1920, H = box.height || 1080;
    const proj = pinhole(b.ren.getActiveCamera(), W, H);
    for (const [name, tr] of Object.entries(tracks.trails)) {
      const list = b.actors[name];
      if (!list) continue;
      const actorName = name.split(":")[1];
      const alive = poses[actorName] && poses[actorName].vis;
      if (!model.show_trails || !alive || !tr.t.length || !trailOwn(tr.own, et)) { setVis(list, false); continue; }
      const lo = Math.max(tr.t[0], tr.future_part ? et : et - tr.past);
      const hi = Math.min(tr.t[tr.t.length - 1], tr.future_part ? et + tr.future : et);
      if (!(hi > lo)) { setVis(list, false); continue; }
      const key = lo + ":" + hi + ":" + b.cameraStamp + ":" + W + "x" + H;
      if (b.trailIdx[name] !== key) {
        b.trailIdx[name] = key;
        const drawn = trailPoints(tracks.actors[actorName], lo, hi, proj, W, H), pts = drawn.points;
        b.trailTimes[name] = drawn.times;
        if (pts.length < 6) { setVis(list, false); continue; }
        const n = pts.length / 3, cells = new Uint32Array(n + 1);
        cells[0] = n;
        for (let k = 0; k < n; k++) cells[k + 1] = k;
        for (const act of list) {
          const pd = act.getMapper().getInputData();
          pd.getPoints().setData(pts, 3);
          pd.getLines().setData(cells, 1);
          pd.modified();
        }
      }
      setVis(list, true);
    }
    placeStars(b);
    // the relay chain (relay_chain.js): lines on the link actors, names, edge markers and the legend in relayLayer
    const rect = box;  // the label layer's box, the same as relayLayer's
    const names = model.names || {};
    b.relay = relayDraw(tracks.chain, et, b, {
      show: model.show_links, lang: model.language, layer: relayLayer, W: rect.width, H: rect.height, poses,
      unitsPerKm: raw.units_per_km || 1, earthRadiusKm: (raw.body_radii_km || {}).earth || 0, style: raw.link_style,
      endpoint: (name) => endpoint(name, poses),
      labelled: (key) => !!(model.show_labels && names[key] && poses[key] && poses[key].vis),
    });
    labels(b, poses, rect);  // the rect read before the relay chain wrote its words (no forced layout)
  }

  // the star sphere centred on the camera, 8 camera distances across, as the stills place it (sky.place_stars);
  // its turn to the view frame stays the server's
  function placeStars(b) {
    const list = b.actors.stars, cam = b.ren.getActiveCamera(), c = cam.getPosition(), f = cam.getFocalPoint();
    const m0 = list && list[0].getUserMatrix(), s = 8 * Math.hypot(f[0] - c[0], f[1] - c[1], f[2] - c[2]);
    if (!m0 || !(s > 0)) return;
    if (m0[12] === c[0] && m0[13] === c[1] && m0[14] === c[2] && Math.abs(Math.hypot(m0[0], m0[1], m0[2]) - s) < 1e-6 * s) return;
    const m = Float64Array.from(m0);
    for (let col = 0; col < 3; col++) {
      const n = Math.hypot(m0[4 * col], m0[4 * col + 1], m0[4 * col + 2]) || 1;
      for (let r = 0; r < 3; r++) m[4 * col + r] = m0[4 * col + r] / n * s;
    }
    m[12] = c[0]; m[13] = c[1]; m[14] = c[2];
    for (const act of list) act.setUserMatrix(m);
  }

  function endpoint(name, poses) {
    const raw = tracks.raw || {};
    if (poses[name]) return poses[name].vis ? poses[name].p : null;
    const s = (raw.stations_km || {})[String(name).replace(/^STATION:/, "")];
    const e = poses.earth;
    if (!s || !e) return null;
    const R = rot(e.q), k = raw.units_per_km || 1;
    return [0, 1, 2].map(r => e.p[r] + k * (R[3 * r] * s[0] + R[3 * r + 1] * s[1] + R[3 * r + 2] * s[2]));
  }

  // a label hides when its point is behind the Moon or the Earth as seen from the camera
  function occluded(p, name, poses, ren) {
    const BODY_RADIUS_KM = (tracks.raw && tracks.raw.body_radii_km) || {};  // from viewer.constants
    const cam = ren.getActiveCamera().getPosition();
    const k = (tracks.raw && tracks.raw.units_per_km) || 1;
    for (const [body, rkm] of Object.entries(BODY_RADIUS_KM)) {
      const bp = poses[body];
      if (body === name || !bp || !bp.vis || !((tracks.raw.bodies || []).includes(body))) continue;
      const r = rkm * k, d = [p[0] - cam[0], p[1] - cam[1], p[2] - cam[2]];
      const L = Math.hypot(d[0], d[1], d[2]);
      if (!L) continue;
      const u = d.map(x => x / L), oc = [bp.p[0] - cam[0], bp.p[1] - cam[1], bp.p[2] - cam[2]];
      const tc = oc[0] * u[0] + oc[1] * u[1] + oc[2] * u[2];
      if (tc <= 0 || tc >= L) continue;
      const miss2 = oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - tc * tc;
      if (miss2 < r * r * 0.98) return true;
    }
    return false;
  }

  // on-screen radius (px) of a sphere of radius r (render units) at p
  function screenRadius(ren, p, r, H) {
    const cam = ren.getActiveCamera(), c = cam.getPosition();
    const d = Math.hypot(p[0] - c[0], p[1] - c[1], p[2] - c[2]);
    if (!d) return Infinity;
    return (r / d) / Math.tan(cam.getViewAngle() * Math.PI / 360) * H / 2;
  }

  function actorRadius(name) {  // render units
    const raw = tracks.raw || {}, k = raw.units_per_km || 1;
    const body = (raw.body_radii_km || {})[name];
    if (body) return body * k;
    const a = tracks.actors[name], m = (raw.model_radius || {})[name];
    if (!a || !m) return 0;
    return m * a.scale * (model.enlarge ? 1 : 1 / (raw.spacecraft_scale || 1));
  }

  // labels and markers (labels.js: the stills' placement rule on the tracks' label runs), the scale cue
  function labels(b, poses, rect) {
    const ren = b.ren, W = rect.width, H = rect.height;
    if (!W || !H) return;
    const raw = tracks.raw || {}, extent = ((raw.labels || {}).rule || {}).model_extent || 0.7;
    const project = (p) => {
      const nd = ren.worldToNormalizedDisplay(p[0], p[1], p[2], W / H);
      if (!(nd[2] > 0 && nd[2] < 1) || nd[0] < -0.05 || nd[0] > 1.05 || nd[1] < -0.05 || nd[1] > 1.05) return null;
      return [nd[0] * W, (1 - nd[1]) * H];
    };
    const cue = scaleCue(ren, poses, W, H);
    if (cue.html !== lastLabels) { scaleEl.innerHTML = cue.html; lastLabels = cue.html; }
    b.labels = labelsDraw(labelState, tracks.labels, {
      et: clock.et, poses, W, H, lang: model.language, show: model.show_labels, names: model.names || {},
      bodies: raw.bodies || [], project, arrowTip: earthArrowTip(b), relay: b.relay, scaleBox: cue.box,
      radiusPx: (name, p, body) => screenRadius(ren, p, actorRadius(name) * (body ? 1 : extent), H),
      occluded: (p, name) => occluded(p, name, poses, ren), markDirty: () => { clock.dirty = true; },
    });
  }

  // a body's disc on screen (centre and radius, px of the label layer) and the screen direction towards the Sun
  function bodyDisc(name) {
    const b = bound, a = tracks.actors[name];
    if (!b || !a) return null;
    const ps = pose(a, clock.et);
    if (!ps || !ps.vis) return null;
    const rect = labelLayer.getBoundingClientRect(), W = rect.width, H = rect.height;
    const proj = (p) => { const nd = b.ren.worldToNormalizedDisplay(p[0], p[1], p[2], W / H); return [nd[0] * W, (1 - nd[1]) * H]; };
    const c = proj(ps.p), r = screenRadius(b.ren, ps.p, actorRadius(name), H);
    let sun = null;
    if (tracks.sun && tracks.sun.t.length) {
      const t = tracks.sun.t, i = Math.max(0, Math.min(t.length - 1, upper(t, clock.et) - 1)), d = tracks.sun.d;
      const R = actorRadius(name), q = proj([0, 1, 2].map(k => ps.p[k] + d[3 * i + k] * R));
      sun = [q[0] - c[0], q[1] - c[1]];
    }
    return {x: c[0], y: c[1], r, sun, W, H};
  }

  // the site view's Earth-direction arrow: its tip (the arrow runs along its model x axis from 0 to 1)
  function earthArrowTip(b) {
    const list = b.actors["indicator:earth"];
    if (!list || !list[0].getVisibility()) return null;
    const m = list[0].getUserMatrix();
    if (!m) return null;
    return [m[12] + m[0], m[13] + m[1], m[14] + m[2]];
  }

  // a scale bar at the focus (1, 2 or 5 × 10^k km, about 120 px) and the Earth–Moon distance when both show
  function scaleCue(ren, poses, W, H) {
    const raw = tracks.raw || {}, k = raw.units_per_km || 1;
    const cam = ren.getActiveCamera(), c = cam.getPosition(), f = cam.getFocalPoint();
    const d = Math.hypot(f[0] - c[0], f[1] - c[1], f[2] - c[2]);
    if (!d) return {html: "", box: null};
    const pxPerKm = k * H / (2 * d * Math.tan(cam.getViewAngle() * Math.PI / 360));
    const want = 120 / pxPerKm, e = Math.pow(10, Math.floor(Math.log10(want)));
    const km = [1, 2, 5, 10].map(x => x * e).filter(x => x <= want).pop() || e;
    const len = km >= 1 ? `${km.toLocaleString("en-US")} ${text("unit_km")}`
                        : `${Math.round(km * 1000).toLocaleString("en-US")} ${text("unit_m")}`;
    let out = `<div class="mv-scale"><div class="mv-scale-bar" style="width:${(km * pxPerKm).toFixed(0)}px"></div>` +
              `<span>${len}</span>`;
    let boxW = Math.max(km * pxPerKm, 90), boxH = 28;  // about: the bar and one line of 13 px text
    const bodies = raw.bodies || [], pe = poses.earth, pm = poses.moon;
    if (bodies.includes("earth") && bodies.includes("moon") && pe && pm && pe.vis && pm.vis) {
      const dkm = Math.hypot(pe.p[0] - pm.p[0], pe.p[1] - pm.p[1], pe.p[2] - pm.p[2]) / k;
      const em = (Math.round(dkm / 100) * 100).toLocaleString("en-US");
      out += `<div class="mv-scale-em">${text("scale_earth_moon")} ${em} ${text("unit_km")}</div>`;
      boxW = Math.max(boxW, 200); boxH += 20;
    }
    return {html: out + "</div>", box: [16, H - 12 - boxH, 16 + boxW + 4, H - 12]};
  }

  // ---- clock
  function sendTime(force) {
    const now = performance.now();
    if (clock.et === clock.lastSent) return;
    if (force || now - clock.lastSentWall > SYNC_MS) {
      clock.lastSent = clock.et;
      clock.lastSentWall = now;
      model.et = clock.et;
    }
  }

  function setTime(et, send) {
    clock.et = Math.min(Math.max(et, t0()), t1());
    clock.dirty = true;
    if (!clock.playing) draw();  // input -> pixels without waiting for the next animation frame
    if (send) sendTime(true);
  }

  function setPlaying(on) {
    if (on && clock.et >= t1()) clock.et = t0();
    clock.playing = on;
    clock.lastWall = null;
    model.playing = on;
    if (!on) sendTime(true);
    clock.dirty = true;
  }

  function resynced(b) {
    // the pane re-synchronises its scene on structural changes (relief, view) and resets the actors' state to
    // the server's template: notice it by the user matrix of one actor, and re-apply everything
    const s = b.sentinel;
    if (!s) return false;
    const m = s.actor.getUserMatrix();
    for (let i = 0; i < 16; i++) if (m[i] !== s.m[i]) return true;
    return false;
  }

  // the words' layers cover exactly the vtk.js canvas (the pane keeps a margin inside the stage), so what they
  // project through the camera lands on the drawn pixels; read before the frame writes anything
  let fitKey = "", frameBox = null;  // frameBox: {width, height} of the canvas, as the layers now are
  function fitLayers(b) {
    const cont = b.renWin.getContainer && b.renWin.getContainer();
    if (!cont) return;
    const c = cont.getBoundingClientRect(), s = stage.getBoundingClientRect();
    const box = [c.left - s.left, c.top - s.top, c.width, c.height];
    const key = box.map(x => x.toFixed(1)).join(",");
    if (key === fitKey || !(c.width > 0 && c.height > 0)) return;
    frameBox = {width: c.width, height: c.height};
    fitKey = key;
    for (const layer of [relayLayer, labelLayer]) {
      Object.assign(layer.style, {inset: "auto", left: `${box[0]}px`, top: `${box[1]}px`, width: `${box[2]}px`, height: `${box[3]}px`});
    }
    clock.dirty = true;
  }

  function draw() {  // apply the clock to the scene and render once, if anything changed
    const b = bind();
    if (b) fitLayers(b);
    if (b && resynced(b)) { clock.dirty = true; b.trailIdx = {}; b.linkState = {}; }
    if (b) {  // a camera moved by the server (preset, jump) or by the mouse: labels and markers follow it
      const cam = b.ren.getActiveCamera(), stamp = cam.getMTime();
      if (stamp !== b.cameraStamp) { b.cameraStamp = stamp; clock.dirty = true; }
    }
    if (!clock.dirty) return;
    updateReadouts();
    if (!b) return;
    clock.dirty = false;
    try {
      apply(b);
      b.renWin.getRenderWindow().render();
      b.cameraStamp = b.ren.getActiveCamera().getMTime();  // the render itself may touch the camera (clipping range)
      stats.renders += 1;
      stats.lastRender = performance.now();
      el.dataset.renderedEt = String(clock.et);
      window.dispatchEvent(new CustomEvent("ce6:time", {detail: {et: clock.et}}));
    } catch (err) {
      console.warn("mission view: frame failed", err);
    }
  }

  function frame(wall) {
    if (!alive) return;
    raf = requestAnimationFrame(frame);
    if (clock.playing) {
      if (clock.lastWall != null) {
        const dt = Math.min((wall - clock.lastWall) / 1000, 0.25);
        clock.et += dt * clock.speed;
        if (clock.et >= t1()) { clock.et = t1(); setPlaying(false); }
        clock.dirty = true;
      }
      clock.lastWall = wall;
      sendTime(false);
    }
    if (story.busy(bound) || follow.busy()) clock.dirty = true;  // story camera hook: moves and fades run in wall time
    draw();
  }

  // ---- events
  slider.addEventListener("input", () => { clock.scrubbing = true; setTime(parseFloat(slider.value), false); sendTime(false); });
  slider.addEventListener("change", () => { clock.scrubbing = false; setTime(parseFloat(slider.value), true); });
  slider.addEventListener("keydown", (e) => { if (["ArrowLeft", "ArrowRight", " "].includes(e.key)) e.preventDefault(); });
  bar.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-act]");
    if (btn) {
      const act = btn.dataset.act;
      if (act === "play") setPlaying(!clock.playing);
      if (act === "back") setTime(clock.et - clock.speed, true);
      if (act === "fwd") setTime(clock.et + clock.speed, true);
      return;
    }
    const ph = e.target.closest("[data-id]");
    if (ph) model.send_msg({jump: ph.dataset.id});
  });
  speedSel.addEventListener("change", () => { clock.speed = parseFloat(speedSel.value); model.speed = clock.speed; });

  function onKey(e) {
    const tag = (e.composedPath()[0] || {}).tagName || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && !(e.composedPath()[0] === slider)) return;
    if (e.key === " " || e.code === "Space") { e.preventDefault(); setPlaying(!clock.playing); }
    else if (e.key === "ArrowRight") { e.preventDefault(); setTime(clock.et + clock.speed * (e.shiftKey ? 10 : 1), true); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); setTime(clock.et - clock.speed * (e.shiftKey ? 10 : 1), true); }
  }
  document.addEventListener("keydown", onKey);

  model.on("et", () => { if (Math.abs(model.et - clock.et) > 1e-6) { clock.et = model.et; clock.lastSent = model.et; clock.dirty = true; } });
  model.on("playing", () => { if (model.playing !== clock.playing) { clock.playing = model.playing; clock.lastWall = null; clock.dirty = true; } });
  model.on("speed", () => { clock.speed = model.speed; fillSpeeds(); });
  model.on("site_shadows", () => { clock.dirty = true; });
  model.on("tracks", () => { tracks = prepare(model.tracks); bound = null; clock.dirty = true; });
  model.on(["show_links", "show_trails", "show_labels", "enlarge"], () => { clock.dirty = true; });
  model.on(["language", "phases", "relay", "events"], () => { fillSpeeds(); drawStrip(); clock.dirty = true; });
  model.on("remove", () => { alive = false; if (raf) cancelAnimationFrame(raf); document.removeEventListener("keydown", onKey); });

  // for tests and benchmarks: read-only access to the clock and the bound scene
  window.__ce6 = {clock, model, stats, get tracks() { return tracks; }, get bound() { return bound; }, pose,
                  get relay() { return bound && bound.relay; }, relayLayer,
                  get labels() { return bound && bound.labels; },
                  setTime: (et) => setTime(et, true), setPlaying, labelLayer,
                  project: (p) => { const r = labelLayer.getBoundingClientRect(), b = bound;
                                    const nd = b.ren.worldToNormalizedDisplay(p[0], p[1], p[2], r.width / r.height);
                                    return [nd[0] * r.width, (1 - nd[1]) * r.height]; },
                  bodyDisc: (name) => bodyDisc(name)};
  window.__ce6.story = story;  // story camera hook
  window.__ce6.follow = follow;  // follow hook
  window.__ce6.shadeSiteAt = (sun) => {  // the site patch's greys for a Sun direction (ENU); the next frame restores
    const list = (bound && bound.actors.terrain) || [];
    if (!list.length || !shadeSite(list, sun, model.site_shadows)) return null;
    clock.dirty = true;
    return Array.from(list[0].getMapper().getInputData().getPointData().getArrayByName("shade").getData());
  };

  fillSpeeds();
  drawStrip();
  updateReadouts();
  raf = requestAnimationFrame(frame);
}
