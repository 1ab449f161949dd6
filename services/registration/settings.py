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
    retention_days: int = Field(
        180, ge=0, le=3650, validation_alias="REGISTRATION_RETENTION_DAYS",
        description="Days after a forum's last day until its participants' personal data is anonymised (per-forum override).",
    )
    retention_check_interval_s: float = Field(
        30.0, gt=0, validation_alias="REGISTRATION_RETENTION_CHECK_S", description="How often due retention is checked.",
    )
