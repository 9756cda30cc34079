// Story camera: the director's camera (viewer/director, sent per view as tracks.story by viewer/ui/story.py)
// animated in the browser. Loaded in the same module as mission_view.js, which calls, per frame:
//   story.scale(tracks, et)      spacecraft enlargement factor of the shot shown here (1 outside a stand-in view)
//   story.apply(bound, poses, et) sets the vtk.js camera from the samples plus the subject's drawn position
//   story.busy()                 true while a wall-clock animation (move, fade, return) needs frames
// Samples hold camera - subject (off) and focal - subject (aim) with their time derivatives (cubic Hermite) and the
// view-up (normalised lerp). A shot change with transition "move" eases over move_s wall seconds from where the
// camera was; a "cut" or a change of view fades. The visitor takes the camera by dragging, the wheel or touch;
// "Back to the story" eases back over BACK_S seconds.

const STORY_BACK_S = 1.2;
const STORY_DRAG_PX = 4;
const STORY_PENDING_MS = 8000;  // give up waiting for the server's view change after this long

function storyPrepare(raw) {
  if (!raw || !raw.segments) return null;
  const s = {raw, n: raw.n || 0, segments: raw.segments, shots: raw.shots || [], words: raw.words || {},
             subjects: raw.subjects || []};
  if (s.n) {
    for (const k of ["t", "shot", "subject", "off", "aim", "d_off", "d_aim", "up", "hidden"]) s[k] = decode(raw[k]);
  }
  return s;
}

function storyHermite(a, da, i, dt, u, out) {
  const u2 = u * u, u3 = u2 * u;
  const h00 = 2 * u3 - 3 * u2 + 1, h10 = u3 - 2 * u2 + u, h01 = -2 * u3 + 3 * u2, h11 = u3 - u2;
  for (let k = 0; k < 3; k++) {
    out[k] = h00 * a[3 * i + k] + h10 * dt * da[3 * i + k] + h01 * a[3 * i + 3 + k] + h11 * dt * da[3 * i + 3 + k];
  }
  return out;
}

function storyNorm(v) { const L = Math.hypot(v[0], v[1], v[2]) || 1; return [v[0] / L, v[1] / L, v[2] / L]; }

function storyMix(a, b, e) { return [0, 1, 2].map(k => a[k] + e * (b[k] - a[k])); }

// an offset eased from a to b: direction by normalised lerp, distance geometrically (never through the subject)
function storyMixOffset(a, b, e) {
  const la = Math.hypot(a[0], a[1], a[2]), lb = Math.hypot(b[0], b[1], b[2]);
  if (!(la > 0) || !(lb > 0)) return storyMix(a, b, e);
  const d = storyMix(a.map(x => x / la), b.map(x => x / lb), e), L = Math.hypot(d[0], d[1], d[2]);
  if (L < 1e-6) return storyMix(a, b, e);
  const r = Math.exp((1 - e) * Math.log(la) + e * Math.log(lb));
  return d.map(x => x / L * r);
}

function storyElement(tag, className, css) {  // an element with a class and inline style (the view overlay; follow.js)
  const e = document.createElement(tag);
  e.className = className;
  e.style.cssText = css;
  return e;
}

function storyCopyCamera(from, to) {
  to.setPosition(...from.getPosition());
  to.setFocalPoint(...from.getFocalPoint());
  to.setViewUp(...from.getViewUp());
  to.setViewAngle(from.getViewAngle());
  to.setClippingRange(...from.getClippingRange());
}

// a camera of its own (also for follow.js): hold(ren) makes it the renderer's active camera, starting from the
// pane's pose; release(ren) copies its pose back to the pane's camera and makes that one active again
function storyCameraHolder() {
  let own = null, pane = null;
  function hold(ren) {
    const active = ren.getActiveCamera();
    if (own && active === own) return own;
    if (!own) own = ren.makeCamera ? ren.makeCamera() : window.vtk.Rendering.Core.vtkCamera.newInstance();
    pane = active;
    storyCopyCamera(active, own);
    ren.setActiveCamera(own);
    return own;
  }
  function release(ren) {
    if (!ren || !own || ren.getActiveCamera() !== own || !pane) return;
    storyCopyCamera(own, pane);
    ren.setActiveCamera(pane);
  }
  return {hold, release};
}

function storyEase(u) { return u <= 0 ? 0 : u >= 1 ? 1 : u * u * (3 - 2 * u); }

