"""What every endpoint depends on: the store, the workers, and the person calling (from their
bearer token; 401 without a good one)."""

from __future__ import annotations

from importlib import metadata
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sustain.api.schemas import Error
from sustain.jobs import Workers
from sustain.store import Person, Store

VERSION = metadata.version("sustain")

# What every endpoint but /health may answer besides its own (documented in the schema).
COMMON: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "A request body that cannot be read."},
    401: {"model": Error, "description": "No valid bearer token."},
}

_bearer = HTTPBearer(auto_error=False, description="A token from `sustain users add`.")


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def workers_of(request: Request) -> Workers:
    workers: Workers = request.app.state.workers
    return workers


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Person:
    """The person whose bearer token came with the request."""
    found = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        found = store_of(request).person(credentials.credentials)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is needed (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


Caller = Annotated[Person, Depends(caller)]
# A scenario version's id, as the store's integer keys can hold it.
ScenarioId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StoreDep = Annotated[Store, Depends(store_of)]
WorkersDep = Annotated[Workers, Depends(workers_of)]
