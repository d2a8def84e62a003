"""What every endpoint depends on: the store, the workers, and the person calling (from their
bearer token; 401 without a good one)."""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sustain.jobs import Workers
from sustain.store import Person, Store

VERSION = metadata.version("sustain")

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
StoreDep = Annotated[Store, Depends(store_of)]
WorkersDep = Annotated[Workers, Depends(workers_of)]
