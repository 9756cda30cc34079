// Follow a spacecraft: click or tap a vehicle's label (or pick it from the list in the time bar) and the camera
// keeps it centred at a few times its drawn size, from its lit side where there is one; the visitor can still
// orbit and zoom. Loaded in the same module as story_camera.js and mission_view.js, which calls, per frame:
//   follow.adjust(name, pose, et)  the actor's pose on the fine track where a window covers et (else unchanged)
//   follow.apply(bound, poses, et) the camera, before the story camera's hook (the story is detached meanwhile)
//   follow.busy()                  true while the camera eases in
// The fine track comes from the server (viewer/ui/follow_track.py: GET tracks.follow.url), one window at a time:
// windows are FOLLOW_WINDOWS_S long (the shortest lasting FOLLOW_WALL_S of wall time at the playback speed),
// aligned on multiples of their length, and the next one is fetched once the clock is past half of the current.

const FOLLOW_WINDOWS_S = [600, 2400, 9600, 38400, 153600, 604800];
const FOLLOW_WALL_S = 20;
const FOLLOW_RADII = 8;          // camera distance, drawn radii of the vehicle
const FOLLOW_MOVE_S = 1.0;       // the camera reaches its distance and side in this time (the aim is at once)
const FOLLOW_KEEP = 6;           // windows kept per vehicle
const FOLLOW_WAIT_MS = 400;      // after a click, wait this long for the fine track before starting on the coarse one

function followWindowLength(speed, maxS) {
  const want = Math.abs(speed || 1) * FOLLOW_WALL_S;
  const w = FOLLOW_WINDOWS_S.find(x => x >= want) || FOLLOW_WINDOWS_S[FOLLOW_WINDOWS_S.length - 1];
  return Math.min(w, maxS || w);
}

function followCross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
function followDot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// a window's pose of one actor at et: Hermite position from the fine samples (null outside or where hidden)
function followPose(win, actor, et) {
  const a = win && win.actors[actor];
  if (!a || et < win.t0 || et > win.t1) return null;
  const t = win.t, n = t.length;
  const i = Math.max(0, Math.min(n - 2, upper(t, et) - 1));
  if (!a.vis[i] || !a.vis[i + 1]) return null;
  const out = [0, 0, 0];
  storyHermite(a.p, a.v, i, t[i + 1] - t[i], Math.min(1, Math.max(0, (et - t[i]) / (t[i + 1] - t[i]))), out);
  return out;
}

