"""The words of the links: short names of the vehicles, stations and bodies at each end, link labels and the
reasons a line of sight is blocked, in English and Chinese, from the ``links:`` section of ``assets/words.yaml``."""

from __future__ import annotations

from viewer import words
from viewer.words import LANGUAGES

SECTION = "links"


def text(key: str, lang: str, **fields) -> str:
    """The ``links`` word ``key`` in ``lang``, with ``{field}`` placeholders filled."""
    return words.word(SECTION, key, lang).format(**fields)


def both(key: str, **fields) -> dict[str, str]:
    """{lang: text} for every language; each field is a {lang: name} mapping."""
    return {lang: text(key, lang, **{k: v[lang] for k, v in fields.items()}) for lang in LANGUAGES}


def role_name(role: str) -> dict[str, str]:
    """{lang: short name} of a role at a link end (``lander``, ``relay``, ``site``, ``earth``, …)."""
    return {lang: text(role, lang) for lang in LANGUAGES}


def station_name(station) -> dict[str, str]:
    """{lang: short name} of a ground station (``station_<id>`` in the words file, else its mission name)."""
    entry = words.section(SECTION).get(f"station_{station.id}") or {}
    return {lang: entry.get(lang) or station.name[lang] for lang in LANGUAGES}
