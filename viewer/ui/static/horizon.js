// "Earth never rises here": the terrain horizon seen from the landing site, with the Earth's direction below it.
// Listens to the mission view's "ce6:time" events, so it moves with the browser's clock (no server round trip).

function decode(item) {
  const bin = atob(item.b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new ({float64: Float64Array, float32: Float32Array}[item.dtype])(bytes.buffer);
}

export function render({model, el}) {
  const box = document.createElement("div");
  box.className = "hz-box";
  el.append(box);
  const d = model.data || {};
  if (!d.ok) { box.innerHTML = `<div class="hz-note">${d.note || ""}</div>`; return; }
  const t = decode(d.t), eaz = decode(d.earth_az), eel = decode(d.earth_el);
  const W = 360, H = 170, ELMIN = -50, ELMAX = 10;
  const x = (az) => az / 360 * W, y = (el) => (ELMAX - el) / (ELMAX - ELMIN) * H;
  let path = `M0,${H} `;
  d.az.forEach((a, i) => { path += `L${x(a).toFixed(1)},${y(d.el[i]).toFixed(1)} `; });
  path += `L${W},${y(d.el[d.el.length - 1]).toFixed(1)} L${W},${H} Z`;
  const ticks = [0, 90, 180, 270].map(a => `<text class="hz-tick" x="${x(a) + 3}" y="${H - 4}"></text>`).join("");
  box.innerHTML = `
    <svg class="hz-svg" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none">
      <rect x="0" y="0" width="${W}" height="${y(0)}" class="hz-sky"/>
      <line x1="0" x2="${W}" y1="${y(0)}" y2="${y(0)}" class="hz-zero"/>
      <path d="${path}" class="hz-ground"/>
      ${ticks}
      <circle class="hz-earth" r="5" cx="0" cy="0"/>
    </svg>
    <div class="hz-read"><span class="hz-el"></span></div>`;
  const earth = box.querySelector(".hz-earth"), read = box.querySelector(".hz-el");

  function show(et) {
    let lo = 0, hi = t.length - 1;
    while (lo < hi) { const m = (lo + hi + 1) >> 1; if (t[m] <= et) lo = m; else hi = m - 1; }
    const az = eaz[lo], el = eel[lo];
    earth.setAttribute("cx", x(az));
    earth.setAttribute("cy", Math.min(y(Math.max(el, ELMIN + 0.5)), H - 5));
    const lab = (model.labels || {})[model.language] || (model.labels || {}).en || "";
    read.textContent = lab.replace("{el}", el.toFixed(1)).replace("{az}", az.toFixed(0));
    const points = ((model.compass || {})[model.language] || (model.compass || {}).en || "N E S W").split(" ");
    box.querySelectorAll(".hz-tick").forEach((tick, i) => { if (tick.textContent !== points[i]) tick.textContent = points[i]; });
    el_box.dataset.earthEl = el.toFixed(2);
  }
  const el_box = box;
  const onTime = (e) => show(e.detail.et);
  window.addEventListener("ce6:time", onTime);
  model.on("et", () => show(model.et));
  model.on("language", () => show(model.et));
  model.on("remove", () => window.removeEventListener("ce6:time", onTime));
  show(model.et);
}
