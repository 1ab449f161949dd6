"""Results service settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class ResultsSettings(ServiceSettings):
    """Configuration of the results service (env: RESULTS_PORT, …)."""

    service_name: str = "results"
    http_port: int = Field(8003, validation_alias="RESULTS_PORT")
    public_url: str = Field("", validation_alias="RESULTS_PUBLIC_URL")
