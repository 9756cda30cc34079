"""Words of the web app's own interface (``ui`` and ``grades`` of assets/words.yaml; mission words live in
mission.yaml)."""

from __future__ import annotations

from viewer import words

TEXT: dict[str, dict[str, str]] = {
    **words.section("ui"),
    **{g: {k: v for k, v in e.items() if k in words.LANGUAGES} for g, e in words.section("grades").items()},
}


def t(key: str, lang: str) -> str:
    """The interface text ``key`` in ``lang`` (English where no translation exists)."""
    d = TEXT.get(key, {})
    return d.get(lang) or d.get("en") or key
