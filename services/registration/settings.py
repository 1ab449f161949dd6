"""Registration service settings."""

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    """Configuration of the registration service (env: REGISTRATION_PORT, …)."""

    service_name: str = "registration"
    http_port: int = Field(8001, validation_alias="REGISTRATION_PORT")
    public_url: str = Field("", validation_alias="REGISTRATION_PUBLIC_URL")
    forum_seed_file: Path | None = Field(None, description="Catalogue commands applied at start-up.")
    form_rate_limit_per_minute: int = Field(
        20, validation_alias="FORM_RATE_LIMIT_PER_MINUTE", description="Form submissions per address and minute (0: off)."
    )
    clock_file: Path | None = Field(
        None, validation_alias="REGISTRATION_CLOCK_FILE",
        description="Tests only (unset in production): a file holding an ISO time the service takes as now.",
    )
    window_check_interval_s: float = Field(
        1.0, gt=0, validation_alias="REGISTRATION_WINDOW_CHECK_S", description="How often registration windows are checked."
    )
