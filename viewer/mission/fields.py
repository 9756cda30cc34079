"""Checked reading of a YAML file into values: the field rules every data file of the project shares.

:class:`FieldReader` reads one file with a safe YAML loader that keeps times as strings and refuses duplicate keys,
and checks each field as it is taken (mapping keys, non-empty one-line strings, ids, numbers in range, texts in
English and Chinese, UTC times, grades, source ids, graded facts). The first broken rule raises
:class:`~viewer.errors.DataError` with one line naming the file, the key path (``events[12].caption.zh``) and the
rule. The mission file's sections are read by :class:`viewer.mission.sections.MissionReader`; the kiosk file's by
:mod:`viewer.ui.kiosk_config`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from viewer.epochs import et_from_utc
from viewer.errors import DataError, InputError
from viewer.mission.records import GRADES, LANGUAGES, Fact, Text

UTC_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
# A "Latin word" in a Chinese text: starts with a Latin letter (or Δ, for Δv) and runs over letters, digits, - / '.
LATIN_WORD = re.compile(r"[A-Za-zΔ][A-Za-z0-9'’/\-]*")


class _Loader(yaml.SafeLoader):
    """Safe YAML without timestamp conversion (times stay strings) and with duplicate keys as errors."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class FieldReader:
    """Reads one YAML file field by field, failing on the first broken rule with a one-line DataError.

    ``proper_names`` are the Latin words allowed in Chinese texts; ``source_ids`` the ids a ``sources`` list may
    cite. Subclasses read the sections of their file with these methods.
    """

    def __init__(self, path: Path):
        self.path = path
        self.proper_names: set[str] = set()
        self.source_ids: set[str] = set()

    def fail(self, key: str, problem: str):
        problem = " ".join(str(problem).split())
        raise DataError(f"{self.path}: {key or '(top level)'}: {problem}", path=self.path)

    def load_yaml(self) -> Any:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})", path=self.path) from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read ({exc.strerror or exc})", path=self.path) from None
        try:
            return yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
            msg = " ".join(
                f"{self.path}:{mark.line + 1 if mark else '?'}: YAML syntax error at {where}: {problem}".split()
            )
            raise DataError(msg, path=self.path) from None

    def mapping(self, node: Any, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(node, dict):
            self.fail(key, f"expected a mapping with keys {', '.join(required)}, got {type(node).__name__}")
        allowed = set(required) | set(optional)
        for k in node:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k), f"unknown key (allowed here: {', '.join(sorted(allowed))})")
        for k in required:
            if k not in node:
                self.fail(f"{key}.{k}" if key else k, "required key is missing")
        return node

    def seq(self, node: Any, key: str) -> list:
        if not isinstance(node, list):
            self.fail(key, f"expected a list, got {type(node).__name__}")
        return node

    def string(self, node: Any, key: str, *, nullable: bool = False) -> str | None:
        if node is None and nullable:
            return None
        if not isinstance(node, str) or not node.strip():
            self.fail(key, f"expected a non-empty string, got {node!r}")
        if "\n" in node.strip():
            self.fail(key, "must be one line")
        return node.strip()

    def ident(self, node: Any, key: str) -> str:
        s = self.string(node, key)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", s):
            self.fail(key, f"id {s!r} may use only letters, digits, _ and -")
        return s

    def number(self, node: Any, key: str, lo: float = -math.inf, hi: float = math.inf, *, nullable=False):
        if node is None and nullable:
            return None
        if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
            self.fail(key, f"expected a number, got {node!r}")
        if not lo <= node <= hi:
            self.fail(key, f"{node} is outside [{lo:g}, {hi:g}]")
        return float(node)

    def text(self, node: Any, key: str) -> Text:
        d = self.mapping(node, key, LANGUAGES)
        en = self.string(d["en"], f"{key}.en")
        zh = self.chinese(d["zh"], f"{key}.zh")
        if zh is None:
            self.fail(f"{key}.zh", "expected a non-empty string, got None")
        return Text(en=en, zh=zh)

    def chinese(self, node: Any, key: str) -> str | None:
        """An optional one-line Chinese text (``*_zh`` fields): no Latin words but ``proper_names``."""
        zh = self.string(node, key, nullable=True)
        for word in LATIN_WORD.findall(zh or ""):
            if word not in self.proper_names:
                self.fail(key, f"Latin word {word!r} in Chinese text; translate it or list it in proper_names")
        return zh

    def time(self, node: Any, key: str) -> tuple[str, float]:
        if not isinstance(node, str) or not UTC_PATTERN.match(node):
            self.fail(key, f'time {node!r} is not UTC ISO with Z; write it in quotes like "2024-06-01T22:23:16Z"')
        try:
            return node, et_from_utc(node)
        except InputError as exc:
            self.fail(key, f'{exc}; write a real UTC time like "2024-06-01T22:23:16Z"')

    def grade(self, node: Any, key: str) -> str:
        if node not in GRADES:
            self.fail(key, f"grade {node!r} is not one of {', '.join(GRADES)}")
        return node

    def sources(self, node: Any, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        ids = self.seq(node, key)
        if not ids and not allow_empty:
            self.fail(key, "needs at least one source id")
        for i, s in enumerate(ids):
            if s not in self.source_ids:
                self.fail(f"{key}[{i}]", f"unknown source id {s!r}; add it to sources: or fix the id")
        return tuple(ids)

    def unique(self, ids: list[str], key: str, what: str) -> None:
        seen: dict[str, int] = {}
        for i, x in enumerate(ids):
            if x in seen:
                self.fail(f"{key}[{i}].id", f"duplicate {what} id {x!r} (also at {key}[{seen[x]}])")
            seen[x] = i

    def fact(self, node: Any, key: str, *, with_id: bool, with_label: bool) -> Fact:
        req = ("value", "grade", "grade_note", "sources") + (("id",) if with_id else ())
        opt = ("unit",) + (("label",) if with_label else ())
        d = self.mapping(node, key, req, opt)
        value = d["value"]
        if isinstance(value, list):
            if len(value) != 2:
                self.fail(f"{key}.value", "a range is written [low, high]")
            lo = self.number(value[0], f"{key}.value[0]")
            hi = self.number(value[1], f"{key}.value[1]")
            if hi < lo:
                self.fail(f"{key}.value", f"range [{lo:g}, {hi:g}] has high < low")
            value = (lo, hi)
        else:
            value = self.number(value, f"{key}.value")
        return Fact(
            id=self.ident(d["id"], f"{key}.id") if with_id else key.rsplit(".", 1)[-1],
            value=value,
            unit=self.string(d.get("unit"), f"{key}.unit", nullable=True),
            grade=self.grade(d["grade"], f"{key}.grade"),
            grade_note=self.string(d["grade_note"], f"{key}.grade_note"),
            sources=self.sources(d["sources"], f"{key}.sources"),
            label=self.text(d["label"], f"{key}.label") if "label" in d else None,
        )

    def sorted_by(self, ets: list[float], labels: list[str], key: str, field_name: str) -> None:
        for i in range(1, len(ets)):
            if ets[i] < ets[i - 1]:
                self.fail(
                    f"{key}[{i}].{field_name}",
                    f"{labels[i]} is earlier than {key}[{i - 1}].{field_name} {labels[i - 1]}; "
                    f"keep {key} sorted by {field_name}",
                )
