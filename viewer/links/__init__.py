"""Relay line of sight: which radio links are open, when, from the SPICE states.

From the far side Earth never rises, so every command and every image of Chang'e-6 went through Queqiao-2. This
package answers, as functions of time:

* **surface links** ``lander-queqiao2`` and ``ascender-queqiao2``: open when Queqiao-2 is above the terrain horizon
  at the site (a :class:`~viewer.links.horizon.HorizonProfile` from the DEM in use, looked up at Queqiao-2's
  azimuth in CHANGE6_TOPO) and the Moon does not block the ray. The horizon applies while the vehicle is within
  ``at_site_km`` of CHANGE6_SITE; in flight only the Moon sphere counts. For these links the Moon is the sphere
  through the landing site (radius |CHANGE6_SITE| − 1 m: the site lies 5.3 km below the reference sphere, which
  would otherwise swallow it);
* **station links** ``<vehicle>-<station>`` for Queqiao-2, the orbiter and the ascender: open when the vehicle is
  above the station's elevation mask (default 5°, along the geodetic normal of the station on the Earth ellipsoid in
  ITRF93) and neither the Earth ellipsoid nor the Moon's reference sphere blocks the ray;
* **space link** ``orbiter-queqiao2``: neither the Moon nor the Earth blocks the ray;
* ``site-earth``: the Earth's centre above the terrain horizon at the site (never, on the far side);
* **composite links**: ``<vehicle>-ground`` (any station) and ``relay-<vehicle>`` (vehicle → Queqiao-2 → any
  station, the end-to-end relay).

Positions are geometric (``abcorr='NONE'``); light time (≈1.3 s Earth–Moon) would move window edges by about that.
Radii come from the loaded PCK (``bodvrd``).

Rooms:

* :mod:`~viewer.links.kinds`: the link table and the link kinds as data (what each reads, the checks that decide
  it); :mod:`~viewer.links.model`: :class:`RelayModel` (coverage, states, windows, end positions);
  :mod:`~viewer.links.search`: the window search; :mod:`~viewer.links.windows`: interval algebra;
  :mod:`~viewer.links.geometry`: ray–sphere geometry; :mod:`~viewer.links.coverage`: what the kernels cover;
  :mod:`~viewer.links.stations`: station geometry; :mod:`~viewer.links.horizon`: the terrain horizon;
  :mod:`~viewer.links.names`: the words (``links:`` in ``assets/words.yaml``); :mod:`~viewer.links.project`: the
  project's model and the module-level API; :mod:`~viewer.links.report` and :mod:`~viewer.links.cli`:
  ``python -m viewer links report``.
* The windows and the site horizon are cached through :mod:`viewer.cache` (kind ``links``), keyed over the model's
  inputs, the loaded kernel files and the source files of this package.

The data API for the scene and the UI: :func:`default_model`, :func:`link_states`, :func:`windows`,
:func:`earth_elevation_at_site`, :func:`timeline_strip`, :func:`links` (endpoint names),
:func:`endpoint_positions`.
"""

from __future__ import annotations

from viewer.links.coverage import body_coverage
from viewer.links.geometry import azimuth_elevation_deg
from viewer.links.horizon import HorizonProfile, compute_horizon
from viewer.links.kinds import KINDS, LINK_TABLE, REASONS, Bodies, Link, Rule
from viewer.links.model import MODEL_VERSION, RelayModel
from viewer.links.project import (
    PHASE_LINKS,
    default_model,
    earth_elevation_at_site,
    endpoint_positions,
    link_states,
    links,
    mission_phases,
    site_horizon,
    windows,
)
from viewer.links.report import timeline_strip
from viewer.links.stations import mission_stations
from viewer.links.windows import Window, complement, covered_fraction, intersect, states_from_windows, union

__all__ = [
    "KINDS",
    "LINK_TABLE",
    "MODEL_VERSION",
    "PHASE_LINKS",
    "REASONS",
    "Bodies",
    "HorizonProfile",
    "Link",
    "RelayModel",
    "Rule",
    "Window",
    "azimuth_elevation_deg",
    "body_coverage",
    "complement",
    "compute_horizon",
    "covered_fraction",
    "default_model",
    "earth_elevation_at_site",
    "endpoint_positions",
    "intersect",
    "link_states",
    "links",
    "mission_phases",
    "mission_stations",
    "site_horizon",
    "states_from_windows",
    "timeline_strip",
    "union",
    "windows",
]
