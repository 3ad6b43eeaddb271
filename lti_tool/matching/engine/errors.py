"""The one exception the matching engine raises for bad input, naming every offending field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: `path` names the field as in the file, e.g. `mentees[3].skills.python`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MatchingInputError(ValueError):
    """The program or cohort breaks the format or a rule; `problems` lists each field at fault, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
