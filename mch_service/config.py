"""Settings, read from environment variables prefixed ``MCH_`` (and an optional ``.env`` file).

One class holds every setting so that the README's configuration table can be checked
against it; see ``docs/configuration.md``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A well-known key for development and tests only. Production mode refuses to start with it.
DEV_SECRET_KEY = "mch-dev-insecure-secret-key-change-me-0000000000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCH_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./mch.db"

    # Root secret. Sub-keys for encryption at rest and keyed hashes are derived from it (HKDF).
    secret_key: str = DEV_SECRET_KEY
    # Earlier root secrets, newest first, still accepted for decrypting data written under them.
    previous_secret_keys: list[str] = Field(default_factory=list)

    canonical_base: str = "http://mch-service.local/fhir"
    timezone: str = "Asia/Shanghai"

    # Published in the CapabilityStatement and enforced (413 / 400).
    max_bundle_entries: int = 1000
    max_body_bytes: int = 20 * 1024 * 1024
    max_page_size: int = 500
    # NDJSON backfill over HTTP is spooled to this folder while it is imported.
    max_import_bytes: int = 1024 * 1024 * 1024
    import_spool_dir: str = "./import-spool"
    default_page_size: int = 50

    # How the pregnancy record follows the store: "inline" (in the ingest transaction; simplest,
    # slower ingest) or "queued" (the transaction queues the woman; a background loop in serve
    # or worker assembles queued women in batches within seconds: for high-volume feeds).
    domain_assembly: Literal["inline", "queued"] = "inline"
    # Seconds a checked institution API key is trusted without asking the database again. A
    # revoked key or a disabled institution is refused at once by the process that made the
    # change, and by every other server process within this time. 0: check every request.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Queued assembly: seconds between the loop's looks at the queue. Longer means fewer,
    # larger rounds (less work per woman under a heavy feed) and work lists that follow later.
    assembly_interval_seconds: float = Field(default=3.0, gt=0, le=300)

    # A folder of site code tables (CSV, docs/code-tables.md) added to the defaults.
    code_tables_dir: str | None = None

    # Identifier systems treated as the resident ID card number (身份证号).
    resident_id_systems: list[str] = Field(default_factory=lambda: ["urn:oid:2.16.156.10011.1.3"])

    # The reference validator's production rule: extension urls on example domains
    # (example.org/.com/.net) are refused. Off by default because the official R4 examples use
    # them; a site whose feeds are past testing turns it on.
    fhir_reject_example_urls: bool = False
    # The reference validator's security check: a FHIR string holding HTML active content
    # (script/iframe/... elements, on* event handlers, javascript: URLs) is refused with an
    # OperationOutcome naming the element. On: staff pages show these strings. (The narrative
    # is refused such content by R4's txt-1 whatever this says.)
    fhir_reject_active_content: bool = True

    # Staff sign-in. A browser session ends after this much inactivity, or at the latest after
    # session_max_hours; a bearer token (POST /api/v1/token) lives token_hours.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    token_hours: int = 8
    # This many wrong passwords in a row lock the account for lockout_minutes.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    # Secure cookies: "auto" sets the flag when the request came over HTTPS (directly or, behind
    # a proxy, per X-Forwarded-Proto); "always" / "never" force it.
    cookie_secure: Literal["auto", "always", "never"] = "auto"

    # Indicator rules that are local choices (docs/indicator-rules.md); every stored result
    # records the values that produced it.
    indicator_statistical_year: bool = False
    indicator_caesarean_basis: Literal["births", "women"] = "births"
    case_managed_colours: list[str] = Field(default_factory=lambda: ["orange", "red", "purple"])
    indicator_anaemia_denominator_excludes_thalassaemia: bool = False

    # Work lists (docs/indicator-rules.md): follow-up intervals by colour (days), reporting
    # limits for orange/red assessments (hours), and the other intervals. Local policy.
    case_follow_up_days: dict[str, int] = Field(
        default_factory=lambda: {"red": 7, "orange": 14, "purple": 14}
    )
    case_report_limit_hours: dict[str, int] = Field(
        default_factory=lambda: {"orange": 72, "red": 24}
    )
    case_outcome_unknown_days: int = 14
    case_untreated_days: int = 14
    case_missing_tests_days: int = 28
    case_postpartum_due_days: int = 7
    case_postpartum_overdue_days: int = 28

    # Jobs: cron expressions in MCH_TIMEZONE (empty: not scheduled), and whether `serve` runs
    # the scheduler itself (the embedded mode); production runs `mch-service worker`.
    job_schedules: dict[str, str] = Field(
        default_factory=lambda: {"indicators": "*/5 * * * *", "data_quality": "17 * * * *"}
    )
    scheduler_in_server: bool = True

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.env == "production" and (
            not self.secret_key or self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "MCH_ENV=production needs MCH_SECRET_KEY set to a private random value of at "
                "least 32 characters (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
