"""Load stage helper: strict, safe YAML that remembers the line of every key and item.

Parsing uses libyaml (PyYAML's C extension) when it is installed: about ten times faster,
which matters because every build reads every briefing's front matter. Anything libyaml
refuses is parsed again by PyYAML's pure-Python parser, so error messages (and the rare input
the two parsers judge differently) are exactly those of the pure-Python parser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from press.errors import ContentError, Problem

MAX_YAML_BYTES = 256 * 1024  # front matter and config files are small; refuse anything huge
MAX_DEPTH = 32  # lists in mappings in lists...: front matter needs four or five levels

KeyPath: TypeAlias = tuple[str | int, ...]  # ("authors", 0, "name"): keys and list indices
Lines: TypeAlias = dict[KeyPath, int]  # the file line of every key path


class _Core12(Resolver):
    """Which plain scalars are not text: YAML 1.2's core schema, made stricter still.

    PyYAML resolves by YAML 1.1, where ``12:30`` is the number 750 (base 60), ``062`` is 50
    (octal), ``yes``/``no``/``on``/``off`` are booleans and ``2009-02-30`` is a date that
    raises ValueError. Here only ``true``/``false``, ``null``/``~``, decimal integers without a
    leading zero and decimal fractions are typed; everything else (times, dates, codes with a
    leading zero, ``.nan``, ``.inf``) stays text, and the field checks decide what it means.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # PyYAML's own annotation is as loose


for _tag, _pattern, _first in (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        ("float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|"
                  r"^[-+]?[0-9]+[eE][-+]?[0-9]+$", "-+0123456789."),
):
    _Core12.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


# Characters refused in every YAML value, with why: a lone surrogate cannot be written as
# UTF-8 (it passes the checks, then fails the build); control characters are invisible; bidi
# embeddings, overrides and isolates make a title or an address display other than it reads.
_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
                        "\u202a-\u202e\u2066-\u2069]")


def bad_character(text: str) -> str | None:
    """A message for the first character of ``text`` no source file may hold, or None."""
    found = _BAD_CHARS.search(text)
    if not found:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        what = "a lone surrogate, which is not a character"
    elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        what = "a bidirectional control, which makes text display other than it reads"
    else:
        what = "a control character, which no editor shows"
    return f"U+{code:04X} is {what}"


class _Strict(Composer):
    """Composer step that refuses anchors/aliases (billion-laughs), tags and deep nesting."""

    if TYPE_CHECKING:  # given by the parser mixed in beside it (PyYAML's Parser or CParser)
        def check_event(self, *choices: Any) -> bool: ...
        def peek_event(self) -> Any: ...

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        depth = getattr(self, "_depth", 0)
        if depth >= MAX_DEPTH:
            raise yaml.MarkedYAMLError(
                None, None, f"values are nested more than {MAX_DEPTH} levels deep",
                self.peek_event().start_mark)
        self._depth = depth + 1
        try:
            return self._compose_checked(parent, index)
        finally:
            self._depth = depth

    def _compose_checked(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not allowed", event.start_mark)
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                None, None, "anchors (&name) are not allowed", event.start_mark)
        tag = getattr(event, "tag", None)
        implicit = getattr(event, "implicit", True)
        if tag is not None and not (any(implicit) if isinstance(implicit, tuple) else implicit):
            raise yaml.MarkedYAMLError(
                None, None, f"tags ({tag.replace('tag:yaml.org,2002:', '!!')}) are not allowed",
                event.start_mark)
        return super().compose_node(parent, index)


class _StrictLoader(_Strict, Reader, Scanner, Parser, Composer, SafeConstructor, _Core12):
    """Pure-Python SafeLoader with the strict composer: the reference, and the error reporter."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _Core12.__init__(self)


_FastLoader: type[_Fast] | None
if yaml.__with_libyaml__:
    from yaml._yaml import CParser  # what yaml.cyaml's loaders are made of

    class _Fast(_Strict, Composer, CParser, SafeConstructor, _Core12):
        """libyaml's scanner and parser under the same strict, pure-Python composer.

        libyaml's own composer would resolve aliases before we could refuse them, so only
        its events are used; composing is cheap next to scanning.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            _Core12.__init__(self)

    _FastLoader = _Fast
