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
:func:`endpoint_positions`, and the relay chain (:mod:`~viewer.links.chain`): :func:`relay_chain` and
:func:`chain_samples`. None of it needs VTK.

The relay chain
---------------

The chain that carries the signal now: the source (the lander during the powered descent and on the surface, the
ascender during the ascent and the rendezvous, the orbiter otherwise) → Queqiao-2 → each ground station. Its legs
are the links ``<source>-queqiao2`` and ``queqiao2-<station>``, each from its ``from`` end to its ``to`` end.
Reasons (``REASONS``): ``moon_limb``, ``earth_limb``, ``horizon``, ``mask``, ``out_of_range``; their words are
``reason_<reason>`` under ``links:`` in ``assets/words.yaml``.

``relay_chain(et, model=None, *, observer="MOON", frame="J2000")`` returns one epoch as plain records, positions
in km relative to ``observer`` in ``frame``::

    {"et": float, "observer": str, "frame": str,
     "open": bool,                      # end to end: the source leg and at least one station leg are open
     "source": End | None,              # None before the kernels cover any source
     "earth_km": [x, y, z],             # the Earth's centre
     "legs": [                          # the source leg first, then one leg per station
       {"id": "lander-queqiao2",        # a link id of the model (its windows: windows(id))
        "kind": "source" | "station",
        "from": End, "to": End,
        "open": bool,
        "reason": None | "moon_limb" | "earth_limb" | "horizon" | "mask" | "out_of_range",
        "reason_text": {"en": str, "zh": str},   # the reason's words ("open" when open)
        "show": bool,                   # draw it: open legs solid, shown blocked legs as a stub
        "stub": None | {"fractions": [f0, f1],   # along from -> to
                        "from_km": [x, y, z], "to_km": [x, y, z]}},   # to_km: where the obstruction is
       ...],
     "stations": [                      # every station, for labels at the Earth's limb
       {"id": "kashi", "naif": "STATION:kashi", "name": {"en": "Kashi", "zh": "喀什"},
        "position_km": [x, y, z],
        "limb_anchor_km": [x, y, z],    # the point of the Earth's limb, seen from the Moon, nearest the station
        "limb_direction": [x, y, z],    # unit vector from the Earth's centre to that point (offset labels along it)
        "sees_relay": bool}, ...]}

    End = {"naif": "CHANGE6_LANDER" | "QUEQIAO_2" | "STATION:kashi" | …, "id": "lander" | "queqiao2" | "kashi",
           "kind": "vehicle" | "station", "name": {"en": str, "zh": str}, "position_km": [x, y, z]}

``chain_samples(ets, model=None)`` gives the same over many epochs as arrays (about 0.2 s for the mission at a
10-minute step), for the browser tracks; a renderer places the ends from its own poses and draws a stub from
``from + f0·(to − from)`` to ``from + f1·(to − from)``::

    {"t": (N,) float ET, "roles": ["lander", "ascender", "orbiter"], "reasons": [...REASONS],
     "source": (N,) int8 index into roles (-1: none), "open": (N,) bool end to end,
     "legs": {link id: {"from": naif, "to": naif,
                        "active": (N,) bool,    # this leg belongs to the chain at that epoch
                        "open": (N,) bool, "show": (N,) bool,
                        "reason": (N,) int8 index into reasons (-1: open or not active),
                        "stub": (N, 2) float32 fractions f0, f1 (NaN where open)}},
     "limb": {station id: (N, 3) unit vectors, J2000, from the Earth's centre to its limb anchor}}

Which blocked legs are shown: the source leg always; a station leg when no station sees Queqiao-2 and either
the Moon blocks it or it is the station closest to opening.
"""

from __future__ import annotations

from viewer.links.chain import chain_samples, relay_chain
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
    "chain_samples",
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
    "relay_chain",
    "site_horizon",
    "states_from_windows",
    "timeline_strip",
    "union",
    "windows",
]
