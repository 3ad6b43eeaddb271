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


SHOWN = 60  # characters of a value quoted in a message: a problem stays one readable line


def quoted(text: str) -> str:
    """`text` as a message shows it: repr (control characters and lone surrogates escaped), cut when long."""
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 3] + "...")


def at_key(parent: str, key: str) -> str:
    """The path of `key` in the object at `parent`; an unprintable or long key is quoted."""
    name = key if key.isprintable() and len(key) <= SHOWN else quoted(key)
    return f"{parent}.{name}" if parent else name
