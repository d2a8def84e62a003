"""Problems found in a scenario, each with where it is (file, line or row, field) and what."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a scenario, e.g. `lanes.csv:14 capacity: "-5 t/day" must be positive`."""

    where: str
    field: str | None
    message: str

    def __post_init__(self) -> None:
        # Names quoted in messages come from user files: keep every problem on one line.
        object.__setattr__(self, "message", _CONTROL.sub("?", self.message))
        if self.field is not None:
            object.__setattr__(self, "field", _CONTROL.sub("?", self.field))

    def __str__(self) -> str:
        return (
            f"{self.where} {self.field}: {self.message}"
            if self.field
            else (f"{self.where}: {self.message}")
        )

    def sort_key(self) -> tuple[str, int, str, str]:
        file, _, line = self.where.rpartition(":")
        if file and line.isdigit():
            return (file, int(line), self.field or "", self.message)
        return (self.where, 0, self.field or "", self.message)

    def as_dict(self) -> dict[str, str | None]:
        return {"where": self.where, "field": self.field, "message": self.message}


class ScenarioError(Exception):
    """Every problem found in a scenario, reported together."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean "lviv"?)' when a candidate is close to `name`, else ''."""
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f' (did you mean "{close[0]}"?)' if close else ""


def shown(value: object, limit: int = 60) -> str:
    """A value as it may appear inside a message: one line, not too long."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
