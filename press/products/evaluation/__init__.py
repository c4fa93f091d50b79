"""Evaluation stage: a mailing's returned feedback → report.pdf, responses.csv, follow-up.csv.

``build.py mailing ID`` writes the feedback forms (``forms.write_feedback``); the returned forms
and answer CSVs go into ``content/evaluations/ID/``; ``build.py evaluation ID`` reads them
(``returns``), counts them and writes ``output/evaluations/ID/`` (``report``). Returns that
cannot be used are reported by file name and left out; the report is still written from the
rest and says how many were left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from press.errors import Problem
from press.project import Project


@dataclass
class Evaluation:
    folder: Path
    summary: str
    problems: list[Problem]
    left_out: int


def build_evaluation(project: Project, mailing_id: str) -> Evaluation:
    """Read the returns of mailing ``mailing_id`` and write its evaluation folder."""
    # Imported here: the mailing stage imports press.products.mailing.feedback, and this
    # package's __init__ runs first, so a module-level import would be a cycle.
    from press.core import output
    from press.products.evaluation import report
    from press.products.evaluation.returns import read_returns
    from press.products.mailing import load_mailing
    from press.products.mailing.feedback import recipient_keys
    from press.products.mailing.questions import load_questions

    mailing = load_mailing(project, mailing_id)
    questions = load_questions(project.mailings_dir, mailing.id)
    keys = recipient_keys(mailing.recipients)
    source = project.evaluations_dir / mailing.id
    returns = read_returns(source, mailing, questions)
    problems = returns.problems
    counted, replaced = report.latest(returns.answers)
    for dropped, kept in replaced:
        agency = keys[kept.key].agency
        if dropped.blank and dropped.order > kept.order:
            problems.warn(source / dropped.source.split(":")[0], None,
                          f"a blank form from '{agency}' is not counted: the answer in "
                          f"{kept.source} counts")
        else:
            problems.warn(source / kept.source.split(":")[0], None,
                          f"a second answer from '{agency}': this one counts, the earlier "
                          f"one ({dropped.source}) does not")
    if not source.is_dir():
        problems.warn(source, None, "no returns yet", "put the returned forms in this folder")
    shown = report.fitted_to_fonts(project, counted, source, problems)
    result = report.tally(mailing, keys, shown, questions, returns.left_out)
    pdf = report.render_report(project, mailing, result)
    final = project.evaluation_folder(mailing.id)
    with output.staged_folder(final) as staging:
        (staging / "report.pdf").write_bytes(pdf)
        (staging / "responses.csv").write_text(report.responses_csv(keys, counted, questions),
                                               encoding="utf-8")
        (staging / "follow-up.csv").write_text(report.follow_up_csv(mailing, keys, counted),
                                               encoding="utf-8")
    summary = (f"{result.responses} responses from {result.recipients} agencies "
               f"({result.rate:.0%}), {result.recipients - result.responses} to follow up"
               + (f", {returns.left_out} left out" if returns.left_out else ""))
    return Evaluation(final, summary, problems.items, returns.left_out)