function makeStoryCamera({model, stage, markDirty, requestTime}) {
  let data = null, dataRaw = null, naifActor = {}, naifTracks = null;
  let detached = false, lastShot = -1, lastView = null, lastCam = null;
  let blend = null;            // {from: {off, aim, up} relative to the subject, start, dur}
  let pending = null;          // {view, since}: the server is switching to this view
  let lastRen = null, seenView = null;
  const state = {sets: 0, lastPose: null};

  const overlay = storyElement("div", "story-fade",
    "position:absolute;inset:0;background:#000;opacity:0;pointer-events:none;z-index:5;");
  const back = storyElement("button", "story-back",
    "position:absolute;top:12px;left:50%;transform:translateX(-50%);z-index:6;display:none;" +
    "font:600 16px 'Noto Sans','Noto Sans CJK SC',sans-serif;padding:8px 18px;border-radius:18px;cursor:pointer;" +
    "background:#f3d27a;color:#111;border:none;box-shadow:0 2px 10px rgba(0,0,0,.5);");
  back.type = "button";
  const note = storyElement("div", "story-note",
    "position:absolute;bottom:10px;left:50%;transform:translateX(-50%);z-index:6;display:none;" +
    "font:14px 'Noto Sans','Noto Sans CJK SC',sans-serif;color:#e8eaf0;background:rgba(5,7,13,.7);" +
    "padding:3px 12px;border-radius:10px;pointer-events:none;");
  if (getComputedStyle(stage).position === "static") stage.style.position = "relative";
  stage.append(overlay, back, note);

  function word(key) {
    const d = (data && data.words[key]) || {};
    return d[model.language] || d.en || key;
  }

  function follow() { return model.story_on && !detached; }

  function fadeTo(opacity, seconds) {
    overlay.style.transition = seconds > 0 ? `opacity ${seconds}s ease` : "none";
    overlay.style.opacity = String(opacity);
  }

  function flash() {  // a cut: black at once, then fade in
    const f = data ? data.raw.fade_s || 0.6 : 0.6;
    fadeTo(1, 0);
    void overlay.offsetWidth;
    fadeTo(0, f);
  }

  function showBack() {
    const on = model.story_on && detached;
    back.style.display = on ? "block" : "none";
    if (on) { back.textContent = word("back_to_story"); back.title = word("back_tip"); }
  }

  function detach() {
    if (!model.story_on || detached) return;
    detached = true;
    blend = null;
    releaseCamera(lastRen);
    showBack();
  }

  // the visitor takes the camera: a drag (mouse or touch) or the wheel, seen before vtk.js handles it
  let down = null;
  stage.addEventListener("pointerdown", (e) => {
    if (e.target === back) return;
    down = {x: e.clientX, y: e.clientY};
  }, true);
  stage.addEventListener("pointermove", (e) => {
    if (!down || !e.buttons) return;
    if (Math.hypot(e.clientX - down.x, e.clientY - down.y) > STORY_DRAG_PX) detach();
  }, true);
  window.addEventListener("pointerup", () => { down = null; }, true);
  stage.addEventListener("wheel", () => detach(), {capture: true, passive: true});
  stage.addEventListener("touchmove", () => detach(), {capture: true, passive: true});
  back.addEventListener("pointerdown", (e) => e.stopPropagation());
  back.addEventListener("click", (e) => {
    e.stopPropagation();
    detached = false;
    showBack();
    blend = {fromCamera: true, start: performance.now(), dur: STORY_BACK_S * 1000};
    markDirty();
  });
  model.on("story_on", () => { detached = false; blend = null; showBack(); markDirty(); });
  model.on("language", () => showBack());

  function refresh(tracks) {
    const raw = tracks && tracks.raw ? tracks.raw.story : null;
    if (raw !== dataRaw) { dataRaw = raw; data = storyPrepare(raw); }
    if (naifTracks !== tracks) {
      naifTracks = tracks;
      naifActor = {};
      for (const [name, a] of Object.entries(tracks.actors || {})) if (a.naif) naifActor[a.naif] = name;
    }
  }

  function segmentAt(et) {
    const segs = data ? data.segments : [];
    let lo = 0, hi = segs.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (segs[m].t0 <= et) lo = m + 1; else hi = m; }
    return segs[Math.max(0, lo - 1)] || null;
  }

  function sample(et, shot) {  // {subject, off, aim, up, hidden} of `shot` at et (held at its first/last sample)
    if (!data || !data.n) return null;
    const t = data.t, n = data.n;
    let i = Math.max(0, Math.min(n - 1, upper(t, et) - 1));
    if (data.shot[i] !== shot && i + 1 < n && data.shot[i + 1] === shot) i += 1;
    if (data.shot[i] !== shot) return null;
    const out = {subject: data.subjects[data.subject[i]], hidden: data.hidden[i] === 1,
                 off: [data.off[3 * i], data.off[3 * i + 1], data.off[3 * i + 2]],
                 aim: [data.aim[3 * i], data.aim[3 * i + 1], data.aim[3 * i + 2]],
                 up: [data.up[3 * i], data.up[3 * i + 1], data.up[3 * i + 2]]};
    const j = i + 1;
    if (j >= n || data.shot[j] !== shot || !(t[j] > t[i]) || et <= t[i]) return out;
    const dt = t[j] - t[i], u = Math.min(1, (et - t[i]) / dt);
    storyHermite(data.off, data.d_off, i, dt, u, out.off);
    storyHermite(data.aim, data.d_aim, i, dt, u, out.aim);
    out.up = storyNorm(storyMix(out.up, [data.up[3 * j], data.up[3 * j + 1], data.up[3 * j + 2]], u));
    return out;
  }

  // Panel's pane renders on every Modified event of its camera (five setters, five renders a frame): while the
  // story holds the camera it uses a camera of its own, rendered once a frame by mission_view.js, and hands the
  // pose back to the pane's camera when the visitor takes it or the story is turned off.
  const held = storyCameraHolder();
  const holdCamera = held.hold, releaseCamera = held.release;

  function setCamera(ren, pos, focal, up, angle) {
    const cam = holdCamera(ren);
    cam.setPosition(pos[0], pos[1], pos[2]);
    cam.setFocalPoint(focal[0], focal[1], focal[2]);
    cam.setViewUp(up[0], up[1], up[2]);
    cam.setViewAngle(angle);
    cam.orthogonalizeViewUp();
    ren.resetCameraClippingRange();
    const d = Math.hypot(pos[0] - focal[0], pos[1] - focal[1], pos[2] - focal[2]);
    const [near, far] = cam.getClippingRange();
    if (near > 0.2 * d || far < 2 * d) cam.setClippingRange(Math.min(near, 0.2 * d), Math.max(far, 2 * d));
    lastCam = {p: [...pos], f: [...focal], u: cam.getViewUp().slice()};
    state.sets += 1;
  }

  function apply(b, poses, et) {
    refresh(b.tracks);
    showBack();
    note.style.display = "none";
    lastRen = b.ren;
    const shown = b.tracks.raw ? b.tracks.raw.view : null;
    if (detached && seenView !== null && shown !== seenView) { detached = false; showBack(); }  // a new view: the story frames it
    seenView = shown;
    if (!data || !follow()) { releaseCamera(b.ren); fadeTo(0, 0.2); pending = null; return; }
    const view = b.tracks.raw ? b.tracks.raw.view : null;
    const seg = segmentAt(et);
    if (!seg) return;
    if (seg.view !== view) {  // another view's shot: the server switches the view when it learns the time
      if (!pending || pending.view !== seg.view) {
        pending = {view: seg.view, since: performance.now()};
        fadeTo(1, 0.15);
        requestTime();
      } else if (performance.now() - pending.since > STORY_PENDING_MS) {
        fadeTo(0, 0.3);
      }
      return;
    }
    const s = sample(et, seg.shot);
    const actor = s ? naifActor[s.subject] : null;
    const ps = actor ? poses[actor] : null;
    if (!s || !ps) return;
    const ren = b.ren, now = performance.now(), sub = ps.p;
    const shotInfo = data.shots[seg.shot] || {};
    if (pending || (lastView !== null && lastView !== view)) { fadeTo(0, (data.raw.fade_s || 0.6) / 2); blend = null; }
    else if (lastShot >= 0 && seg.shot !== lastShot) {
      if (shotInfo.transition === "move" && lastCam) {
        blend = {from: {off: lastCam.p.map((x, k) => x - sub[k]), aim: lastCam.f.map((x, k) => x - sub[k]), up: lastCam.u},
                 start: now, dur: (data.raw.move_s || 2.5) * 1000};
      } else { blend = null; flash(); }
    }
    pending = null;
    lastShot = seg.shot;
    lastView = view;
    let off = s.off, aim = s.aim, up = s.up;
    if (blend && blend.fromCamera) {  // "Back to the story": from the visitor's camera
      const cam = ren.getActiveCamera(), p = cam.getPosition(), f = cam.getFocalPoint();
      blend.from = {off: [0, 1, 2].map(k => p[k] - sub[k]), aim: [0, 1, 2].map(k => f[k] - sub[k]), up: cam.getViewUp().slice()};
      blend.fromCamera = false;
    }
    if (blend) {
      const e = storyEase((now - blend.start) / blend.dur);
      if (e >= 1) blend = null;
      else {
        off = storyMixOffset(blend.from.off, off, e);
        aim = storyMix(blend.from.aim, aim, e);
        up = storyNorm(storyMix(blend.from.up, up, e));
      }
    }
    const pos = [0, 1, 2].map(k => sub[k] + off[k]), focal = [0, 1, 2].map(k => sub[k] + aim[k]);
    setCamera(ren, pos, focal, up, data.raw.view_angle_deg || 30);
    state.lastPose = {et, shot: seg.shot, subject: s.subject, actor, position: pos, focal, up, blending: !!blend};
    if (s.hidden) { note.textContent = word("hidden"); note.style.display = "block"; }
  }

  function busy(bound) {
    if (blend || pending) return true;
    if (!follow() || !lastCam || !bound) return false;
    // the camera was moved from outside (the server's preset after a view change): put the story's back
    const p = bound.ren.getActiveCamera().getPosition();
    return Math.abs(p[0] - lastCam.p[0]) + Math.abs(p[1] - lastCam.p[1]) + Math.abs(p[2] - lastCam.p[2]) > 0;
  }

  function scale(tracks, et) {
    refresh(tracks);
    if (!model.story_on || !data) return 1;
    const seg = segmentAt(et);
    return seg && seg.view === data.raw.view ? seg.scale || 1 : 1;
  }

  return {apply, busy, scale, state, get detached() { return detached; }, get following() { return follow(); },
          detach, sample: (et) => { const sg = segmentAt(et); return sg ? sample(et, sg.shot) : null; },
          segmentAt, get pending() { return pending; }};
}
