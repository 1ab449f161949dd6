"""Notify service settings."""

from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Configuration of the notify service (env: NOTIFY_PORT, SMTP_HOST, …)."""

    service_name: str = "notify"
    http_port: int = Field(8004, validation_alias="NOTIFY_PORT")
    public_url: str = Field("", validation_alias="NOTIFY_PUBLIC_URL")
    registration_public_url: str = Field("http://127.0.0.1:8001", validation_alias="REGISTRATION_PUBLIC_URL")
    results_public_url: str = Field("http://127.0.0.1:8003", validation_alias="RESULTS_PUBLIC_URL")

    role: Literal["all", "workers"] = Field(
        "all", validation_alias="NOTIFY_ROLE",
        description="`workers`: only send mails and webhooks and fire reminders, joining no consumer group "
                    "(extra sending capacity without a rebalance).")

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
    mail_poll_interval_s: float = Field(2.0, gt=0, description="How often idle workers look for due mails the consumer did not announce.")
    mail_rate_per_s: float = Field(50.0, gt=0, description="Outgoing mails per second (token bucket).")
    mail_burst: int = Field(20, ge=1, description="Mails that may go out at once before the rate applies.")
    mail_workers: int = Field(4, ge=1, description="Concurrent SMTP conversations.")
    mail_stale_after_s: float = Field(60.0, gt=0, description="A `sending` claim older than this was lost in a crash.")

    reminder_days_before: list[int] = Field([7, 1], description="Reminders N days before a forum's first day.")
    reminder_poll_interval_s: float = Field(5.0, gt=0)
    notify_clock_offset_s: float = Field(0.0, description="Shifts the scheduler's clock (tests, rehearsals).")

    webhook_max_attempts: int = Field(6, ge=1)
    webhook_backoff_s: float = Field(1.0, ge=0)
    webhook_timeout_s: float = Field(5.0, gt=0)
    webhook_poll_interval_s: float = Field(2.0, gt=0, description="The same for webhook calls.")
