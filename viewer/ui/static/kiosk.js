// Museum kiosk page (viewer/ui/kiosk.py): header, language toggle, chapter buttons, captions and overlays around the
// app's 3D view. The browser keeps the wall clock:
//   - idle timer: no input for idle_timeout_s -> a visible countdown of countdown_s -> the attract loop
//   - attract loop: tour steps of duration_s each; the server applies a step's view, time and speed
//   - operator gesture: the key combination, or corner_taps taps in the top-left corner within corner_window_s,
//     opens a PIN pad; the server checks the PIN
//   - watchdog: a closed websocket, or no answer to the heartbeat for reload_after_s, shows the
//     "reconnecting" screen and the page reloads itself as soon as the server answers again
// Modes: "attract" | "active" | "countdown"; overlays: "pin" | "operator" | "offline" on top.

const TICK_MS = 250;
const ACTION_MS = 1500;
const CORNER_PX = 96;
const STORE = "ce6-kiosk";

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// Browser shortcuts a kiosk visitor must not reach (print, save, open, view source, downloads, developer tools,
// reload, zoom, find, history, address bar): every key with Ctrl, Meta or Alt, the function keys and the
// browser's own media keys. Keys the page cannot stop (Ctrl+W, Ctrl+N, Ctrl+T) are Chromium's policies' and
// --kiosk's job (scripts/kiosk-policy.json, docs/kiosk.md).
const BROWSER_KEYS = /^(F([1-9]|1[0-9]|2[0-4])|Browser\w+|ContextMenu|Print|Find|Open|Save|Help|Props|Zoom\w*)$/;

function browserShortcut(e) {
  return !!(e.ctrlKey || e.metaKey || e.altKey || BROWSER_KEYS.test(String(e.key)));
}

function loadStore() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "{}"); } catch (err) { return {}; }
}

function saveStore(s) {
  try { sessionStorage.setItem(STORE, JSON.stringify(s)); } catch (err) { /* private mode: no marker */ }
}

// The websocket Bokeh talks through: noticed on its first send, so a closed socket is seen at once. Every message
// from the server counts as a sign of life (window.__ce6heard): a server busy sending a scene change is not lost.
if (!WebSocket.prototype.__ce6kiosk) {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (...args) {
    if (window.__ce6socket !== this) {
      window.__ce6socket = this;
      this.addEventListener("message", () => { window.__ce6heard = performance.now(); });
    }
    return send.apply(this, args);
  };
  WebSocket.prototype.__ce6kiosk = true;
}

