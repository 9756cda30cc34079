// Cast shadows on the landing-site patch, drawn in the browser as its Sun moves (the stills compute the same
// from the terrain: viewer/scene/shadows.py).
//
// The patch arrives with its point-data array "shade" (a grey per vertex that multiplies the lit, textured terrain);
// model.site_shadows brings "horizon" (per vertex, the terrain's horizon elevation towards `azimuths` evenly spaced
// azimuths from north towards east, as bytes: min_deg + step_deg * byte). For the Sun direction (ENU, the site view's frame) a
// vertex is lit where the Sun stands above its horizon at the Sun's azimuth (interpolated between the two nearest
// azimuths), with a penumbra across the Sun's disc; in full shadow it keeps `fill` of its light.
//
//   const shade = makeSiteShadows();
//   shade(terrainActors, sunDirection, cfg)  // true when the greys are for this Sun; cfg: {horizon, azimuths, min_deg, step_deg, fill, sun_radius_deg}
//
// The greys are recomputed only when the Sun has moved by more than QUANTUM_DEG (or the patch is new).

const QUANTUM_DEG = 0.05;

export function makeSiteShadows() {
  let lastKey = null, lastData = null, cfgSeen = null, horizon = null;
  return function shade(actors, sun, cfg) {
    if (!cfg || !sun || !actors || !actors.length) return false;
    if (cfg !== cfgSeen) { cfgSeen = cfg; horizon = decode(cfg.horizon); lastKey = null; }
    const n = Math.hypot(sun[0], sun[1], sun[2]) || 1;
    const el = Math.asin(Math.max(-1, Math.min(1, sun[2] / n))) * 180 / Math.PI;
    const az = ((Math.atan2(sun[0], sun[1]) * 180 / Math.PI) % 360 + 360) % 360;
    let done = false;  // the patch's greys are for this Sun
    for (const act of actors) {
      const mapper = act.getMapper && act.getMapper();
      const pd = mapper && mapper.getInputData();
      const arrays = pd && pd.getPointData();
      const grey = arrays && (arrays.getArrayByName("shade") || arrays.getScalars());
      const nAz = cfg.azimuths;
      if (!grey || !horizon || horizon.length !== nAz * grey.getNumberOfTuples()) continue;  // another patch
      const key = `${Math.round(az / QUANTUM_DEG)}:${Math.round(el / QUANTUM_DEG)}`;
      if (key === lastKey && lastData === grey.getData()) { done = true; continue; }
      lastKey = key;
      lastData = grey.getData();
      fill(horizon, nAz, grey.getData(), grey.getNumberOfComponents(), az, el, cfg);
      grey.modified();
      pd.modified();
      if (!mapper.getScalarVisibility()) {
        mapper.setScalarModeToUsePointFieldData();
        mapper.setColorByArrayName("shade");
        mapper.setColorModeToDirectScalars();
        mapper.setScalarVisibility(true);
      }
      done = true;
    }
    return done;
  };
}

// the site view's exposure, as the stills set it (viewer/scene/groups/site.py exposure): with the Sun low the
// light is made brighter by sin(reference_el) / sin(Sun elevation), between 1 and max_gain
export function siteGain(sun, exposure) {
  if (!exposure) return 1;
  const n = Math.hypot(sun[0], sun[1], sun[2]) || 1;
  const s = Math.max(sun[2] / n, 1e-3);  // the sine of the Sun's elevation
  return Math.max(1, Math.min(exposure.max_gain, Math.sin(exposure.reference_el_deg * Math.PI / 180) / s));
}

function fill(hz, nAz, grey, nc, az, el, cfg) {
  const x = az / (360 / nAz), k0 = Math.floor(x) % nAz, k1 = (k0 + 1) % nAz, f = x - Math.floor(x);
  const penumbra = 2 * (cfg.sun_radius_deg || 0.2665), keep = cfg.fill || 0;
  const n = Math.min(hz.length / nAz, grey.length / nc);
  for (let i = 0; i < n; i++) {
    const h = cfg.min_deg + cfg.step_deg * ((1 - f) * hz[i * nAz + k0] + f * hz[i * nAz + k1]);
    const lit = Math.max(0, Math.min(1, (el - h) / penumbra + 0.5));
    const g = Math.round(255 * (keep + (1 - keep) * lit));
    for (let c = 0; c < Math.min(nc, 3); c++) grey[i * nc + c] = g;
  }
}
