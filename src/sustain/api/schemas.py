"""What the API answers, as pydantic models (and so in its OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from sustain.store import Person, RunSummary, ScenarioSummary


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: str


class Problem(BaseModel):
    where: str
    field: str | None
    message: str


class ScenarioProblems(BaseModel):
    """A scenario that is not valid: every problem, located as `sustain validate` gives it."""

    detail: str
    problems: list[Problem]


class Error(BaseModel):
    detail: str


def unprocessable(description: str) -> dict[str, Any]:
    """A 422 answer: the located problems of a scenario (or an event, or an import), or
    FastAPI's own when the request does not match the schema."""
    return {"model": ScenarioProblems | RequestProblems, "description": description}


class RequestProblems(BaseModel):
    """A request that does not match the schema (FastAPI's own answer)."""

    detail: list[dict[str, Any]]


class Scenario(BaseModel):
    id: int
    name: str
    digest: str = Field(description="SHA-256 of its canonical rows, whatever the format.")
    filename: str
    uploaded_by: str | None
    uploaded_at: dt.datetime
    info_run: str | None = Field(description="The run of what it holds and whose each part is.")
    size: int = Field(description="Bytes of the file as uploaded.")

    @classmethod
    def of(cls, summary: ScenarioSummary) -> Scenario:
        return cls(**summary.__dict__)


class Progress(BaseModel):
    stage: str
    done: int | None = None
    total: int | None = None
    fraction: float | None = None


class RunOut(BaseModel):
    id: str
    engine: str
    status: Literal["queued", "running", "finished", "failed", "cancelled"]
    scenario_digest: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    request: dict[str, Any] | None
    requested_by: str | None
    progress: Progress | None
    tables: dict[str, int] | None = Field(
        description="Each table's rows in all, once finished (coordinators and the run's own)."
    )

    @classmethod
    def of(cls, summary: RunSummary, person: Person) -> RunOut:
        """The run as `person` may see it: what another person asked for, why their run
        failed and how many rows its tables hold (of every nation) only for coordinators."""
        shown = dict(summary.__dict__)
        if person.role != "coordinator" and summary.requested_by != person.name:
            shown.update(request=None, error=None, tables=None)
        return cls.model_validate(shown)


class ColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool
    unit: str = Field(description='A unit, "1" (a count), "-" (none), or {item}: the row\'s own.')
    description: str


class TableOut(BaseModel):
    """Rows of a table that the caller may see, from `offset`, at most `limit`, of `total`."""

    run: str
    table: str
    spec: str
    description: str
    total: int
    offset: int
    limit: int
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]


class TableListing(BaseModel):
    name: str
    spec: str
    description: str
    scoped: bool = Field(description="Rows by nation: each caller sees those it may.")
    aggregate_by: list[str] = Field(
        description="What /aggregate sums by, for everyone (empty: no aggregate)."
    )


class User(BaseModel):
    name: str
    nation: str
    role: Literal["coordinator", "planner", "viewer"]

    @classmethod
    def of(cls, person: Person) -> User:
        return cls.model_validate(person.__dict__)


class NewUser(User):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,100}$", description="Letters, digits, . _ -")
    nation: str = Field(pattern=r"^[A-Z0-9-]{1,40}$", description="As scenarios write it: POL.")


class NewToken(BaseModel):
    user: str
    token: str = Field(description="Shown once: the store keeps only its hash.")
    prefix: str


class Revoked(BaseModel):
    prefix: str
    revoked: bool


class AuditEntry(BaseModel):
    at: dt.datetime
    user: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
