"""The FastAPI application: one archive and one access policy shared by every request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.policy import AccessPolicy
from api import (
    access_routes,
    audit_routes,
    auth_routes,
    errors,
    record_routes,
    retention_routes,
    search_routes,
)
from archive.service import Archive
from errors import StrongroomError
from search.queue import start_indexing
from web.app import create_web_app

log = logging.getLogger("strongroom.api")
MAINTENANCE_SECONDS = 60


def maintenance(archive: Archive) -> None:
    """Periodic work: record grant expiries and checkpoint the audit chain head."""
    from access.grants import expire_due
    from audit.checkpoints import write_checkpoint

    expire_due(archive)
    write_checkpoint(archive)


def create_app(archive: Archive, policy: AccessPolicy | None = None) -> FastAPI:
    policy = policy or AccessPolicy.load(archive.settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await run_in_threadpool(maintenance, archive)
                except StrongroomError as exc:
                    log.warning("maintenance: %s", exc)
                await asyncio.sleep(MAINTENANCE_SECONDS)

        task = asyncio.create_task(loop())
        indexing = start_indexing(archive)  # the search index's one writer (see search/queue.py)
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(indexing.stop)

    app = FastAPI(
        title="Strongroom",
        version=version("strongroom"),
        description="Compliance archive of encrypted, versioned records. Log in with POST /auth/login "
        "and send the token as 'Authorization: Bearer TOKEN'.",
        lifespan=lifespan,
    )
    app.state.archive = archive
    app.state.policy = policy
    errors.install(app)

    @app.get("/health", tags=["service"], summary="Liveness and storage reachability (no login needed)")
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "version": app.version}
        try:
            await run_in_threadpool(archive.store.ping)
            body["storage"] = "ok"
        except StrongroomError:
            body.update(status="degraded", storage="unavailable")
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        """Someone who types the service's address lands on the web interface."""
        return RedirectResponse(f"{request.scope.get('root_path', '').rstrip('/')}/web/", status_code=307)

    for module in (auth_routes, record_routes, access_routes, audit_routes, search_routes, retention_routes):
        app.include_router(module.router)
    app.mount("/web", create_web_app(archive, policy))  # the web interface; not part of the OpenAPI schema
    return app
