"""Settings, read from environment variables prefixed ``MCH_`` (and an optional ``.env`` file).

One class holds every setting so that the README's configuration table can be checked
against it; see ``docs/configuration.md``.
"""

from __future__ import annotations

import math
import os
import zlib
from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A well-known key for development and tests only. Production mode refuses to start with it.
DEV_SECRET_KEY = "mch-dev-insecure-secret-key-change-me-0000000000"
# What production asks of MCH_SECRET_KEY: every sub-key (encryption, keyed hashes) is only as
# strong as the root secret, and the resident-ID hashes can be brute-forced if it is guessable.
MIN_SECRET_BITS = 128


def estimated_secret_bits(secret: str) -> float:
    """The lower of two estimates: length times the Shannon entropy of the secret's own
    characters (0 for 32 x "a", about 6 bits a character for a random URL-safe token), and
    the bits left after compression (catches a repeated pattern such as "0123456789" x 4,
    whose characters alone look varied). An estimate only: it catches repetitive or
    low-variety values, not a well-known phrase (the docs ask for a generated value)."""
    if not secret:
        return 0.0
    n = len(secret)
    per_char = -sum(c / n * math.log2(c / n) for c in Counter(secret).values())
    compressed = 8 * (len(zlib.compress(secret.encode(), 9)) - len(zlib.compress(b"", 9)))
    return min(n * per_char, float(compressed))


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting's error would otherwise quote the input, and
    # with it the secret keys, into the start-up log.
    model_config = SettingsConfigDict(
        env_prefix="MCH_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./mch.db"

    # Root secret. Sub-keys for encryption at rest and keyed hashes are derived from it (HKDF).
    secret_key: str = DEV_SECRET_KEY
    # Earlier root secrets, newest first, still accepted for decrypting data written under them.
    previous_secret_keys: list[str] = Field(default_factory=list)

    canonical_base: str = "http://mch-service.local/fhir"
    # Where clients reach the FHIR API (e.g. https://mch.example.org/fhir), the base of the
    # links, fullUrls and Location headers we return; empty: taken from each request.
    public_base: str = ""
    timezone: str = "Asia/Shanghai"

    # Published in the CapabilityStatement and enforced (413 / 400).
    max_bundle_entries: int = 1000
    max_body_bytes: int = 20 * 1024 * 1024
    max_page_size: int = 500
    # The most one resource may have, serialised: a bigger one is refused (413 for a single
    # write, a located error for a Bundle entry, a rejected line in an NDJSON import).
    max_resource_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # A batch Bundle answers at most this many GET entries (413 beyond, nothing done), and
    # its response holds at most this many bytes: a read past it is answered 413 in its entry.
    max_batch_gets: int = Field(default=100, ge=1)
    max_batch_response_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # A search page or an instance history page holds at most this many bytes of resources
    # (besides MCH_MAX_PAGE_SIZE entries); the 'next' link gives the rest.
    max_page_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # NDJSON backfill over HTTP is spooled to this folder while it is imported.
    max_import_bytes: int = 1024 * 1024 * 1024
    import_spool_dir: str = "./import-spool"
    # FHIR Bulk Data export ($export, docs/bulk-export.md): the NDJSON files are written under
    # this folder (one sub-folder per export, readable by the service's user only) and removed
    # MCH_EXPORT_RETENTION_HOURS after the export finished. Each file holds at most
    # MCH_EXPORT_MAX_FILE_BYTES (a type's output is split beyond); an export writing more than
    # MCH_EXPORT_MAX_JOB_BYTES in all fails and leaves nothing. At most MCH_EXPORT_MAX_ACTIVE_JOBS
    # exports run at once on the whole service (429 with Retry-After beyond).
    export_dir: str = "./bulk-export"
    export_max_file_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    export_max_job_bytes: int = Field(default=20 * 1024 * 1024 * 1024, ge=1024)
    export_retention_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    export_max_active_jobs: int = Field(default=2, ge=1, le=16)
    # Request bodies of sign-in, the staff API and the pages (a code-table upload may have
    # up to 5 MiB): counted while they arrive, 413 beyond.
    max_staff_body_bytes: int = Field(default=64 * 1024, ge=1024)
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

    # The domain reads at most this many codings of one element (Observation.code, ...) and
    # records at most this many unmapped codes per resource; the rest are counted in a
    # data-quality issue that the sender gets back as a warning.
    max_codings_per_element: int = Field(default=50, ge=1)
    max_unmapped_codes_per_resource: int = Field(default=20, ge=1)
    # A folder of site code tables (CSV, docs/code-tables.md) added to the defaults.
    code_tables_dir: str | None = None

    # The district's street/town codes (镇街). Empty: any well-formed code (1-32 letters,
    # digits, '.', '_', '-'). Set: a sender's code not listed is kept out of street
    # attribution and flagged (data quality rule street_unknown); staff jurisdictions and
    # filters naming an unlisted street are refused.
    streets: list[str] = Field(default_factory=list)

    # The district itself (docs/indicator-rules.md, "Attribution"): the district figure counts
    # the women whose current address (现住址) is in it: an address-street code of one of its
    # streets (MCH_STREETS; when empty, a code starting with the district code), or an address
    # whose `district` is this name or GB/T 2260 code. Others are non-residents (非户籍/流动)
    # or of unknown address, each an area line of its own.
    district_code: str = Field(default="440115", pattern=r"^[0-9]{6}$")
    district_name: str = Field(default="南沙区", min_length=1, max_length=64)
    # The official indicator report (export.xlsx): the issuing body (填报单位) and its contact
    # (联系人及电话) printed under the title; empty: the report says 未设置（MCH_REPORT_ISSUER）
    # (report.unset_text), so the reader knows which setting to fill.
    report_issuer: str = Field(default="", max_length=200)
    report_contact: str = Field(default="", max_length=200)

    # Identifier systems treated as the resident ID card number (身份证号).
    resident_id_systems: list[str] = Field(default_factory=lambda: ["urn:oid:2.16.156.10011.1.3"])

    # The identifier policy: which identifiers are business keys ("Type", every identifier of
    # that type, or "Type|system"). A create carrying a key its sender already used is that
    # record; other identifiers are not unique (claim groups, visit numbers) and match only
    # when the sender asks (If-None-Exist, conditional update). Resident ID systems are always
    # keys on Patient.
    identifier_keys: list[str] = Field(default_factory=lambda: ["Patient"])

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
    # Sign-in back-off (README, Configuration): after lockout_threshold wrong passwords for one
    # username from one address, that address's attempts for that username wait 1 s, then 2 s,
    # 4 s, ... at most lockout_minutes (429 with Retry-After, refused before any hashing). The
    # same back-off applies to a username after sign_in_username_failures failures from any
    # addresses, and to an address after sign_in_address_failures failures for any usernames.
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    sign_in_username_failures: int = Field(default=20, ge=1)
    sign_in_address_failures: int = Field(default=30, ge=1)
    # Password checks (Argon2, CPU heavy) one server process runs at once; more are refused at
    # once (429, Retry-After: 1) rather than queued on the threads other requests need.
    sign_in_concurrency: int = Field(default=4, ge=1)
    # Secure cookies: "auto" sets the flag when the request came over HTTPS (directly or, behind
    # a proxy, per X-Forwarded-Proto); "always" / "never" force it.
    cookie_secure: Literal["auto", "always", "never"] = "auto"

    # Indicator rules that are local choices (docs/indicator-rules.md); every stored result
    # records the values that produced it.
    # statistical | calendar: which year the plan's targets are monitored on (early warnings
    # project to its end). Both are computed: SY2025 and 2025.
    indicator_plan_year: Literal["statistical", "calendar"] = "statistical"
    # A result whose denominator is below this is flagged "small numbers".
    indicator_small_numbers_below: int = Field(default=20, ge=0)
    indicator_caesarean_basis: Literal["births", "women"] = "births"
    case_managed_colours: list[str] = Field(default_factory=lambda: ["orange", "red", "purple"])
    indicator_anaemia_denominator_excludes_thalassaemia: bool = True
    indicator_syphilis_adequate_days: int = Field(default=30, ge=0, le=280)
    # Newborns of HBsAg-positive mothers: HBIG and the first hepatitis B vaccine dose count as
    # timely within these hours of birth (MCH_INDICATOR_HBIG_HOURS, _HEPB_VACCINE_HOURS).
    indicator_hbig_hours: int = Field(default=12, ge=1, le=672)
    indicator_hepb_vaccine_hours: int = Field(default=24, ge=1, le=672)

    # Work lists (docs/indicator-rules.md): follow-up intervals by colour (days), reporting
    # limits for orange/red assessments (hours), and the other intervals. Local policy.
    case_follow_up_days: dict[str, int] = Field(
        default_factory=lambda: {"red": 7, "orange": 14, "purple": 14}
    )
    case_report_limit_hours: dict[str, int] = Field(
        default_factory=lambda: {"orange": 72, "red": 24}
    )
    # The day the institutions began sending live (the cutover after their history backfill):
    # an orange or red assessment made before it is never on report_late, since a backfill
    # delivers old assessments late by nature. Empty: every assessment counts (set it at go-live).
    case_report_late_from: date | None = None
    # (days; none may be negative: a list would then count from a day still to come)
    case_outcome_unknown_days: int = Field(default=14, ge=0)
    case_untreated_days: int = Field(default=14, ge=0)
    case_missing_tests_days: int = Field(default=28, ge=0)
    case_postpartum_due_days: int = Field(default=7, ge=0)
    case_postpartum_overdue_days: int = Field(default=28, ge=0)
    # The street whose reviewers get the work items of women with no street on their records
    # (issue 16: no orphan women); set it to a street of the district MCH hospital's team's
    # jurisdiction. Empty: such items are listed without a street (seen by the reviewers of
    # her institutions and district-wide staff only). Those items are flagged street_missing.
    default_jurisdiction_street: str = Field(default="", max_length=32)

    # Jobs: cron expressions in MCH_TIMEZONE (empty: not scheduled), and whether `serve` runs
    # the scheduler itself (the embedded mode); production runs `mch-service worker`.
    job_schedules: dict[str, str] = Field(
        # work_lists: every day shortly after midnight, so that every list moves to the new
        # day together (README: the daily job)
        default_factory=lambda: {
            "indicators": "*/5 * * * *",
            "data_quality": "17 * * * *",
            "work_lists": "5 0 * * *",
        }
    )
    scheduler_in_server: bool = True

    log_level: str = "INFO"

    # Operations (docs/operations.md). A bearer secret for the Prometheus scraper on /metrics
    # (it does not expire, unlike staff tokens; administrators' tokens work too). None: only
    # administrators may read the metrics.
    metrics_token: str | None = None
    # /readyz: the assembly queue counts as stuck (503) once its oldest woman has waited longer.
    ready_queue_max_age_seconds: float = Field(default=300.0, gt=0)
    # serve: after SIGTERM, seconds to let requests in flight finish before connections close.
    shutdown_timeout_seconds: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        # The message never quotes the refused value: start-up errors end up in logs.
        if self.env == "production" and (
            not self.secret_key
            or self.secret_key == DEV_SECRET_KEY
            or len(self.secret_key) < 32
            or estimated_secret_bits(self.secret_key) < MIN_SECRET_BITS
        ):
            raise ValueError(
                "MCH_ENV=production needs MCH_SECRET_KEY set to a private random value of at "
                f"least 32 characters and an estimated {MIN_SECRET_BITS} bits of entropy (not "
                "a repeated or low-variety string; for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _refuse_removed_settings(cls, data: object) -> object:
        # A removed setting must not be silently ignored: the figures would change meaning.
        if os.environ.get("MCH_INDICATOR_STATISTICAL_YEAR") is not None:
            raise ValueError(
                "MCH_INDICATOR_STATISTICAL_YEAR was removed: the statistical year is a period of "
                "its own (period=SY2025, 1 Oct 2024 - 30 Sep 2025) beside the calendar year 2025; "
                "unset it (MCH_INDICATOR_PLAN_YEAR chooses the year the plan is monitored on)"
            )
        return data

    @model_validator(mode="after")
    def _streets_are_codes(self) -> Settings:
        from mch_service.streets import street_problem

        if any(street_problem(s) for s in self.streets):
            raise ValueError("MCH_STREETS: " + (street_problem("=") or ""))
        if self.default_jurisdiction_street:
            problem = street_problem(self.default_jurisdiction_street, self.streets)
            if problem:
                raise ValueError("MCH_DEFAULT_JURISDICTION_STREET: " + problem)
        return self

    @model_validator(mode="after")
    def _work_list_limits_by_colour(self) -> Settings:
        # The work lists look these up by an assessment's colour: a key that is not a colour
        # would never apply (a typo silently dropping a limit), and a limit of 0 or less would
        # list every case at once.
        colours = ("green", "yellow", "orange", "red", "purple")
        for name, limits in (
            ("MCH_CASE_FOLLOW_UP_DAYS", self.case_follow_up_days),
            ("MCH_CASE_REPORT_LIMIT_HOURS", self.case_report_limit_hours),
        ):
            unknown = sorted(k for k in limits if k not in colours)
            if unknown:
                raise ValueError(
                    f"{name}: keys must be colours ({', '.join(colours)}); not {unknown}"
                )
            if any(v < 1 for v in limits.values()):
                raise ValueError(f"{name}: every limit must be 1 or more")
        return self

    @property
    def sqlite_synchronous(self) -> str:
        """SQLite's durability in WAL mode: NORMAL can lose the last acknowledged commits on a
        power loss or OS crash (not on a process crash), FULL cannot. Production pays for
        FULL; development and tests keep NORMAL's speed."""
        return "FULL" if self.env == "production" else "NORMAL"


@lru_cache
def get_settings() -> Settings:
    return Settings()
