"""Fields: the one kit for checking values read from YAML files (briefings, series, bundles,
mailings), so that the same slip gets the same message in every kind of file.

Each check is ``check(value, name) -> cleaned value`` and raises :class:`Invalid`;
:class:`Checker` runs checks against one file's data and turns failures into problems located
at the field's line.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from press.core import yamlsafe
from press.errors import Problems, did_you_mean

T = TypeVar("T")

PUBLISHED_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class Invalid(Exception):
    def __init__(self, message: str, hint: str = "", sub: Iterable[str | int] = ()) -> None:
        super().__init__(message)
        self.message, self.hint, self.sub = message, hint, tuple(sub)


def text(value: object, name: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise Invalid(f"'{name}' must be text", "write it as a plain value")
    text = str(value).strip()
    if not text:
        raise Invalid(f"'{name}' must not be empty")
    return text


def mapping(value: object, name: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"'{name}' must be a mapping of fields",
                       "indent its fields under it, e.g. 'code: NI 62'")
    return value


def items(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(f"'{name}' must be a list", "write each item on a line starting '- '")
    return value


def fields(value: object, name: str, allowed: Collection[str], required: Iterable[str]
           ) -> dict[Any, Any]:
    data = mapping(value, name)
    for key in data:
        if key not in allowed:
            raise Invalid(f"unknown field '{key}' in '{name}'", did_you_mean(key, allowed),
                           sub=(key,))
    for key in required:
        if data.get(key) in (None, ""):
            raise Invalid(f"'{name}' needs '{key}'")
    return data


def isbn13_ok(isbn: str) -> bool:
    digits = re.sub(r"[\s-]", "", isbn)
    if not re.fullmatch(r"\d{13}", digits):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def published(value: object, name: str) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    written = text(value, name)
    match = PUBLISHED_RE.match(written)
    if not match:
        raise Invalid(f"'{name}' must be YYYY-MM or YYYY-MM-DD, not '{written}'")
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month), int(day or 1))
    except ValueError:
        raise Invalid(f"'{name}' is not a real date: '{written}'") from None
    return written


def date(value: object, name: str) -> dt.date:
    """A calendar date: YAML's own (``2009-04-01`` unquoted) or text in that form."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"'{name}' must be a date like 2009-04-01, not {value!r}") from None


def positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"'{name}' must be a positive whole number, not {value!r}")
    return value


