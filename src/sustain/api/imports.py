"""Imports of public data into a scenario version (coordinators): a Kiel Institute Ukraine
Support Tracker release, through a mapping (sustain.imports.kiel). The result is a new
scenario version; the same release imported twice gives back the version it made."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status
from pydantic import BaseModel

from sustain import service
from sustain.api.access import require
from sustain.api.deps import COMMON, Caller, ScenarioId, StoreDep
from sustain.api.scenarios import keep_version, read_upload
from sustain.api.schemas import Error, Scenario, unprocessable
from sustain.imports.kiel import TrackerError
from sustain.scenario import ScenarioError
from sustain.scenario.upload import load_bytes

router = APIRouter(tags=["imports"], responses=COMMON)


class ImportOut(BaseModel):
    scenario: Scenario
    report: dict[str, Any]


def _text(upload: UploadFile) -> tuple[str, str]:
    """An uploaded CSV's name and text (422 if it is not UTF-8)."""
    content = read_upload(upload)
    try:
        return upload.filename or "file.csv", content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{upload.filename}: not UTF-8 text"
        ) from None


@router.post(
    "/scenarios/{scenario_id}/imports/kiel",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ImportOut, "description": "Imported before: the version it made."},
        403: {"model": Error},
        404: {"model": Error},
        413: {"model": Error},
        422: unprocessable("Names the mapping does not cover."),
    },
)
def import_kiel(
    scenario_id: ScenarioId,
    weapons: Annotated[UploadFile, File(description="The release's heavy weapons (CSV).")],
    mapping: Annotated[UploadFile, File(description="kind,name,to,site,formation,system CSV.")],
    release: Annotated[str, Form(min_length=1, max_length=200, description="e.g. its date.")],
    person: Caller,
    store: StoreDep,
    response: Response,
    monthly: Annotated[UploadFile | None, File(description="Its monthly totals (CSV).")] = None,
    available: Annotated[dt.date | None, Form()] = None,
    skip_unmapped: Annotated[bool, Form()] = False,
) -> ImportOut:
    """Import a Kiel Institute Ukraine Support Tracker release into a scenario version
    (coordinators): its pledges and holdings, as the mapping says; a new version, or the one
    the same release made before (200). Names the mapping does not cover: 422 with each,
    located, unless `skip_unmapped` (then listed in the report as skipped)."""
    require(person, "import a release")
    filename, content = store.scenario_file(scenario_id)
    scenario = load_bytes(filename, content)
    try:
        imported, written, report = service.import_kiel(
            scenario,
            _text(weapons),
            _text(mapping),
            release=release,
            available=available.isoformat() if available is not None else None,
            skip_unmapped=skip_unmapped,
            monthly=_text(monthly) if monthly is not None else None,
        )
    except TrackerError as exc:
        raise ScenarioError(exc.problems) from None
    name = imported.scenario.name
    action = f"import kiel release {release} into scenario {scenario_id}"
    summary, created = keep_version(
        store, imported, f"{name}.yaml", written, person.name, action=action
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ImportOut(scenario=Scenario.of(summary), report=report.as_dict())
