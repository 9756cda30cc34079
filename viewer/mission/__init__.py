"""The mission as data: ``assets/mission.yaml`` parsed into frozen records and checked once on load.

Every phase, event, site, station and spacecraft fact carries a grade (``sourced``, ``derived`` or ``assumed``),
a one-line ``grade_note`` (phases and events may add a Chinese ``grade_note_zh``) and source ids that resolve to
the file's ``sources:`` list; a source may carry ``title_zh``, a Chinese gloss of its outlet and title (the
original stays the reference). Times are UTC ISO strings with ``Z`` in the file; each is kept as that string and
as SPICE ET (converted by :mod:`viewer.epochs` only).

A malformed file raises :class:`~viewer.errors.DataError` with one line naming the file, the key path
(``events[12].caption.zh``) and the rule that was broken.

- :mod:`viewer.mission.records`: the record classes and :class:`Mission` (look-ups by id and by time);
- :mod:`viewer.mission.fields`: the field rules shared by every checked YAML file (:class:`FieldReader`);
- :mod:`viewer.mission.sections`: the mission file's sections and the rules that join them;
- :mod:`viewer.mission.loader`: :func:`load_mission` (cached per file version) and :func:`landing_site`.

>>> m = load_mission()
>>> m.item("touchdown")
<Event 'touchdown' 2024-06-01T22:23:16Z sourced>
>>> m.phase_at(m.item("touchdown").et).id
'surface_operations'
"""

from __future__ import annotations

from viewer.mission.fields import LATIN_WORD, FieldReader
from viewer.mission.loader import default_path, landing_site, load_mission
from viewer.mission.records import (
    GRADES,
    LANGUAGES,
    Alternative,
    Chapter,
    Conflict,
    Event,
    Fact,
    Mission,
    Phase,
    Site,
    Source,
    Spacecraft,
    Station,
    Text,
)

__all__ = [
    "GRADES",
    "LANGUAGES",
    "LATIN_WORD",
    "Alternative",
    "Chapter",
    "Conflict",
    "Event",
    "Fact",
    "FieldReader",
    "Mission",
    "Phase",
    "Site",
    "Source",
    "Spacecraft",
    "Station",
    "Text",
    "default_path",
    "landing_site",
    "load_mission",
]
