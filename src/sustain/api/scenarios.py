"""Scenarios: uploaded in any of the three formats (YAML, an Excel workbook, a CSV folder as a
.zip), every version kept with its digest and who uploaded it, with its info run (what it
holds and whose each part is: what nation scope is read from)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Response, UploadFile, status

import sustain
from sustain import service
from sustain.api.access import require
from sustain.api.deps import COMMON, Caller, ScenarioId, StoreDep
from sustain.api.schemas import Error, Scenario, unprocessable
from sustain.scenario.limits import MB, Limits
from sustain.scenario.upload import load_bytes
from sustain.store import ScenarioSummary, Store

router = APIRouter(prefix="/scenarios", tags=["scenarios"], responses=COMMON)

MEDIA = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": Scenario, "description": "The same scenario was uploaded before."},
        403: {"model": Error},
        413: {"model": Error},
        422: unprocessable("Not a valid scenario (or no file sent)."),
    },
)
def upload(
    file: Annotated[UploadFile, File(description="A .yaml, an .xlsx, or a CSV folder as .zip.")],
    person: Caller,
    store: StoreDep,
    response: Response,
) -> Scenario:
    """Upload a scenario (coordinators): validated as `sustain validate` does, every problem
    located in the file as sent (422). A scenario already in the store (the same digest,
    whatever its format) is not stored twice: its version is returned (200)."""
    require(person, "upload scenario")
    filename = file.filename or ""
    content = read_upload(file)
    scenario = load_bytes(filename, content)
    summary, created = keep_version(store, scenario, filename, content, person.name)
    if not created:
        response.status_code = status.HTTP_200_OK
    return Scenario.of(summary)


def read_upload(file: UploadFile) -> bytes:
    """An uploaded file's bytes, at most what a scenario file may be (413 beyond)."""
    most = Limits.from_environment().file_mb * MB
    content = file.file.read(most + 1)
    if len(content) > most:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{file.filename or 'a file'}: a file sent is at most {most // MB} MB",
        )
    return content


def keep_version(
    store: Store,
    scenario: sustain.Scenario,
    filename: str,
    content: bytes,
    by: str,
    action: str = "upload scenario",
) -> tuple[ScenarioSummary, bool]:
    """The store's version of a scenario and whether it is new: one of the same digest if
    there is one, else a new version with its info run (audited as `action`)."""
    digest = service.digest(scenario)
    if known := store.scenarios(digest):
        return known[-1], False
    info = service.info_run(scenario, source=filename)
    name = scenario.scenario.name
    version = store.add_scenario(name, digest, filename, content, by, info=info, action=action)
    return store.scenario(version), True


@router.get("")
def listing(person: Caller, store: StoreDep) -> list[Scenario]:
    """Every scenario version, newest first."""
    return [Scenario.of(s) for s in store.scenarios()]


@router.get("/{scenario_id}", responses={404: {"model": Error}})
def one(scenario_id: ScenarioId, person: Caller, store: StoreDep) -> Scenario:
    return Scenario.of(store.scenario(scenario_id))


@router.get(
    "/{scenario_id}/file",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in sorted(set(MEDIA.values()))}},
        403: {"model": Error},
        404: {"model": Error},
    },
)
def download(scenario_id: ScenarioId, person: Caller, store: StoreDep) -> Response:
    """The file as uploaded (coordinators: it holds every nation's rows)."""
    require(person, "read scenario file")
    filename, content = store.scenario_file(scenario_id)
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return Response(
        content,
        media_type=MEDIA.get(suffix, "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{_safe(filename)}"'},
    )


def _safe(filename: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in filename) or "scenario"
