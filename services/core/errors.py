"""The one error type that services raise; ``services.core.api`` turns it into an HTTP answer."""

from typing import Any


class ApplicationError(Exception):
    """A failure the caller can act on: a stable ``code``, a readable message, an HTTP status."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_request",
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}
        self.headers = headers or {}


class NotFound(ApplicationError):
    status = 404

    def __init__(self, message: str = "Not found.", *, code: str = "not_found", **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: str, *, code: str = "permission_denied", **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)


class Conflict(ApplicationError):
    status = 409

    def __init__(self, message: str, *, code: str = "conflict", **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)


class Throttled(ApplicationError):
    """Over a quota or rate limit (429) or the queue is full (503); both say when to come back."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, code: str = "throttled", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {})["Retry-After"] = str(max(1, int(retry_after)))
        kwargs.setdefault("details", {})["retry_after_seconds"] = max(1, int(retry_after))
        super().__init__(message, code=code, **kwargs)
