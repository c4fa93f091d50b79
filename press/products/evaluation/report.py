"""Evaluation stage: the counted answers → report.pdf (tagged, house style), responses.csv
and follow-up.csv (the call list of the telephone round).

Free text reaches the report only through the template's autoescaping, so an answer that
looks like HTML is shown as typed. A comment is quoted only with the respondent's consent and
only with the attribution they chose.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from press.core import csvsafe
from press.errors import Problems
from press.products.evaluation.returns import Answer, Keys
from press.products.mailing.model import Mailing
from press.products.mailing.questions import Question
from press.project import Project

if TYPE_CHECKING:
    from collections.abc import Iterable

QUOTE_ATTRIBUTION = {"role_and_agency", "anonymously"}


class ChoiceRow(TypedDict):
    label: str
    count: int
    share: float  # of the commonest answer's count: the bar's length


class Choices(TypedDict):
    """How a choice or yes/no question was answered (the report's template reads it)."""

    name: str
    label: str
    kind: str
    rows: list[ChoiceRow]
    unanswered: int


class Quote(TypedDict):
    text: str
    by: str


# recipient key -> the answer that counts
Counted = dict[str, Answer]


@dataclass
class Tally:
    recipients: int
    responses: int
    left_out: int
    choices: list[Choices] = field(default_factory=list)  # one per choice/yes-no question
    passed_to: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    withheld: int = 0  # comments without consent to quote
    topics: list[tuple[str, int]] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.responses / self.recipients if self.recipients else 0.0


def latest(answers: Iterable[Answer]) -> tuple[Counted, list[tuple[Answer, Answer]]]:
    """key → the answer that counts, and (not counted, counted) pairs.

    The later answer counts, except that a blank one (no question answered: a form sent back
    untouched) never replaces an answer: it counts only if nothing else came from that agency,
    so it cannot drop an agency that answered by telephone off the count and the call list.
    """
    counted: Counted = {}
    replaced: list[tuple[Answer, Answer]] = []
    for answer in sorted(answers, key=lambda a: (not a.blank, a.order)):
        if answer.key in counted:
            replaced.append((counted[answer.key], answer))
        counted[answer.key] = answer
    return counted, replaced


def tally(mailing: Mailing, keys: Keys, counted: Counted, questions: tuple[Question, ...],
          left_out: int) -> Tally:
    result = Tally(len(keys), len(counted), left_out)
    answers = [counted[k] for k in keys if k in counted]  # recipients-file order
    for question in questions:
        if question.kind not in ("choice", "yesno"):
            continue
        counts = Counter(a.values.get(question.name) for a in answers)
        top = max([counts[v] for v, _ in question.choices] + [1])
        result.choices.append({
            "name": question.name, "label": question.label, "kind": question.kind,
            "rows": [{"label": label, "count": counts[value],
                      "share": counts[value] / top} for value, label in question.choices],
            "unanswered": counts[None]})
    result.passed_to = [p for a in answers if (p := a.values.get("passed_to"))]
    for answer in answers:
        comment = answer.values.get("comments")
        if not comment:
            continue
        permission = answer.values.get("quote_permission")
        if permission not in QUOTE_ATTRIBUTION:
            result.withheld += 1
            continue
        recipient = keys[answer.key]
        if permission == "role_and_agency":
            role = answer.values.get("role") or "Link officer"
            by = f"{role}, {recipient.agency}"
        else:
            by = "A partner agency (anonymously)"
        result.quotes.append({"text": comment, "by": by})
    written: dict[str, Counter[str]] = {}
    for answer in answers:
        topic = answer.values.get("next_indicator")
        if topic:
            written.setdefault(topic_key(topic), Counter())[" ".join(topic.split())] += 1
    # the shortest of the commonest ways of writing it: "NI 19", not "NI 19 re-offending"
    ranked = [(min(_commonest(forms), key=lambda t: (len(t), t)), sum(forms.values()))
              for forms in written.values()]
    result.topics = sorted(ranked, key=lambda t: (-t[1], t[0].casefold()))
    result.channels = dict(Counter(a.channel for a in answers))
    return result


NI_RE = re.compile(r"\s*(?:NI|national\s+indicator)\s*[-.:#]?\s*(\d{1,4})(?!\d)", re.I)


def topic_key(topic: str) -> str:
    """What ranks as one next topic: a national indicator by its number ("NI 19",
    "NI 19 (re-offending)", "ni19 re-offending"), anything else by its words."""
    match = NI_RE.match(topic)
    if match:
        return f"ni {int(match[1])}"
    return " ".join(re.sub(r"[^\w]+", " ", topic.casefold()).split())


def _commonest(forms: Counter[str]) -> list[str]:
    top = max(forms.values())
    return [text for text, n in forms.items() if n == top]


# The report's text face (layouts/evaluation.css): answers are fitted to its glyphs.
REPORT_FAMILY = "Lato"


def fitted_to_fonts(project: Project, counted: Counted, source: Path, problems: Problems
                    ) -> Counted:
    """The answers as the report shows them: a character the house fonts lack (an emoji, CJK)
    written as ``[U+1F600]``, with a warning naming the return, instead of failing the whole
    report at the glyph check. responses.csv keeps the answers as given."""
    from press.render import typeset

    cmap = typeset.family_cmap(project.assets / "fonts", REPORT_FAMILY)
    if not cmap:  # no house fonts: the glyph check has nothing to say either
        return counted

    def fit(text: str | None) -> str | None:
        if not text or text.isascii():
            return text
        return "".join(c if ord(c) in cmap or not typeset.draws_glyph(c)
                       else f"[U+{ord(c):04X}]" for c in text)

    shown: Counted = {}
    for key, answer in counted.items():
        values = {name: fit(value) for name, value in answer.values.items()}
        changed = [name for name, value in values.items() if value != answer.values[name]]
        if changed:
            problems.warn(source / answer.source.split(":")[0], None,
                          f"{', '.join(changed)}: characters the house fonts lack are shown "
                          "in the report as [U+code]", "responses.csv has them as given")
            answer = replace(answer, values=values)
        shown[key] = answer
    return shown


def render_report(project: Project, mailing: Mailing, result: Tally) -> bytes:
    """report.pdf: laid out and written like a web edition (tagged PDF/UA-1)."""
    from press.briefing import layout
    from press.model import Page
    from press.render import typeset, web

    env = layout.environment(project.layouts)
    html = env.get_template("evaluation.html").render(
        mailing=mailing, series=mailing.series, tally=result, date_label=mailing.date_label,
        created=mailing.date.isoformat(),
        css_url=layout.file_url(project.layouts / "evaluation.css"),
        asset=lambda rel: layout.file_url(project.assets / rel))
    page = Page(html=html, base_url=layout.file_url(project.layouts) + "/",
                name="layouts/evaluation.html")
    laid_out = typeset.render(page, project.root)
    return web.write_web(laid_out, None, f"evaluation/{mailing.id}")


def responses_csv(keys: Keys, counted: Counted, questions: tuple[Question, ...]) -> str:
    header = ["agency", "link_officer", "channel", "source"] + [q.name for q in questions]
    rows = []
    for key, recipient in keys.items():
        answer = counted.get(key)
        if answer is not None:
            rows.append([recipient.agency, recipient.link_officer, answer.channel,
                         answer.source] + [answer.values.get(q.name) or "" for q in questions])
    return csvsafe.write(header, rows)


def follow_up_csv(mailing: Mailing, keys: Keys, counted: Counted) -> str:
    phones = telephones(mailing.recipients_path)
    rows = [[r.agency, r.link_officer, r.email, phones.get(r.line, "")]
            for key, r in keys.items() if key not in counted]
    return csvsafe.write(["agency", "link_officer", "email", "telephone"], rows)


def telephones(path: Path) -> dict[int, str]:
    """Row → telephone, from the recipients file's optional ``telephone`` column (the mailing
    loader checks the file; it keeps no telephone numbers of its own)."""
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "telephone" not in header:
        return {}
    column = header.index("telephone")
    phones: dict[int, str] = {}
    while True:
        start = reader.line_num + 1  # the row's first line, as the mailing loader counts
        row = next(reader, None)
        if row is None:
            return phones
        if len(row) > column and row[column].strip():
            phones[start] = " ".join(row[column].split())
