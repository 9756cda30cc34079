// The ordinary page comes back by itself after the server restarts. When Bokeh's connection is lost, a note in
// the page's language says so; the page then asks the server every RETRY_MS whether it answers (a HEAD request for
// Bokeh's own script, which is small and static) and, once it does, reloads its own URL. The URL carries the
// state (?t=, ?view=, ?lang=, kept up to date by the server while it ran), so the page opens where it was.
// The kiosk has its own watchdog and reconnecting screen (kiosk.js) and does not use this.
//
//   watchConnection(el, () => "Connection lost: reconnecting…")

const RETRY_MS = 2000;

export function watchConnection(el, words) {
  let lost = false;
  const note = document.createElement("div");
  note.className = "mv-reconnect";
  note.setAttribute("role", "status");
  note.hidden = true;
  el.appendChild(note);

  function probeUrl() {
    const s = [...document.scripts].map((x) => x.src).find((u) => u && u.includes("/static/js/bokeh"));
    return s || location.href;
  }

  function probe() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), RETRY_MS);
    fetch(probeUrl(), {method: "HEAD", cache: "no-store", signal: ctl.signal})
      .then((r) => { if (r.status < 500) location.reload(); else setTimeout(probe, RETRY_MS); })
      .catch(() => setTimeout(probe, RETRY_MS))
      .finally(() => clearTimeout(timer));
  }

  function onLost() {
    if (lost) return;
    lost = true;
    note.textContent = words();
    note.hidden = false;
    setTimeout(probe, RETRY_MS);
  }

  for (const d of (window.Bokeh && window.Bokeh.documents) || []) {
    try { d.on_event("connection_lost", onLost); } catch (err) { /* an older Bokeh: no such event */ }
  }
  return {get lost() { return lost; }};
}
