"""Errors: the one exception family for problems a user can fix, and a collector for them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


class PressError(Exception):
    """Base of every error a user (author, publications or web team) can act on."""


@dataclass(frozen=True)
class Problem:
    """One problem in one file: ``path:line: message (hint)``."""

    path: Path | str
    line: int | None
    message: str
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def format(self, root: Path | None = None) -> str:
        path = Path(self.path)
        if root is not None:
            try:
                path = path.resolve().relative_to(root.resolve())
            except ValueError:
                pass
        shown = str(path)
        if not shown.isprintable():  # a file name with a newline must not break the line
            shown = shown.encode("unicode_escape", "backslashreplace").decode("ascii")
        where = f"{shown}:{self.line}" if self.line else shown
        text = f"{where}: {self.severity}: {self.message}" if self.severity == "warning" else (
            f"{where}: {self.message}")
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __str__(self) -> str:
        return self.format()


class ContentError(PressError):
    """One or more problems that stop an item (briefing, bundle, mailing) from building."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[ContentError], tuple[list[Problem]]]:
        # Rebuilt from its problems (pickle would re-run __init__ with the message string)
        # so that it crosses process boundaries whole.
        return type(self), (self.problems,)

    @classmethod
    def at(cls, path: Path | str, line: int | None, message: str, hint: str = ""
           ) -> ContentError:
        return cls(Problem(path, line, message, hint))


class UsageError(PressError):
    """The command line was used wrongly (exit code 2)."""


@dataclass
class Problems:
    """Collects problems so a run can report them all together."""

    items: list[Problem] = field(default_factory=list)

    def error(self, path: Path | str, line: int | None, message: str, hint: str = "") -> None:
        self.items.append(Problem(path, line, message, hint))

    def warn(self, path: Path | str, line: int | None, message: str, hint: str = "") -> None:
        self.items.append(Problem(path, line, message, hint, "warning"))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ContentError(self.errors)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean`` hint for a misspelt name, or a list of valid ones."""
    known = sorted(choices)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    return f"known: {shown}" if known else ""
