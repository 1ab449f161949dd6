"""Notify service settings."""

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Configuration of the notify service (env: NOTIFY_PORT, SMTP_HOST, …)."""

    service_name: str = "notify"
    http_port: int = Field(8004, validation_alias="NOTIFY_PORT")
    public_url: str = Field("", validation_alias="NOTIFY_PUBLIC_URL")
    registration_public_url: str = Field("http://127.0.0.1:8001", validation_alias="REGISTRATION_PUBLIC_URL")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_s: float = 10.0
    mail_from: str = "Themenforum <themenforum@example.org>"
    mail_max_attempts: int = Field(5, ge=1)
    mail_backoff_s: float = Field(1.0, ge=0, description="First retry delay; doubles each attempt, with jitter.")
    mail_poll_interval_s: float = 0.5
