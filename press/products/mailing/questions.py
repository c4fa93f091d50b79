"""Mailing, questions: the feedback questions, the default set and a mailing's own changes.

The default set follows the series' evaluation (the seed presentation). A mailing may reword
or add questions in an optional ``content/mailings/<id>.feedback.yaml``, read here with the
shared field checks, so the mailing file itself keeps its schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from press.core import fields, yamlsafe
from press.errors import Problems

KINDS = ("choice", "yesno", "text", "textarea")
YES_NO = (("yes", "Yes"), ("no", "No"))
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Field names the form uses itself, and the columns the answers CSV and responses.csv have
# besides the questions: a question may not take them.
RESERVED = {"agency", "link_officer", "items_sent", "bp_form_id", "bp_reference",
            "source", "channel", "date"}


@dataclass(frozen=True)
class Question:
    name: str  # the form field's name and the CSV column
    kind: str  # choice, yesno, text or textarea
    label: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for choice and yesno

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        return YES_NO if self.kind == "yesno" else self.options


DEFAULT_QUESTIONS = (
    Question("usefulness", "choice", "How useful did you find the briefing?",
             (("not_useful", "Not useful"), ("useful", "Useful"),
              ("highly_useful", "Highly useful"))),
    Question("passed_on", "yesno", "Have you passed it on to others?"),
    Question("passed_to", "text", "If yes, to whom?"),
    Question("prompted_reflection", "yesno",
             "Did the performance pointer questions prompt a reflection on policy and "
             "practice?"),
    Question("looked_at_examples", "yesno", "Did you look at the examples of promising "
             "practice?"),
    Question("comments", "textarea", "Comments"),
    Question("quote_permission", "choice", "May we quote your comments?",
             (("role_and_agency", "Yes, with my role and agency"),
              ("anonymously", "Yes, anonymously"), ("no", "No"))),
    Question("role", "text", "Your role (shown with a quote only if you allow it)"),
    Question("next_indicator", "text", "Which indicator should the next briefing cover?"),
)


def feedback_file(mailings_dir: Path, mailing_id: str) -> Path:
    return mailings_dir / f"{mailing_id}.feedback.yaml"


def load_questions(mailings_dir: Path, mailing_id: str) -> tuple[Question, ...]:
    """The default questions, reworded and extended by the mailing's feedback file if any.

    The file holds ``questions:``, a list of ``{name, label, kind, options}``; a ``name`` of
    the default set rewords it (``label``, and the labels of its ``options``), a new name adds
    a question after the default ones (``kind`` and, for ``choice``, ``options`` needed).
    """
    path = feedback_file(mailings_dir, mailing_id)
    if not path.is_file():
        return DEFAULT_QUESTIONS
    data, lines = yamlsafe.load(path.read_text(encoding="utf-8"), path)
    problems = Problems()
    check = fields.Checker(path, lines, problems)
    data = check.top(data, ("questions",), ("questions",), "a feedback file")
    entries = check(fields.items, data.get("questions", []), "questions") or []
    result = {q.name: q for q in DEFAULT_QUESTIONS}
    for i, entry in enumerate(entries):
        key = ("questions", i)
        entry = check(fields.fields, entry, *key, allowed=("name", "label", "kind", "options"),
                      required=("name",))
        if entry is None:
            continue
        name = check(fields.text, entry["name"], *key, "name")
        if name is None:
            continue
        if not NAME_RE.match(name) or name in RESERVED:
            check.fail(key + ("name",), f"'{name}' cannot be a question name",
                       "lower-case letters, digits and _, e.g. used_in_meetings")
            continue
        old = result.get(name)
        label = check(fields.text, entry.get("label", old.label if old else None), *key,
                      "label")
        kind = old.kind if old else check(_kind, entry.get("kind"), *key, "kind")
        if old and "kind" in entry and entry["kind"] != old.kind:
            check.fail(key + ("kind",), f"'{name}' is a {old.kind} question; its kind is fixed")
        options: tuple[tuple[str, str], ...] | None = old.options if old else ()
        if "options" in entry:
            options = check(_options, entry["options"], *key, "options",
                            fixed=[v for v, _ in old.options] if old else None)
        if label is None or kind is None or options is None:
            continue
        if kind == "choice" and not options:
            check.fail(key, f"choice question '{name}' needs 'options'",
                       "a mapping of value: label lines")
            continue
        result[name] = replace(old, label=label, options=options) if old else \
            Question(name, kind, label, options if kind == "choice" else ())
    problems.raise_if_errors()
    return tuple(result.values())


def _kind(value: object, name: str) -> str:
    kind = fields.text(value, name)
    if kind not in KINDS:
        raise fields.Invalid(f"'{name}' must be one of {', '.join(KINDS)}, not '{kind}'")
    return kind


def _options(value: object, name: str, fixed: list[str] | None = None
             ) -> tuple[tuple[str, str], ...]:
    options = fields.mapping(value, name)
    pairs: list[tuple[str, str]] = []
    for key, label in options.items():
        if not NAME_RE.match(str(key)):
            raise fields.Invalid(f"option '{key}' in '{name}' is not a plain value",
                                 "lower-case letters, digits and _", sub=(key,))
        pairs.append((str(key), fields.text(label, f"{name}.{key}")))
    if fixed is not None and [v for v, _ in pairs] != fixed:
        raise fields.Invalid(f"'{name}' may reword the options' labels, not change them",
                             "keep the values " + ", ".join(fixed))
    return tuple(pairs)

