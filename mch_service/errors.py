"""One error hierarchy. FHIR-facing errors render as OperationOutcome (see fhir_api.outcomes);
staff API errors render as ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One problem, located by a FHIRPath expression when it is about an element."""

    message: str
    expression: str | None = None
    code: str = "invalid"  # OperationOutcome issue type (invalid, structure, value, not-found, ...)
    severity: str = "error"
    # A data-quality warning's rule (e.g. "result_as_text"): OperationOutcome.issue.details
    # carries it as a coding, the Warning header and the data-quality view name it.
    rule: str | None = None


@dataclass
class MchError(Exception):
    message: str
    status_code: int = 400
    issues: list[Issue] = field(default_factory=list)
    code: str = "invalid"
    # HTTP headers the answer carries (a 412's ETag of the current version, a 405's Allow)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def all_issues(self) -> list[Issue]:
        return self.issues or [Issue(self.message, code=self.code)]


class InvalidResource(MchError):
    """The content is not valid FHIR R4 or breaks a rule that protects our data."""

    def __init__(self, issues: list[Issue], message: str = "The resource is not valid") -> None:
        super().__init__(message, 400, issues, "invalid")


class NotFound(MchError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message, 404, [], "not-found")


class Gone(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 410, [], "deleted")


class Forbidden(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 403, [], "forbidden")


class Unauthorized(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 401, [], "login")


class Conflict(MchError):
    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message, 409, issues or [], "conflict")


class PreconditionFailed(MchError):
    def __init__(
        self, message: str, issues: list[Issue] | None = None, etag: str | None = None
    ) -> None:
        super().__init__(message, 412, issues or [], "conflict", {"ETag": etag} if etag else {})


class TooLarge(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 413, [], "too-costly")


class UnsupportedMediaType(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 415, [], "not-supported")


class NotAcceptable(MchError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 406, [], "not-supported")


class TooManyRequests(MchError):
    """Refused for now (sign-in back-off): try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, 429, [], "throttled")
        self.retry_after = max(1, retry_after)
