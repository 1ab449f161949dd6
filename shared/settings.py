"""Settings shared by every service; each service extends `ServiceSettings`."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_MONGODB_URL = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"


class ServiceSettings(BaseSettings):
    """Environment-driven configuration common to all services.

    Every field is read from the environment variable of the same name in
    upper case (e.g. ``KAFKA_BOOTSTRAP_SERVERS``).
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = Field("service", description="Name used in logs, event sources and group ids.")
    http_host: str = Field("127.0.0.1", validation_alias="HTTP_HOST")
    http_port: int = 8000
    public_url: str = Field("", description="Base URL under which this service is reachable by people.")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = Field(
        False, description="Idempotent producer; on for Apache Kafka, off for the embedded broker."
    )
    kafka_topic_partitions: int = Field(4, ge=1)
    kafka_replication_factor: int = Field(1, ge=1)
    kafka_fetch_max_wait_ms: int = Field(
        200, ge=0, description="Longest a poll waits when no data comes (a long poll: the broker answers as soon as data "
        "arrives). Every empty poll costs the broker CPU: at 10-50 ms, idle consumers kept Tansu busy.")
    kafka_max_batch_records: int = Field(200, ge=1, description="Most records one consumer poll hands to a handler batch.")
    kafka_max_request_size: int = Field(20 * 1024 * 1024)
    kafka_group_id: str = Field("", description="Consumer group; empty: the service name. Instances of one service "
                                "share a group (and so the partitions); a process that must not take partitions from "
                                "the running service (a test harness, a replay) needs a group of its own.")

    mongodb_url: str = EMBEDDED_MONGODB_URL
    mongodb_database_prefix: str = "themenforum"

    forum_bootstrap_token: SecretStr | None = Field(
        None, description="When set, an admin API token accepted by every service."
    )
    forum_admin_password: SecretStr | None = Field(
        None, description="Password of the `admin` staff account for browser log-in."
    )
    forum_session_secret: SecretStr | None = Field(
        None, description="Key that signs staff session cookies (shared by all services so one log-in serves all)."
    )
    forum_secure_cookies: bool = Field(
        False, description="Mark staff session cookies Secure even when the request arrives as http (behind a TLS proxy)."
    )
    handler_max_attempts: int = Field(3, ge=1, description="Attempts before a message is dead-lettered.")
    handler_retry_backoff_s: float = Field(0.2, ge=0)
    max_body_bytes: int = Field(64 * 1024, description="Largest accepted HTTP request body.")
    gc_freeze_after_start: bool = Field(
        True, description="Move what start-up allocated (modules, schemas, routes, reference data) out of the cyclic "
        "garbage collector's full scans. Without it every full collection walked it all: 160-340 ms with the event "
        "loop blocked, about every 8 s under load.")
    gc_gen0_threshold: int = Field(
        10_000, ge=0, description="Allocations between young-generation collections (Python's default: 700; 0 keeps "
        "it). A poll's batch of events stays alive while it is handled, and each young collection walked it again: "
        "at 700 the registration service ran about 2,500 of them per 9,000 registrations.")

    log_level: str = "INFO"
    log_json: bool | None = Field(None, description="JSON logs; default: when stdout is not a TTY.")

    @property
    def mongodb_database(self) -> str:
        """The database this service owns."""
        return f"{self.mongodb_database_prefix}_{self.service_name}"

    @property
    def base_url(self) -> str:
        """Public base URL, falling back to the bind address."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")
