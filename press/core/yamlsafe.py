"""Load stage helper: strict, safe YAML that remembers the line of every key and item.

Parsing uses libyaml (PyYAML's C extension) when it is installed: about ten times faster,
which matters because every build reads every briefing's front matter. Anything libyaml
refuses is parsed again by PyYAML's pure-Python parser, so error messages (and the rare input
the two parsers judge differently) are exactly those of the pure-Python parser.
"""

from __future__ import annotations

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from press.errors import ContentError, Problem

MAX_YAML_BYTES = 256 * 1024  # front matter and config files are small; refuse anything huge


class _Strict:
    """Composer step that refuses anchors/aliases (billion-laughs) and tags."""

    def compose_node(self, parent, index):
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


class _StrictLoader(_Strict, yaml.SafeLoader):
    """Pure-Python SafeLoader with the strict composer: the reference, and the error reporter."""


if yaml.__with_libyaml__:
    class _FastLoader(_Strict, Composer, yaml.cyaml.CParser, SafeConstructor, Resolver):
        """libyaml's scanner and parser under the same strict, pure-Python composer.

        libyaml's own composer would resolve aliases before we could refuse them, so only
        its events are used; composing is cheap next to scanning.
        """

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # PyYAML built without libyaml: every document takes the pure-Python path
    _FastLoader = None


def _compose(text: str):
    """``(root node, loader)`` of ``text``; raises PyYAML's errors as the pure-Python parser
    words them."""
    # libyaml takes a tab inside a plain value ("a\tb") that PyYAML refuses, and reads a byte
    # order mark inside the text differently: both are rare in front matter, so text with
    # either keeps the pure-Python parser's verdict.
    if _FastLoader is not None and "\t" not in text and "\ufeff" not in text:
        try:
            loader = _FastLoader(text)  # (a lone surrogate fails here, in the UTF-8 encoding)
            return loader.get_single_node(), loader
        except (yaml.YAMLError, UnicodeError):
            pass  # parse again below, for the pure-Python parser's verdict and message
    loader = _StrictLoader(text)
    try:
        return loader.get_single_node(), loader
    finally:
        loader.dispose()


def load(text: str, path, line_offset: int = 0) -> tuple[object, dict[tuple, int]]:
    """Parse ``text``; return ``(data, lines)`` where ``lines`` maps key paths to file lines.

    ``line_offset`` is added to every line so that front matter lines are lines of the file.
    """
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise ContentError.at(path, line_offset + 1,
                              f"YAML is larger than {MAX_YAML_BYTES // 1024} KB",
                              "front matter holds metadata; put prose in the body")
    if "\t" in text:
        for number, line in enumerate(text.splitlines(), 1):
            indent = line[: len(line) - len(line.lstrip())]
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
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines
    data = _convert(node, loader, (), lines, path, line_offset)
    return data, lines


def plain_words(problem: str, text: str, mark) -> tuple[str, str]:
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


def _convert(node, loader, key_path, lines, path, offset):
    lines[key_path] = node.start_mark.line + 1 + offset
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ContentError.at(path, key_node.start_mark.line + 1 + offset,
                                      "keys must be plain names")
            key = str(loader.construct_object(key_node))
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
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ContentError.at(path, node.start_mark.line + 1 + offset,
                              f"invalid value: {exc}") from None


def line_of(lines: dict[tuple, int], *key_path) -> int | None:
    """Line of ``key_path``, or of its nearest parent that has one."""
    key_path = tuple(key_path)
    while key_path not in lines and key_path:
        key_path = key_path[:-1]
    return lines.get(key_path)


def problem(path, lines, key_path, message, hint="") -> Problem:
    return Problem(path, line_of(lines, *key_path), message, hint)