function makeFollowCamera({model, after, labelLayer, story, radius, markDirty, clockEt}) {
  let cur = null;               // {actor, tracks, off, from, start, lastSub, windows: Map, since}
  let info = null, infoTracks = null;
  const state = {requests: [], lastSub: null, following: null, fineUsed: 0};

  // the list and the note sit in the time bar, after the control `after`, never over the 3D view
  const pick = storyElement("select", "follow-pick", "height:38px;max-width:15em;padding:0 8px;border-radius:8px;" +
    "font:15px 'Noto Sans','Noto Sans CJK SC',sans-serif;background:#151c2b;color:#e8eaf0;border:1px solid #2a3448;");
  const note = storyElement("div", "follow-note", "display:none;pointer-events:none;max-width:14em;" +
    "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font:14px 'Noto Sans','Noto Sans CJK SC',sans-serif;" +
    "color:#9aa6bd;");
  after.after(pick, note);

  function word(key, name) {
    const d = (info && info.words[key]) || {};
    return (d[model.language] || d.en || key).replace("{name}", name || "");
  }

  function nameOf(actor) { const n = (model.names || {})[actor] || {}; return n[model.language] || n.en || actor; }

  function fillPick() {
    const vehicles = info ? Object.keys(info.vehicles).filter(a => infoTracks.actors[a]) : [];
    const key = model.language + "|" + vehicles.join(",") + "|" + (cur ? cur.actor : "");
    if (pick.dataset.key === key) return;
    pick.dataset.key = key;
    pick.innerHTML = "";
    const head = document.createElement("option");
    head.value = ""; head.textContent = cur ? word("stop") : word("pick");
    pick.append(head);
    for (const a of vehicles) {
      const o = document.createElement("option");
      o.value = a; o.textContent = nameOf(a);
      if (cur && cur.actor === a) o.selected = true;
      pick.append(o);
    }
    pick.title = word("tip");
    pick.style.display = vehicles.length ? "block" : "none";
  }

  function refresh(tracks) {
    if (infoTracks === tracks) return;
    infoTracks = tracks;
    info = tracks && tracks.raw ? tracks.raw.follow || null : null;
    if (cur && cur.tracks !== tracks) stop();  // another view: its story or preset frames it
    fillPick();
  }

  function start(actor) {
    if (!info || !info.vehicles[actor]) return false;
    story.detach();  // the visitor takes the camera; "Back to the story" returns
    cur = {actor, tracks: infoTracks, off: null, from: null, start: 0, lastSub: null, windows: new Map(),
           since: performance.now()};
    state.following = {actor, since: cur.since, centredAt: null, fineAt: null};
    ensure(clockEt());  // the window leaves with the click, not with the next frame
    setTimeout(markDirty, FOLLOW_WAIT_MS);
    fillPick();
    markDirty();
    return true;
  }

  function stop() {
    releaseCam();
    cur = null;
    state.following = null;
    note.style.display = "none";
    fillPick();
    markDirty();
  }

  pick.addEventListener("pointerdown", (e) => e.stopPropagation());
  pick.addEventListener("change", () => { if (pick.value) start(pick.value); else stop(); });
  labelLayer.addEventListener("click", (e) => {
    const hit = e.target.closest("[data-actors]");
    if (!hit) return;
    e.stopPropagation();
    start(hit.dataset.actors.split(" ")[0]);
  });
  labelLayer.addEventListener("pointerdown", (e) => { if (e.target.closest("[data-actors]")) e.stopPropagation(); });
  model.on("language", () => { pick.dataset.key = ""; fillPick(); });

  // ---- windows of the fine track
  function windowKey(w, k) { return `${w}:${k}`; }

  function request(w, k) {
    const key = windowKey(w, k);
    if (cur.windows.has(key)) return;
    const t0 = k * w, t1 = (k + 1) * w, v = info.vehicles[cur.actor], view = infoTracks.raw.view;
    const url = `${info.url}?view=${encodeURIComponent(view)}&vehicle=${encodeURIComponent(v)}&t0=${t0}&t1=${t1}`;
    const entry = {status: "loading", t0, t1};
    cur.windows.set(key, entry);
    const mine = cur, began = performance.now();
    fetch(url).then(async (r) => {
      const text = await r.text();
      state.requests.push({url, status: r.status, bytes: text.length, ms: performance.now() - began});
      if (state.requests.length > 100) state.requests.shift();  // the latest, for tests and benchmarks
      if (!r.ok) throw new Error(text.split("\n")[0]);
      const raw = JSON.parse(text), actors = {};
      for (const [name, a] of Object.entries(raw.actors)) actors[name] = {p: decode(a.p), v: decode(a.v), vis: decode(a.vis)};
      Object.assign(entry, {status: "ready", t: decode(raw.t), actors});
      if (mine === cur) markDirty();
    }).catch((err) => { entry.status = "failed"; console.warn("follow: track window failed", err); });
    while (cur.windows.size > FOLLOW_KEEP) cur.windows.delete(cur.windows.keys().next().value);
  }

  function ensure(et) {  // the window at et, and the next one once past its middle
    const w = followWindowLength(model.speed, info.max_window_s), k = Math.floor(et / w);
    request(w, k);
    if (et - k * w > w / 2) request(w, k + 1);
    if (et - k * w < w / 8 && !model.playing) request(w, k - 1);
  }

  function fineAt(actor, et) {
    for (const win of cur.windows.values()) {
      if (win.status !== "ready") continue;
      const p = followPose(win, actor, et);
      if (p) return p;
    }
    return null;
  }

  function adjust(name, ps, et) {
    if (!cur || !ps || !ps.vis) return ps;
    const p = fineAt(name, et);
    if (!p) return ps;
    if (name === cur.actor) state.fineUsed += 1;
    return {...ps, p, fine: true};
  }

  const held = storyCameraHolder();

  function releaseCam() { if (cur) held.release(cur.ren); }

  // where the camera looks from: the Sun's side and away from the nearer body, turned a little to show depth
  function firstOffset(b, poses, sub, et) {
    const raw = b.tracks.raw || {}, tr = b.tracks;
    let sun = [1, 0, 0];
    if (tr.sun && tr.sun.t.length) {
      const i = Math.max(0, Math.min(tr.sun.t.length - 1, upper(tr.sun.t, et) - 1));
      sun = [tr.sun.d[3 * i], tr.sun.d[3 * i + 1], tr.sun.d[3 * i + 2]];
    }
    let up = [0, 0, 1], best = Infinity;
    for (const body of raw.bodies || []) {
      const bp = poses[body], r = radius(body);
      if (!bp || !r) continue;
      const d = sub.map((x, k) => x - bp.p[k]), L = Math.hypot(...d);
      if (L / r < best) { best = L / r; up = d.map(x => x / L); }
    }
    const side = storyNorm(followCross(up, sun));
    let dir = storyNorm([0, 1, 2].map(k => 0.55 * sun[k] + 0.65 * up[k] + 0.35 * side[k]));
    if (followDot(dir, up) < 0.15) dir = storyNorm(dir.map((x, k) => x + 0.4 * up[k]));
    const dist = FOLLOW_RADII * Math.max(radius(cur.actor), 1e-9);
    return {off: dir.map(x => x * dist), up};
  }

  function place(ren, c, pos, focal, up) {
    c.setPosition(...pos);
    c.setFocalPoint(...focal);
    if (up) c.setViewUp(...up);
    c.orthogonalizeViewUp();
    ren.resetCameraClippingRange();
    const d = Math.hypot(pos[0] - focal[0], pos[1] - focal[1], pos[2] - focal[2]);
    const [near, far] = c.getClippingRange();
    if (near > 0.2 * d || far < 2 * d) c.setClippingRange(Math.min(near, 0.2 * d), Math.max(far, 2 * d));
  }

  function apply(b, poses, et) {
    refresh(b.tracks);
    if (!cur) return;
    if (model.story_on && !story.detached) { stop(); return; }  // "Back to the story"
    cur.ren = b.ren;
    ensure(et);
    const ps = poses[cur.actor];
    if (!cur.off && ps && !ps.fine && performance.now() - cur.since < FOLLOW_WAIT_MS) return;  // its window is on the way
    if (!ps || !ps.vis) { note.textContent = word("absent", nameOf(cur.actor)); note.style.display = "block"; return; }
    note.textContent = word("following", nameOf(cur.actor));
    note.style.display = "block";
    const c = held.hold(b.ren), sub = ps.p, now = performance.now();
    if (!cur.off) {  // the first frame: ease from wherever the camera was
      const first = firstOffset(b, poses, sub, et);
      const p = c.getPosition();
      cur.from = {off: [0, 1, 2].map(k => p[k] - sub[k]), up: c.getViewUp().slice()};
      cur.off = first.off; cur.up = first.up; cur.start = now;
    } else if (cur.lastSub && !cur.from) {  // the visitor may have orbited or zoomed: keep what they chose
      const p = c.getPosition();
      cur.off = [0, 1, 2].map(k => p[k] - cur.lastSub[k]);
      cur.up = null;
    }
    let off = cur.off, up = cur.up;
    if (cur.from) {
      const e = storyEase((now - cur.start) / 1000 / FOLLOW_MOVE_S);
      off = storyMixOffset(cur.from.off, cur.off, e);
      up = storyNorm(storyMix(cur.from.up, cur.up || cur.from.up, e));
      if (e >= 1) cur.from = null;
    }
    place(b.ren, c, sub.map((x, k) => x + off[k]), sub, up);
    cur.lastSub = sub.slice();
    state.lastSub = sub.slice();
    const f = state.following;
    if (f && ps.fine && f.fineAt === null) f.fineAt = now;
    if (f && ps.fine && f.centredAt === null) f.centredAt = now;
  }

  function busy() { return !!(cur && cur.from); }

  return {adjust, apply, busy, start, stop, state, pick, get actor() { return cur ? cur.actor : null; },
          get windows() { return cur ? [...cur.windows.values()].map(w => ({t0: w.t0, t1: w.t1, status: w.status})) : []; }};
}
