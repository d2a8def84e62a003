"""The workspace's REST API (FastAPI): scenarios, runs as background jobs, their tables
(scoped by nation in the store's one query layer), users and tokens, nations, the audit log.
Thin: every answer comes from the service layer, the jobs module or the store.

    app = create_app("sqlite:///sustain.db")      # or `sustain serve`
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sustain.api import imports, people, pledges, runs, scenarios
from sustain.api.deps import VERSION
from sustain.api.schemas import Health
from sustain.jobs import Workers
from sustain.scenario import ScenarioError
from sustain.store import DEFAULT_URL, ConflictError, NotFoundError, Store, StoreError

__all__ = ["app_from_environment", "create_app"]


def create_app(url: str, *, slots: int = 2) -> FastAPI:
    """The API over the store at `url`, carrying out runs `slots` at a time."""
    store = Store.open(url)
    workers = Workers(store, url, slots)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        workers.close()

    app = FastAPI(
        title="Sustain",
        version=VERSION,
        summary="The coalition workspace: scenarios, runs and their tables, scoped by nation.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.workers = workers

    @app.get("/health", tags=["health"])
    def health() -> Health:
        """Whether the server is up (the one request that needs no token)."""
        return Health(status="ok", version=VERSION, database=store.engine.dialect.name)

    for router in (scenarios.router, pledges.router, imports.router, runs.router, people.router):
        app.include_router(router)
    _errors(app)
    return app


def _finite(value: Any) -> Any:
    """`value` with every NaN and infinity written as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def app_from_environment() -> FastAPI:
    """The API over SUSTAIN_DATABASE with SUSTAIN_JOBS slots: what each of the server's
    processes makes when `sustain serve --processes N` starts several."""
    url = os.environ.get("SUSTAIN_DATABASE", DEFAULT_URL)
    return create_app(url, slots=int(os.environ.get("SUSTAIN_JOBS", "2")))


def _errors(app: FastAPI) -> None:
    """The store's and the scenario loader's errors as HTTP answers with their message; a
    method a path does not have gets 405 with every method it does have in Allow (Starlette
    names only those of the one route it tried)."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, with the input echoed back JSON can hold (a NaN or an
        # Infinity sent is shown as text, not turned into a server error).
        return JSONResponse(
            status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            methods = {
                method
                for route in app.routes
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE
                for method in route.methods or ()
            }
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
        return await http_exception_handler(request, exc)

    @app.exception_handler(ScenarioError)
    def scenario_problems(request: Request, exc: ScenarioError) -> JSONResponse:
        count = len(exc.problems)
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"the scenario has {count} problem{'s' if count != 1 else ''}",
                "problems": [p.as_dict() for p in exc.problems],
            },
        )

    @app.exception_handler(StoreError)
    def store_error(request: Request, exc: StoreError) -> JSONResponse:
        code = (
            404
            if isinstance(exc, NotFoundError)
            else 409
            if isinstance(exc, ConflictError)
            else 400
        )
        return JSONResponse(status_code=code, content={"detail": str(exc)})
