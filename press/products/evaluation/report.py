"""Evaluation stage: the counted answers → report.pdf (tagged, house style), responses.csv
and follow-up.csv (the call list of the telephone round).

Free text reaches the report only through the template's autoescaping, so an answer that
looks like HTML is shown as typed. A comment is quoted only with the respondent's consent and
only with the attribution they chose.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from press.core import csvsafe
from press.products.evaluation.returns import Answer
from press.products.mailing.model import Mailing, Recipient
from press.products.mailing.questions import Question
from press.project import Project

QUOTE_ATTRIBUTION = {"role_and_agency", "anonymously"}


@dataclass(frozen=True)
class ChoiceRow:
    """One option of a question: how many chose it, and its bar's length (the most chosen
    option's is 1)."""

    label: str
    count: int
    share: float


@dataclass(frozen=True)
class ChoiceCount:
    """The answers to one choice or yes/no question."""

    name: str
    label: str
    kind: str  # "choice" or "yesno"
    rows: list[ChoiceRow]
    unanswered: int


@dataclass(frozen=True)
class Quote:
    """A comment that may be quoted, with the attribution its author chose."""

    text: str
    by: str


@dataclass
class Tally:
    recipients: int
    responses: int
    left_out: int
    choices: list[ChoiceCount] = field(default_factory=list)  # one per choice/yes-no question
    passed_to: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    withheld: int = 0  # comments without consent to quote
    topics: list[tuple[str, int]] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.responses / self.recipients if self.recipients else 0.0


@dataclass(frozen=True)
class Superseded:
    """A recipient answered twice: the later answer counts."""

    earlier: Answer
    later: Answer


def latest(answers: Iterable[Answer]) -> tuple[dict[str, Answer], list[Superseded]]:
    """key → the answer that counts (the later one), and the answers it replaced."""
    counted: dict[str, Answer] = {}
    replaced: list[Superseded] = []
    for answer in sorted(answers, key=lambda a: a.order):
        if answer.key in counted:
            replaced.append(Superseded(counted[answer.key], answer))
        counted[answer.key] = answer
    return counted, replaced


def tally(mailing: Mailing, keys: dict[str, Recipient], counted: dict[str, Answer],
          questions: tuple[Question, ...], left_out: int) -> Tally:
    result = Tally(len(keys), len(counted), left_out)
    answers = [counted[k] for k in keys if k in counted]  # recipients-file order
    for question in questions:
        if question.kind not in ("choice", "yesno"):
            continue
        counts = Counter(a.values.get(question.name) for a in answers)
        top = max([counts[v] for v, _ in question.choices] + [1])
        result.choices.append(ChoiceCount(
            question.name, question.label, question.kind,
            [ChoiceRow(label, counts[value], counts[value] / top)
             for value, label in question.choices],
            counts[None]))
    result.passed_to = [passed for a in answers if (passed := a.values.get("passed_to"))]
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
        result.quotes.append(Quote(comment, by))
    written: dict[str, Counter[str]] = {}
    for answer in answers:
        topic = answer.values.get("next_indicator")
        if topic:
            written.setdefault(" ".join(topic.casefold().split()), Counter())[
                " ".join(topic.split())] += 1
    ranked = [(forms.most_common(1)[0][0], sum(forms.values())) for forms in written.values()]
    result.topics = sorted(ranked, key=lambda t: (-t[1], t[0].casefold()))
    result.channels = dict(Counter(a.channel for a in answers))
    return result


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


def responses_csv(keys: dict[str, Recipient], counted: dict[str, Answer],
                  questions: tuple[Question, ...]) -> str:
    header = ["agency", "link_officer", "channel", "source"] + [q.name for q in questions]
    rows = []
    for key, recipient in keys.items():
        answer = counted.get(key)
        if answer is not None:
            rows.append([recipient.agency, recipient.link_officer, answer.channel,
                         answer.source] + [answer.values.get(q.name) or "" for q in questions])
    return csvsafe.write(header, rows)


def follow_up_csv(mailing: Mailing, keys: dict[str, Recipient], counted: dict[str, Answer]
                  ) -> str:
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