export function render({model, el}) {
  const S = model.settings;
  const steps = S.tour || [];
  const store = loadStore();
  store.loads = (store.loads || 0) + 1;
  saveStore(store);

  // ---- skeleton
  const root = h("div", "k-root");
  const header = h("header", "k-header");
  const corner = h("div", "k-corner");  // the hidden operator corner (invisible)
  const titleBox = h("div", "k-titles");
  const title = h("div", "k-title"), subtitle = h("div", "k-subtitle");
  titleBox.append(title, subtitle);
  const note = h("div", "k-note");
  const langBox = h("div", "k-lang");
  const langZh = h("button", "k-lang-btn", "中文"), langEn = h("button", "k-lang-btn", "English");
  langZh.lang = "zh"; langEn.lang = "en";  // each language's name in its own language
  langZh.dataset.lang = "zh"; langEn.dataset.lang = "en";
  langBox.append(langZh, langEn);
  header.append(titleBox, note, langBox);

  const stage = h("div", "k-stage");
  const stageInner = h("div", "k-stage-inner");
  stageInner.append(model.get_child("stage"));
  const hint = h("div", "k-hint");
  const hintDot = h("span", "k-hint-dot");
  const hintText = h("span", "k-hint-text");
  hint.append(hintDot, hintText);
  stage.append(stageInner, hint);

  const side = h("aside", "k-side");
  const kicker = h("div", "k-kicker"), chapterName = h("div", "k-chapter-name");
  const capTitle = h("h2", "k-cap-title"), capText = h("p", "k-cap-text");
  const evTitle = h("h3", "k-ev-title"), evText = h("p", "k-ev-text");
  side.append(kicker, chapterName, capTitle, capText, evTitle, evText);

  const bar = h("nav", "k-chapters");
  const chapterBtns = model.chapters.map((c, i) => {
    const b = h("button", "k-chapter");
    b.dataset.chapter = c.id;
    const num = h("span", "k-chapter-num", String(i + 1));
    const name = h("span", "k-chapter-title");
    const prog = h("span", "k-chapter-prog");
    b.append(num, name, prog);
    bar.append(b);
    return b;
  });

  // overlays
  const countdown = h("div", "k-overlay k-countdown");
  countdown.innerHTML = `<div class="k-card k-count-card">
      <div class="k-count-title"></div>
      <svg class="k-ring" viewBox="0 0 120 120"><circle class="k-ring-bg" cx="60" cy="60" r="52"/>
        <circle class="k-ring-fg" cx="60" cy="60" r="52"/></svg>
      <div class="k-count-num"></div><div class="k-count-unit"></div>
      <div class="k-count-sub"></div><div class="k-count-restart"></div></div>`;
  const offline = h("div", "k-overlay k-offline");
  offline.innerHTML = `<div class="k-card"><div class="k-spinner"></div><div class="k-off-title"></div>
      <div class="k-off-sub"></div></div>`;
  const pinPad = h("div", "k-overlay k-pin");
  pinPad.innerHTML = `<div class="k-card k-pin-card"><div class="k-pin-title"></div><div class="k-pin-dots"></div>
      <div class="k-pin-msg"></div><div class="k-pin-keys"></div></div>`;
  const keys = pinPad.querySelector(".k-pin-keys");
  for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]) {
    const b = h("button", "k-key" + (k === "ok" ? " k-key-ok" : "") + (k === "del" ? " k-key-del" : ""),
                k === "del" ? "⌫" : k === "ok" ? "" : k);
    b.dataset.key = k;
    keys.append(b);
  }
  const pinCancel = h("button", "k-btn k-pin-cancel");
  pinPad.querySelector(".k-pin-card").append(pinCancel);
  const operator = h("div", "k-overlay k-operator");
  operator.innerHTML = `<div class="k-card k-op-card"><div class="k-op-title"></div><table class="k-op-rows"></table>
      <div class="k-op-stopping"></div><div class="k-op-actions"></div></div>`;
  const opActions = operator.querySelector(".k-op-actions");
  const opButtons = {};
  for (const a of ["resume", "restart_tour", "reload", "exit"]) {
    const b = h("button", "k-btn k-op-" + a);
    b.dataset.action = a;
    opButtons[a] = b;
    opActions.append(b);
  }

  root.append(header, stage, side, bar, countdown, offline, pinPad, operator, corner);
  el.append(root);

  // ---- state
  const k = {
    mode: "attract", overlay: null, step: -1, stepStart: 0, lastInput: performance.now(),
    countdownLeft: null, pin: "", pinSent: 0, corner: [], ping: 0, pong: 0, lastPong: performance.now(),
    offlineSince: null, lost: false, ready: false, loads: store.loads, reloadReason: store.reason || null,
    counts: {attract: 0, active: 0, countdown: 0, steps: 0, inputs: 0}, rtt: null, pingSent: 0, chapterLog: [],
  };
  // to the server, unless the connection is known to be gone (then the page waits to reload)
  function send(msg) { if (!k.lost) model.send_msg(msg); }
  k.captionChapter = () => chapterName.textContent;
  k.text = (selector) => { const e = root.querySelector(selector); return e ? e.textContent : null; };
  window.__ce6kiosk = k;  // for tests and the operator: read-only view of the kiosk's clock
  const lang = () => model.language;
  const text = (key, fmt) => {
    const d = model.texts[key] || {};
    let s = d[lang()] || d.en || key;
    for (const [a, b] of Object.entries(fmt || {})) s = s.replace(`{${a}}`, b);
    return s;
  };

  function setMode(mode) {
    if (k.mode === mode) return;
    k.mode = mode;
    k.counts[mode] = (k.counts[mode] || 0) + 1;
    root.dataset.mode = mode;
    el.dataset.mode = mode;
    if (mode !== "countdown") k.countdownLeft = null;
    paintMode();
  }

  function setOverlay(name) {
    k.overlay = name;
    root.dataset.overlay = name || "";
    el.dataset.overlay = name || "";
    paintOverlay();
  }

  // ---- painting
  function paintWords() {
    const H = model.header || {};
    title.textContent = H.title || "";
    subtitle.textContent = H.subtitle || "";
    note.textContent = H.note || "";
    langZh.classList.toggle("k-on", lang() === "zh");
    langEn.classList.toggle("k-on", lang() === "en");
    model.chapters.forEach((c, i) => {
      chapterBtns[i].querySelector(".k-chapter-title").textContent = c.title[lang()] || c.title.en;
    });
    const C = model.caption || {};
    kicker.textContent = C.kicker || "";
    chapterName.textContent = C.chapter || "";
    capTitle.textContent = C.title || "";
    if (C.grade) {
      const b = h("span", "k-badge k-grade-" + C.grade, C.grade_label || C.grade);
      capTitle.append(" ", b);
    }
    capText.textContent = C.text || "";
    evTitle.textContent = C.event_title || "";
    if (C.event_grade) evTitle.append(" ", h("span", "k-badge k-grade-" + C.event_grade, C.event_grade_label));
    evText.textContent = C.event_text || "";
    evTitle.style.display = C.event_title ? "" : "none";
    evText.style.display = C.event_text ? "" : "none";
    hintText.textContent = text("touch");
    paintChapters();
    paintMode();
    paintOverlay();
  }

  function paintChapters() {
    chapterBtns.forEach((b) => b.classList.toggle("k-active", b.dataset.chapter === model.active_chapter));
  }

  function paintMode() {
    hint.style.display = k.mode === "attract" && !k.overlay ? "" : "none";
    countdown.style.display = k.mode === "countdown" && !k.overlay ? "" : "none";
    root.classList.toggle("k-touring", k.mode === "attract");
  }

  function paintCountdown() {
    const total = S.countdown_s;
    const left = Math.max(0, k.countdownLeft == null ? total : k.countdownLeft);
    countdown.querySelector(".k-count-title").textContent = text("still_there");
    countdown.querySelector(".k-count-num").textContent = String(Math.ceil(left));
    countdown.querySelector(".k-count-unit").textContent = text("seconds");
    countdown.querySelector(".k-count-sub").textContent = text("touch_to_continue");
    countdown.querySelector(".k-count-restart").textContent = text("restart_in");
    const ring = countdown.querySelector(".k-ring-fg"), L = 2 * Math.PI * 52;
    ring.style.strokeDasharray = `${L}`;
    ring.style.strokeDashoffset = `${L * (1 - left / total)}`;
  }

  function paintOverlay() {
    offline.style.display = k.overlay === "offline" ? "" : "none";
    pinPad.style.display = k.overlay === "pin" ? "" : "none";
    operator.style.display = k.overlay === "operator" ? "" : "none";
    offline.querySelector(".k-off-title").textContent = text("reconnecting");
    offline.querySelector(".k-off-sub").textContent = text("reconnecting_sub");
    pinPad.querySelector(".k-pin-title").textContent = text("pin_title");
    pinPad.querySelector(".k-pin-dots").textContent = "●".repeat(k.pin.length) || "\u00a0";
    pinPad.querySelector(".k-key-ok").textContent = text("enter");
    pinCancel.textContent = text("cancel");
    for (const [a, b] of Object.entries(opButtons)) b.textContent = text(a);
    const O = model.operator || {};
    operator.querySelector(".k-op-title").textContent = O.title || "";
    const rows = operator.querySelector(".k-op-rows");
    rows.replaceChildren(...(O.rows || []).map(([a, b]) => {
      const tr = h("tr"); tr.append(h("th", null, a), h("td", null, b)); return tr;
    }));
    operator.querySelector(".k-op-stopping").textContent = O.stopping || "";
    paintMode();
  }

  // ---- the attract loop and the idle timer
  function startAttract() {
    setOverlay(null);
    k.pin = "";
    setMode("attract");
    k.step = 0;
    k.stepStart = performance.now();
    send({type: "attract"});
  }

  function nextStep() {
    k.step = (k.step + 1) % steps.length;
    k.stepStart = performance.now();
    k.counts.steps += 1;
    send({type: "tour_step", index: k.step});
  }

  function input(e) {
    k.lastInput = performance.now();
    k.counts.inputs += 1;
    if (k.mode === "attract") {
      setMode("active");
      send({type: "active"});
    } else if (k.mode === "countdown") {
      setMode("active");
      if (e && e.cancelable && (e.type === "pointerdown" || e.type === "touchstart")) e.preventDefault();
    }
  }

  function tick() {
    const now = performance.now();
    if (k.mode === "attract" && steps.length && k.step >= 0) {
      const cur = steps[k.step];
      const frac = Math.min(1, (now - k.stepStart) / (cur.duration_s * 1000));
      const active = bar.querySelector(".k-chapter.k-active .k-chapter-prog");
      for (const p of bar.querySelectorAll(".k-chapter-prog")) p.style.transform = p === active ? `scaleX(${frac})` : "scaleX(0)";
      if (frac >= 1) nextStep();
    }
    const idle = (now - k.lastInput) / 1000;
    if ((k.mode === "active" || k.mode === "countdown") && idle >= S.idle_timeout_s) {
      const left = S.countdown_s - (idle - S.idle_timeout_s);
      if (left <= 0) startAttract();
      else {
        setMode("countdown");
        k.countdownLeft = left;
        paintCountdown();
      }
    }
    heartbeat(now);
  }

  // ---- operator: gesture, PIN pad, screen
  function openPin() {
    k.pin = "";
    pinPad.querySelector(".k-pin-msg").textContent = "";
    setOverlay("pin");
  }

  function comboMatches(e) {
    const parts = String(S.keys || "Ctrl+Alt+Shift+O").split("+");
    const main = parts.pop();
    const want = {Ctrl: e.ctrlKey, Alt: e.altKey, Shift: e.shiftKey, Meta: e.metaKey};
    for (const m of ["Ctrl", "Alt", "Shift", "Meta"]) if (parts.includes(m) !== want[m]) return false;
    const code = /^[0-9]$/.test(main) ? "Digit" + main : "Key" + main;
    return e.code === code || String(e.key).toUpperCase() === main;
  }

  function onCorner(e) {
    const x = e.clientX, y = e.clientY;
    if (x == null || x > CORNER_PX || y > CORNER_PX) return;
    const now = performance.now();
    k.corner = k.corner.filter((t) => now - t < S.corner_window_s * 1000);
    k.corner.push(now);
    if (k.corner.length >= S.corner_taps) { k.corner = []; openPin(); }
  }

  pinPad.addEventListener("click", (e) => {
    const b = e.target.closest("[data-key]");
    if (!b) return;
    const key = b.dataset.key;
    if (key === "del") k.pin = k.pin.slice(0, -1);
    else if (key === "ok") { if (k.pin) { k.pinSent += 1; send({type: "pin", pin: k.pin}); k.pin = ""; } }
    else if (k.pin.length < 12) k.pin += key;
    paintOverlay();
  });
  pinCancel.addEventListener("click", () => { k.pin = ""; setOverlay(null); });
  opActions.addEventListener("click", (e) => {
    const b = e.target.closest("[data-action]");
    if (!b) return;
    const a = b.dataset.action;
    if (a === "resume") { send({type: "operator", action: "lock"}); setOverlay(null); }
    else if (a === "restart_tour") { send({type: "operator", action: "lock"}); startAttract(); }
    else if (a === "reload") { reload("operator"); }
    else if (a === "exit") { send({type: "operator", action: "exit"}); }
  });

  // ---- watchdog: heartbeat, lost connection, reload when the server is back
  const pingEvery = Math.max(1000, Math.min(5000, S.reload_after_s * 1000 / 4));
  let lastPing = 0;
  let probing = false;
  let lastProbe = 0;

  function probeUrl() {
    const s = [...document.scripts].map((x) => x.src).find((u) => u && u.includes("/static/js/bokeh"));
    return s || location.href;
  }

  function reload(reason) {
    const st = loadStore();
    st.reason = reason;
    st.reloads = (st.reloads || 0) + 1;
    saveStore(st);
    location.reload();
  }

  function lost(why) {
    if (k.lost) return;
    k.lost = true;
    k.offlineSince = performance.now();
    k.lostWhy = why;
    setOverlay("offline");
  }

  function heartbeat(now) {
    if (!k.lost) {
      if (now - lastPing > pingEvery) {
        lastPing = now;
        k.ping += 1;
        k.pingSent = now;
        try { send({type: "ping", n: k.ping}); } catch (err) { lost("send"); }
      }
      const ws = window.__ce6socket;
      if (ws && ws.readyState >= 2) lost("websocket");        // CLOSING or CLOSED
      else if (now - Math.max(k.lastPong, window.__ce6heard || 0) > S.reload_after_s * 1000) lost("heartbeat");
      return;
    }
    if (probing || now - lastProbe < S.retry_every_s * 1000) return;
    probing = true;
    lastProbe = now;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), Math.max(1000, S.retry_every_s * 1000));
    fetch(probeUrl(), {method: "HEAD", cache: "no-store", signal: ctl.signal})
      .then((r) => { if (r.status < 500) reload(k.lostWhy || "lost"); })
      .catch(() => { /* still away: try again */ })
      .finally(() => { clearTimeout(timer); probing = false; });
  }

  function watchDocument() {
    const docs = (window.Bokeh && window.Bokeh.documents) || [];
    for (const d of docs) {
      try { d.on_event("connection_lost", () => lost("websocket")); } catch (err) { /* older Bokeh: heartbeat only */ }
    }
  }

  // ---- inputs
  const opts = {capture: true, passive: false};
  function onPointer(e) { onCorner(e); input(e); }
  function onKey(e) {
    if (comboMatches(e)) { e.preventDefault(); openPin(); return; }
    if (browserShortcut(e)) e.preventDefault();
    if (k.overlay === "pin" && /^[0-9]$/.test(e.key)) { if (k.pin.length < 12) k.pin += e.key; paintOverlay(); }
    input(e);
  }
  const onWheel = (e) => { if (e.ctrlKey || e.metaKey) e.preventDefault(); input(e); };  // no page zoom
  const onMove = (e) => { if (e.buttons) input(e); };
  document.addEventListener("pointerdown", onPointer, opts);
  document.addEventListener("touchstart", input, opts);
  document.addEventListener("keydown", onKey, opts);
  document.addEventListener("wheel", onWheel, opts);
  document.addEventListener("pointermove", onMove, opts);
  const noMenu = (e) => e.preventDefault();
  document.addEventListener("contextmenu", noMenu);
  // a dropped file or link would open in place of the exhibit; nothing on the page can be dragged out either
  for (const type of ["dragstart", "dragover", "drop"]) window.addEventListener(type, noMenu, opts);

  // chapter and language taps change the view on the server: at most one per ACTION_MS, the latest wins
  // (a child drumming on the buttons must not queue dozens of scene changes)
  let lastAction = 0, pendingAction = null, actionTimer = null;
  function sendAction(msg) {
    const now = performance.now();
    if (now - lastAction >= ACTION_MS && !actionTimer) {
      lastAction = now;
      send(msg);
      return;
    }
    pendingAction = msg;
    if (!actionTimer) {
      actionTimer = setTimeout(() => {
        actionTimer = null;
        lastAction = performance.now();
        if (pendingAction) { send(pendingAction); pendingAction = null; }
      }, Math.max(0, ACTION_MS - (now - lastAction)));
    }
  }
  langBox.addEventListener("click", (e) => {
    const b = e.target.closest("[data-lang]");
    if (!b) return;
    langZh.classList.toggle("k-on", b === langZh);
    langEn.classList.toggle("k-on", b === langEn);
    sendAction({type: "language", lang: b.dataset.lang});
  });
  bar.addEventListener("click", (e) => {
    const b = e.target.closest("[data-chapter]");
    if (b) {
      chapterBtns.forEach((x) => x.classList.toggle("k-active", x === b));  // answer the touch at once
      sendAction({type: "chapter", id: b.dataset.chapter});
    }
  });

  model.on(["language", "header", "caption", "chapters", "texts"], paintWords);
  model.on("active_chapter", () => {
    k.chapterLog.push(model.active_chapter);  // what the server showed, in order (tests read it)
    if (k.chapterLog.length > 50) k.chapterLog.shift();
    paintChapters();
  });
  model.on("pong", () => {
    k.pong = model.pong;
    k.lastPong = performance.now();
    if (k.pong === k.ping) k.rtt = k.lastPong - k.pingSent;  // heartbeat round trip, ms
  });
  model.on("step", () => { if (model.step >= 0 && k.mode === "attract" && model.step !== k.step) { k.step = model.step; k.stepStart = performance.now(); } });
  model.on("pin_result", () => {
    const r = model.pin_result || {};
    if (r.ok) setOverlay("operator");
    else pinPad.querySelector(".k-pin-msg").textContent = r.message || "";
  });
  model.on("operator", () => { if (!(model.operator && model.operator.rows) && k.overlay === "operator") setOverlay(null); paintOverlay(); });

  const timer = setInterval(tick, TICK_MS);
  model.on("remove", () => {
    clearInterval(timer);
    if (actionTimer) clearTimeout(actionTimer);
    document.removeEventListener("pointerdown", onPointer, opts);
    document.removeEventListener("touchstart", input, opts);
    document.removeEventListener("keydown", onKey, opts);
    for (const type of ["dragstart", "dragover", "drop"]) window.removeEventListener(type, noMenu, opts);
    document.removeEventListener("wheel", onWheel, opts);
    document.removeEventListener("pointermove", onMove, opts);
    document.removeEventListener("contextmenu", noMenu);
  });

  document.body.style.overflow = "hidden";
  if (!document.getElementById("ce6-kiosk-global")) {  // Panel's English connection toasts: the kiosk has its own
    const st = document.createElement("style");
    st.id = "ce6-kiosk-global";
    st.textContent = ".notyf__disconnect, .notyf__reconnect { display: none !important; }";
    document.head.append(st);
  }
  root.dataset.mode = k.mode;
  el.dataset.mode = k.mode;
  paintWords();
  watchDocument();
  // the page opens in the attract loop, in the default language
  k.mode = null;
  startAttract();
  k.ready = true;
  el.dataset.ready = "1";
}
