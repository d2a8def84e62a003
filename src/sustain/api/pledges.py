"""Pledges: their lifecycle, one event at a time, by their donor (sustain.pledges). Each
event makes a new version of the scenario (its file with the event appended; every version
kept) and is appended to the store's pledge events and the audit log. The pledges as they
stand, their ledger and each donor's totals against time are tables of the scenario's info
run (`pledges`, `pledge_ledger`, `pledges_by_donor`), read like any table, scoped."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from sustain import pledges, service
from sustain.api.access import may
from sustain.api.deps import COMMON, Caller, ScenarioId, StoreDep
from sustain.api.runs import records
from sustain.api.schemas import Error, Scenario, unprocessable

router = APIRouter(tags=["pledges"], responses=COMMON)


class PledgeEventIn(BaseModel):
    """One step of a pledge's lifecycle."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="When it happened.")
    status: Literal["committed", "shipped", "delivered", "cancelled"]
    quantity: str | None = Field(
        None,
        max_length=100,
        description='How much, with its unit ("300 rounds"); blank for all that can take it.',
    )
    arrives: dt.date | None = Field(None, description="shipped: when it lands.")


class PledgeEventOut(BaseModel):
    scenario: Scenario = Field(description="The scenario version the event made.")
    pledge: str
    donor: str
    before: dict[str, float] = Field(description="How much of the pledge in each status.")
    after: dict[str, float]


class PledgeEventEntry(BaseModel):
    at: dt.datetime
    user: str
    pledge: str
    donor: str
    scenario_from: int
    scenario_to: int
    event: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.post(
    "/scenarios/{scenario_id}/pledges/{pledge}/events",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"model": Error},
        404: {"model": Error},
        409: {"model": Error, "description": "The version has moved on already."},
        422: unprocessable("The event does not fit the pledge."),
    },
)
def add_event(
    scenario_id: ScenarioId, pledge: str, event: PledgeEventIn, person: Caller, store: StoreDep
) -> PledgeEventOut:
    """Move a pledge on (its donor's planners, or coordinators): part or all of it committed,
    shipped, delivered or cancelled on a date. Makes a new scenario version, the next of this
    one (409 if an event has made one already: post to that); refused (422, nothing stored)
    if the pledge has not that much standing to move."""
    # Who may, first: nothing about a pledge (whether it is there, how much of it stands)
    # reaches anyone but its donor's planners and the coordinators.
    donor = store.pledge_donor(scenario_id, pledge)
    if not may(person, "move any pledge"):
        if donor is None or not (person.role == "planner" and person.nation == donor):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"only the pledge's donor's planners (or a coordinator) move {pledge} on",
            )
    elif donor is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f'no pledge "{pledge}" in the scenario')
    filename, content = store.scenario_file(scenario_id)
    written = {"pledge": pledge, **event.model_dump(mode="json")}
    step = service.add_pledge_event(filename, content, written)
    info = service.info_run(step.scenario, source=f"{step.scenario.scenario.name}.yaml")
    made = (step.scenario.scenario.name, service.digest(step.scenario), step.content, info)
    version = store.add_pledge_event(
        scenario_id,
        made,
        written,
        (step.before, step.after),
        donor=step.donor,
        by=person.name,
    )
    return PledgeEventOut(
        scenario=Scenario.of(store.scenario(version)),
        pledge=pledge,
        donor=step.donor,
        before=step.before,
        after=step.after,
    )


@router.get("/pledge-events")
def events(person: Caller, store: StoreDep) -> list[PledgeEventEntry]:
    """Every pledge event, oldest first (coordinators); those of the caller's nation's
    pledges for anyone else."""
    donor = None if may(person, "read every pledge event") else person.nation
    return [PledgeEventEntry.model_validate(e) for e in store.pledge_events(donor)]


@router.get(
    "/scenarios/{scenario_id}/donors",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (the default) or CSV."},
        404: {"model": Error},
        409: {"model": Error},
    },
)
def donors(
    scenario_id: ScenarioId,
    person: Caller,
    store: StoreDep,
    run: Annotated[str | None, Query(description="A finished plan run of this version.")] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Each donor's pledges of each item against time (offered, pledged, committed, shipped,
    delivered, cancelled, from the events) and, with a plan run, what formations used of that
    donor's goods by each date (from the plan's provenance): the rows the caller may see."""
    version = store.scenario(scenario_id)
    if version.info_run is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the scenario {scenario_id} has no info run")
    ledger = store.page(version.info_run, "pledges_by_donor", person).rows
    used = None
    if run is not None:
        plan = store.run_summary(run)
        if plan.engine != "plan" or plan.scenario_digest != version.digest:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"the run {run} is not a plan of scenario {scenario_id}"
            )
        used = store.page(run, "consumption_by_nation", person).rows
    table = pledges.donor_ledger(ledger, used)
    if format == "csv":
        return Response(table.to_csv(index=False), media_type="text/csv")
    head = json.dumps({"scenario": scenario_id, "run": run})[:-1]
    return Response(head + ', "rows": ' + records(table) + "}", media_type="application/json")