else:  # PyYAML built without libyaml: every document takes the pure-Python path
    _FastLoader = None


def _compose(text: str) -> tuple[Node | None, SafeConstructor]:
    """``(root node, loader)`` of ``text``; raises PyYAML's errors as the pure-Python parser
    words them."""
    # libyaml takes a tab inside a plain value ("a\tb") that PyYAML refuses, and reads a byte
    # order mark inside the text differently: both are rare in front matter, so text with
    # either keeps the pure-Python parser's verdict.
    if _FastLoader is not None and "\t" not in text and "\ufeff" not in text:
        try:
            fast = _FastLoader(text)  # (a lone surrogate fails here, in the UTF-8 encoding)
            return fast.get_single_node(), fast
        except (yaml.YAMLError, UnicodeError):
            pass  # parse again below, for the pure-Python parser's verdict and message
    loader = _StrictLoader(text)
    try:
        return loader.get_single_node(), loader
    finally:
        loader.dispose()


def load(text: str, path: Path | str, line_offset: int = 0) -> tuple[object, Lines]:
    """Parse ``text``; return ``(data, lines)`` where ``lines`` maps key paths to file lines.

    ``line_offset`` is added to every line so that front matter lines are lines of the file.
    """
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise ContentError.at(path, line_offset + 1,
                              f"YAML is larger than {MAX_YAML_BYTES // 1024} KB",
                              "front matter holds metadata; put prose in the body")
    if "\t" in text:
        for number, source in enumerate(text.splitlines(), 1):
            indent = source[: len(source) - len(source.lstrip())]
            if "\t" in indent:
                raise ContentError.at(path, line_offset + number,
                                      "tab used for indentation in YAML",
                                      "indent with spaces")
    try:
        node, loader = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = line_offset + (mark.line + 1 if mark else 1)
        problem = exc.problem or exc.context or "invalid YAML"
        opened = _unclosed_quote(text, mark.line if mark else 0)
        message, hint = plain_words(problem, text, mark)
        if opened:
            hint = f"the quote opened on line {opened + line_offset} is never closed"
        raise ContentError.at(path, line, f"invalid YAML: {message}", hint) from None
    except yaml.reader.ReaderError as exc:  # a control character, before any parsing
        line = line_offset + text[: exc.position].count("\n") + 1
        raise ContentError.at(path, line, "invalid YAML: control character "
                              f"U+{exc.character:04X} is not allowed",
                              "delete it; most editors do not show it") from None
    except yaml.YAMLError as exc:
        raise ContentError.at(path, line_offset + 1, f"invalid YAML: {exc}") from None
    lines: Lines = {}
    if node is None:
        return None, lines
    data = _convert(node, loader, (), lines, path, line_offset)
    return data, lines


def plain_words(problem: str, text: str, mark: Mark | None) -> tuple[str, str]:
    """``(message, hint)`` for a YAML parser error, in an author's words: what is wrong on the
    line, where (the column, and the text there when the line is long), and what to do."""
    lines = text.split("\n")
    source = lines[mark.line] if mark and mark.line < len(lines) else ""
    column = mark.column if mark else 0
    where = ""
    if mark and len(source) > 40:
        start = max(column - 12, 0)
        near = source[start:column + 18]
        near = (near.split(" ", 1)[-1] if start and " " in near[:12] else near).strip()
        where = f" at column {column + 1}, near '{visible(near)}'"
    value = source.partition(":")[2].strip()
    example = f'{source.partition(":")[0].strip()}: "{value[:40]}"' if value else ""
    if problem == "mapping values are not allowed here":
        if ":" in source[:column]:
            return (f"a colon followed by a space inside a value{where}",
                    "put the value in quotes" + (f", e.g. {example}" if example else ""))
        return (f"a line is indented more than the one before it{where}",
                "line up the fields of one level under each other")
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else ""
        return (f"a value cannot start with '{char}'{where}",
                "put the value in quotes" + (f", e.g. {example}" if example else ""))
    if problem.startswith("expected <block end>, but found '<block sequence start>'") or \
            problem.startswith("expected <block end>, but found '-'"):
        return (f"a list item is indented differently from the ones before it{where}",
                "start every '- ' of one list in the same column")
    if problem.startswith("expected <block end>, but found '<scalar>'"):
        return (f"text follows a closing quote{where}",
                "inside single quotes write an apostrophe as '' (two), or use double quotes")
    if problem.startswith("expected <block end>"):
        return (f"this line does not line up with the lines before it{where}",
                "check indentation: the fields of one level start in the same column")
    if problem == "found unexpected end of stream":
        return "a quote is never closed", "close the quote at the end of the value"
    if problem.startswith(("expected ',' or ']'", "expected ',' or '}'")):
        closing = "]" if "]" in problem else "}"
        return (f"a '{'[' if closing == ']' else '{'}' is never closed with '{closing}'",
                f"close it with '{closing}' on the same line, or put the value in quotes")
    if problem.startswith("could not find expected ':'"):
        return (f"a line is not a 'field: value' line{where}",
                "write 'field: value', or continue a long value by indenting it")
    return f"{problem}{where}", "check indentation, colons and quoting"


