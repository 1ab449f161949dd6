"""Agenda service settings."""

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class AgendaSettings(ServiceSettings):
    """Configuration of the agenda service (env: AGENDA_PORT, …)."""

    service_name: str = "agenda"
    http_port: int = Field(8002, validation_alias="AGENDA_PORT")
    public_url: str = Field("", validation_alias="AGENDA_PUBLIC_URL")
    agenda_seed_file: Path | None = Field(None, description="Seeded agendas (rooms, hours, items) applied at start-up.")