def price(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or not math.isfinite(value) or value > 1_000_000:
        raise Invalid(f"'{name}' must be a number of pounds, e.g. 12.50, not {value!r}")
    return round(float(value), 2)


def isbn(value: object, name: str) -> str:
    written = text(value, name)
    if not isbn13_ok(written):
        raise Invalid(f"'{name}' {written} is not a valid ISBN-13",
                      "13 digits starting 978 or 979; the last digit is a checksum")
    return written


def text_list(value: object, name: str) -> tuple[str, ...]:
    return tuple(text(item, f"{name}[{i + 1}]") for i, item in enumerate(items(value, name)))


REPR_RE = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def readable(message: str) -> str:
    """``message`` with Python's escapes in quoted values ('final\\xa0') shown as what an
    author sees: 'final' followed by a no-break space."""
    def fix(match: re.Match[str]) -> str:
        quoted = match.group(0)
        if "\\" not in quoted:
            return quoted
        try:
            value = ast.literal_eval(quoted)
        except (ValueError, SyntaxError):
            return quoted
        if not isinstance(value, str):
            return quoted
        core = value.strip("".join(yamlsafe.INVISIBLE) + " ")
        start = value.index(core) if core else len(value)
        before, after = value[:start], value[start + len(core):]
        shown = f"'{yamlsafe.visible(core)}'"
        if before:
            shown += " preceded by " + _named(before)
        if after:
            shown += (" and" if before else "") + " followed by " + _named(after)
        return shown
    return REPR_RE.sub(fix, message)


def _named(chars: str) -> str:
    names = [yamlsafe.INVISIBLE.get(c, "a space" if c == " " else f"U+{ord(c):04X}")
             for c in chars]
    return " and ".join(names)


def https_url(value: object, name: str) -> str:
    """A web address that becomes a link and a QR code in every PDF: https only, with a host,
    no spaces (``file:///etc/passwd`` or ``javascript:`` would be printed and linked)."""
    written = text(value, name)
    parts = urlsplit(written)
    if parts.scheme.lower() != "https" or not parts.hostname or re.search(r"\s", written):
        raise Invalid(f"'{name}' must be a web address starting https://, not '{written[:80]}'",
                      "e.g. https://www.example.org/publications")
    return written


def names(value: object, name: str) -> tuple[str, ...]:
    """A list of at least one name (a reference's authors: the citation needs the first)."""
    listed = items(value, name)
    # {literal: Department for Children, Schools and Families}: an organisation, never split
    # at its comma (written "{...}" for Name.parse, as BibTeX's double braces)
    found = tuple(
        "{" + text(item["literal"], f"{name}[{i + 1}].literal") + "}"
        if isinstance(item, dict) and set(item) == {"literal"} else text(item, f"{name}[{i + 1}]")
        for i, item in enumerate(listed))
    if not found:
        raise Invalid(f"'{name}' must list at least one name", "e.g. '- Ward, H.'")
    return found


class Checker:
    """Runs field checks against one file's data, turning failures into located problems."""

    def __init__(self, path: Path, lines: yamlsafe.Lines, problems: Problems) -> None:
        self.path, self.lines, self.problems = path, lines, problems
        self.ok = True
        # the file's data, once top() has seen it (names items by their id)
        self.data: object = None

    def name(self, key_path: yamlsafe.KeyPath) -> str:
        """``references[ward2001].year`` for ``("references", 6, "year")``: an item of a list
        is named by its id when it has one, else by its position counted from 1."""
        out, node = "", self.data
        for key in key_path:
            if isinstance(key, int):
                item = node[key] if isinstance(node, list) and key < len(node) else None
                ident = item.get("id") if isinstance(item, dict) else None
                out += f"[{ident}]" if isinstance(ident, (str, int)) and str(ident).strip() \
                    else f"[{key + 1}]"
                node = item
            else:
                out += ("." if out else "") + str(key)
                node = node.get(key) if isinstance(node, dict) else None
        return out

    def __call__(self, func: Callable[..., T], value: object, *key_path: str | int,
                 **kwargs: Any) -> T | None:
        """``func(value, name, **kwargs)``, or None (and a problem) when it raises Invalid."""
        try:
            return func(value, self.name(key_path), **kwargs)
        except Invalid as exc:
            self.ok = False
            self.problems.items.append(
                yamlsafe.problem(self.path, self.lines, key_path + exc.sub,
                                 readable(exc.message), exc.hint))
            return None

    def fail(self, key_path: Iterable[str | int], message: str, hint: str = "") -> None:
        self.ok = False
        self.problems.items.append(
            yamlsafe.problem(self.path, self.lines, tuple(key_path), readable(message), hint))

    def top(self, data: object, allowed: Collection[str], required: Iterable[str], what: str
            ) -> dict[Any, Any]:
        self.data = data
        if not isinstance(data, dict):
            self.ok = False
            self.problems.error(self.path, yamlsafe.line_of(self.lines) or 1,
                                f"{what} must be a mapping of 'field: value' lines")
            return {}
        for key in data:
            if key not in allowed:
                self.ok = False
                self.problems.error(self.path, yamlsafe.line_of(self.lines, key),
                                    f"unknown field '{key}'", did_you_mean(key, allowed))
        for key in required:
            if key not in data or data[key] is None:
                self.ok = False
                self.problems.error(self.path, yamlsafe.line_of(self.lines) or 1,
                                    f"missing required field '{key}'")
        return data


def is_file(path: str | Path) -> bool:
    """``path`` names a file: False, not an exception, for a name the system refuses (too long
    for the file system, say), which is an author's slip like a file that is not there."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False
