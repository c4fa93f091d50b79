"""Report: the one way problems reach the terminal: each as ``path:line: message (hint)``,
warnings first, then a count."""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Callable, Iterable
from typing import Protocol

from press.errors import Problem
from press.project import Project

Say = Callable[[str], None]  # one line for the person running the command (print, or nothing)


class Verb(Protocol):
    """A command module: build, check, bundle, mailing, ... (press.commands._verb)."""

    def command(self, project: Project, args: Namespace, say: Say) -> int: ...


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def print_problems(project: Project, problems: Iterable[Problem], outcome: str = "") -> int:
    """Print every warning, then every error, then (if there are errors) the count and
    ``outcome`` (what the errors meant, e.g. "nothing written"); returns the error count."""
    items = list(problems)
    warnings = [p for p in items if p.severity == "warning"]
    errors = [p for p in items if p.severity != "warning"]
    for problem in warnings + errors:
        print(problem.format(project.root), file=sys.stderr)
    if errors:
        print(f"{plural(len(errors), 'error')} ({plural(len(warnings), 'warning')})"
              + (f"; {outcome}" if outcome else ""), file=sys.stderr)
    return len(errors)
