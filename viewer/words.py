"""Interface words in English and Chinese, and the grade colours, read once from ``assets/words.yaml``.

>>> word("ui", "title", "zh")
'嫦娥六号'
>>> grade_word("derived", "en"), grade_colour("derived")
('derived', '#3f7fbf')
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from viewer import paths
from viewer.errors import DataError

LANGUAGES = ("en", "zh")


def words_path() -> Path:
    return Path(paths.ASSETS_DIR) / "words.yaml"


@functools.cache
def _words() -> dict:
    path = words_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot be read ({exc.__class__.__name__}); restore it from the repository") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("grades"), dict):
        raise DataError(f"{path}: not a words file (no 'grades' mapping); restore it from the repository")
    return doc


def section(name: str) -> dict[str, dict[str, str]]:
    """All entries of one section (``ui``, ``grades``, …): key -> {en, zh, …}."""
    return dict(_words().get(name) or {})


def word(section_name: str, key: str, lang: str) -> str:
    """The word ``key`` of ``section_name`` in ``lang`` (English where no translation exists, else the key)."""
    entry = _words().get(section_name, {}).get(key, {})
    return entry.get(lang) or entry.get("en") or key


def grades() -> tuple[str, ...]:
    """The grade names in the file's order: ``('sourced', 'derived', 'assumed')``."""
    return tuple(_words()["grades"])


def grade_word(grade: str, lang: str) -> str:
    return word("grades", grade, lang)


def grade_colour(grade: str) -> str:
    """The one colour a grade is shown in, as ``#rrggbb`` (grey for an unknown grade)."""
    return _words()["grades"].get(grade, {}).get("colour", "#888888")
