"""Runs: started as background jobs (sustain.jobs), listed with their progress, cancelled,
and their tables fetched, filtered and paged, as JSON, CSV or Parquet: every row through the
store's one scoped query, so that each caller sees only what their nation may."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from pydantic import StringConstraints

from sustain.api.access import may, require
from sustain.api.deps import COMMON, Caller, StoreDep, WorkersDep
from sustain.api.schemas import ColumnOut, Error, RunOut, TableListing, TableOut
from sustain.jobs import RunRequest, SimulateRequest
from sustain.results.run import new_id, now
from sustain.results.table_specs import spec

router = APIRouter(prefix="/runs", tags=["runs"], responses=COMMON)

MOST_ROWS = 100_000  # a page; more by paging
MOST_WAITING = 20  # runs a person may have queued or running at once
MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        403: {"model": Error},
        **NOT_FOUND,
        409: {"model": Error},
        429: {"model": Error, "description": "Too many of the caller's runs waiting."},
    },
)
def start(
    request: Annotated[RunRequest, Body()], person: Caller, store: StoreDep, workers: WorkersDep
) -> RunOut:
    """Start a run of plan, simulate, resilience or industry on a stored scenario
    (coordinators and planners): queued at once, carried out in the background; follow it
    at /runs/{id}."""
    require(person, "start run")
    waiting = [r for r in store.runs() if r.requested_by == person.name]
    if sum(r.status in ("queued", "running") for r in waiting) >= MOST_WAITING:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{person.name} has {MOST_WAITING} runs queued or running: wait for one to end, "
            "or cancel one",
        )
    scenario = store.scenario(request.scenario)
    if isinstance(request, SimulateRequest) and request.plan is not None:
        plan = store.run_summary(request.plan)
        if plan.engine != "plan" or plan.status != "finished":
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"the run {request.plan} is a {plan.status} {plan.engine} run, not a finished plan",
            )
        if plan.scenario_digest != scenario.digest:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"the plan {request.plan} was made for another scenario version (plan it on "
                f"scenario {request.scenario} first)",
            )
    run_id = new_id(request.engine, now())
    store.submit(
        run_id, request.engine, scenario.digest, request.model_dump(mode="json"), by=person.name
    )
    workers.submit(run_id)
    return RunOut.of(store.run_summary(run_id), person)


@router.get("")
def listing(
    person: Caller,
    store: StoreDep,
    engine: Literal["info", "plan", "simulate", "resilience", "industry"] | None = None,
) -> list[RunOut]:
    """Every run (or an engine's), newest first, with its status and progress."""
    return [RunOut.of(r, person) for r in store.runs(engine)]


@router.get("/{run_id}", responses=NOT_FOUND)
def one(run_id: str, person: Caller, store: StoreDep) -> RunOut:
    return RunOut.of(store.run_summary(run_id), person)


@router.post(
    "/{run_id}/cancel", responses={403: {"model": Error}, **NOT_FOUND, 409: {"model": Error}}
)
def cancel(run_id: str, person: Caller, store: StoreDep) -> RunOut:
    """Cancel a queued or running run (coordinators; planners their own runs); a run over
    already is left as it is."""
    run = store.run_summary(run_id)
    if not may(person, "cancel any run"):
        require(person, "cancel own run")
        if run.requested_by != person.name:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "a planner may cancel only the runs it started"
            )
    store.cancel(run_id, by=person.name)
    return RunOut.of(store.run_summary(run_id), person)


@router.get("/{run_id}/tables", responses={**NOT_FOUND, 409: {"model": Error}})
def tables(run_id: str, person: Caller, store: StoreDep) -> list[TableListing]:
    """A finished run's tables."""
    run = store.run_summary(run_id)
    if run.tables is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the run {run_id} is {run.status}")
    listed = []
    for name in sorted(run.tables):
        table_spec = spec(f"{run.engine}.{name}")
        listed.append(
            TableListing(
                name=name,
                spec=table_spec.name,
                description=table_spec.about,
                scoped=bool(table_spec.scope),
                aggregate_by=list(table_spec.aggregate_by),
            )
        )
    return listed


@router.get(
    "/{run_id}/tables/{name}",
    responses={
        200: {
            "model": TableOut,
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            "description": "JSON (the default), CSV or Parquet, as `format` says.",
        },
        400: {"model": Error},
        **NOT_FOUND,
        409: {"model": Error},
    },
)
def table(
    run_id: str,
    name: str,
    person: Caller,
    store: StoreDep,
    format: Literal["json", "csv", "parquet"] = "json",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MOST_ROWS)] = 1000,
    where: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[^=]+=")]] | None,
        Query(description='Filters, each "column=value" (the value as the CSV writes it).'),
    ] = None,
) -> Any:
    """The rows of a table the caller may see, in order, filtered by `where`, from
    `offset`, at most `limit`; JSON gives `total`, CSV and Parquet the header
    X-Total-Count."""
    filters = {}
    for condition in where or []:
        column, equals, value = condition.partition("=")
        if not equals or not column:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f'a filter is "column=value", not "{condition}"'
            )
        filters[column] = value
    page = store.page(run_id, name, person, where=filters, offset=offset, limit=limit)
    rows = page.rows
    headers = {"X-Total-Count": str(page.total)}
    if format == "csv":
        return Response(rows.to_csv(index=False), media_type=MEDIA["csv"], headers=headers)
    if format == "parquet":
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        return Response(buffer.getvalue(), media_type=MEDIA["parquet"], headers=headers)
    body = TableOut(
        run=run_id,
        table=name,
        spec=page.spec.name,
        description=page.spec.about,
        total=page.total,
        offset=offset,
        limit=limit,
        columns=[ColumnOut.model_validate(c.__dict__) for c in page.spec.columns],
        rows=[],
    ).model_dump(mode="json", exclude={"rows"})
    text = json.dumps(body)[:-1] + ', "rows": ' + records(rows) + "}"
    return Response(text, media_type="application/json", headers=headers)


@router.get(
    "/{run_id}/tables/{name}/aggregate",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (the default) or CSV."},
        **NOT_FOUND,
        409: {"model": Error},
    },
)
def table_aggregate(
    run_id: str,
    name: str,
    person: Caller,
    store: StoreDep,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """What anyone may see of a scoped table whole, rows released to them or not: the sums
    its spec declares (e.g. demand, delivered, shortfall) by the columns it declares (family
    and period), over every row, with how many rows each covers."""
    sums = store.aggregate(run_id, name, person)
    if format == "csv":
        return Response(sums.to_csv(index=False), media_type=MEDIA["csv"])
    rows = records(sums)
    columns = list(sums.columns)
    split = columns.index("rows")
    first_sum = split + 2 if "nations" in columns else split + 1
    about = {"run": run_id, "table": name, "by": columns[:split], "sum": columns[first_sum:]}
    head = json.dumps(about)[:-1]
    return Response(head + ', "rows": ' + rows + "}", media_type="application/json")


def records(frame: pd.DataFrame) -> str:
    """Rows as a JSON array written by pandas in one pass (not a Python object per cell):
    dates as YYYY-MM-DD, missing values as null, floats to 15 significant digits."""
    dates = frame.select_dtypes(include=["datetime", "datetimetz"]).columns
    if len(dates):
        frame = frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%d") for c in dates})
    return str(frame.to_json(orient="records", double_precision=15))
