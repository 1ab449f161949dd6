"""Run a service's HTTP app with uvicorn (used by each service's `__main__`)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI) -> None:
    """Serve on the settings' host and port, logging through our own configuration."""
    settings = app.state.settings
    uvicorn.run(
        app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
        timeout_graceful_shutdown=5,
        # Clients that reuse connections (partner sites, load balancers) must not race a 5 s idle close.
        timeout_keep_alive=75,
    )