INVISIBLE = {"\u00a0": "a no-break space", "\u200b": "a zero-width space",
             "\u2009": "a thin space", "\u202f": "a narrow no-break space",
             "\ufeff": "a byte order mark", "\t": "a tab", "\u00ad": "a soft hyphen",
             "\u2028": "a line separator", "\u200e": "a left-to-right mark",
             "\u200f": "a right-to-left mark", "\u2060": "a word joiner"}


def visible(text: str) -> str:
    """``text`` with invisible characters named (``[a no-break space]``), for messages."""
    return "".join(f"[{INVISIBLE[c]}]" if c in INVISIBLE else
                   f"[U+{ord(c):04X}]" if not c.isprintable() else c for c in text)


def _unclosed_quote(text: str, last: int) -> int | None:
    """Line (1-based) of a ``key: "value`` whose quote is not closed on that line, if any."""
    for number, line in enumerate(text.split("\n")[: last + 1], 1):
        key, colon, value = line.partition(": ")
        value = value.strip()
        if colon and value[:1] in ("'", '"') and (len(value) == 1 or value[-1] != value[0]):
            return number
    return None


def _convert(node: Node, loader: SafeConstructor, key_path: KeyPath, lines: Lines,
             path: Path | str, offset: int) -> object:
    lines[key_path] = node.start_mark.line + 1 + offset
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ContentError.at(path, key_node.start_mark.line + 1 + offset,
                                      "keys must be plain names")
            key = str(loader.construct_object(key_node))
            if bad := bad_character(key):
                raise ContentError.at(path, key_node.start_mark.line + 1 + offset, bad)
            if key == "<<":
                raise ContentError.at(path, key_node.start_mark.line + 1 + offset,
                                      "merge keys (<<) are not allowed")
            if key in result:
                raise ContentError.at(path, key_node.start_mark.line + 1 + offset,
                                      f"duplicate key '{key}'",
                                      f"first given on line {lines[key_path + (key,)]}")
            result[key] = _convert(value_node, loader, key_path + (key,), lines, path, offset)
            lines[key_path + (key,)] = key_node.start_mark.line + 1 + offset
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, loader, key_path + (i,), lines, path, offset)
                for i, item in enumerate(node.value)]
    try:
        value = loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise ContentError.at(path, node.start_mark.line + 1 + offset,
                              f"invalid value: {exc}") from None
    if isinstance(value, str) and (bad := bad_character(value)):
        raise ContentError.at(path, node.start_mark.line + 1 + offset, bad,
                              "delete it; most editors do not show it")
    return value


def line_of(lines: Lines, *key_path: str | int) -> int | None:
    """Line of ``key_path``, or of its nearest parent that has one."""
    path: KeyPath = key_path
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def problem(path: Path | str, lines: Lines, key_path: KeyPath, message: str, hint: str = ""
            ) -> Problem:
    return Problem(path, line_of(lines, *key_path), message, hint)
