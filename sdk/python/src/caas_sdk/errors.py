"""Typed errors. Every refusal of the API becomes an ``APIError`` subclass chosen by HTTP status,
carrying the API's stable ``code``, its ``message``, the ``field`` it concerns and, for validation,
every bad field in ``fields``."""
from __future__ import annotations

from typing import Any


class CaasError(Exception):
    """Base of every error this package raises."""


class APIConnectionError(CaasError):
    """The API could not be reached, or did not answer in time (after the retries)."""


class APIError(CaasError):
    status: int
    code: str
    message: str
    field: str | None
    fields: dict[str, str]
    request_id: str | None

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 fields: dict[str, str] | None = None, request_id: str | None = None, body: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.fields = fields or {}
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.message}{where} ({self.code}, HTTP {self.status})"


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: the key lacks the endpoint's scope, or the client is suspended."""


class NotFoundError(APIError):
    """404: no such object for this client (another client's id answers the same)."""


class ConflictError(APIError):
    """409: the object's state forbids it (e.g. an offer already accepted)."""


class ValidationError(APIError):
    """400/422: bad input; ``fields`` maps each bad field to its message."""


class RateLimitError(APIError):
    """429: over the key's hourly quota (``rate_limited``) or the plan's (``quota_exceeded``)."""

    retry_after: float | None = None


class ServerError(APIError):
    """5xx after the retries."""


_BY_STATUS = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
              409: ConflictError, 422: ValidationError, 429: RateLimitError}


def from_response(status: int, body: Any, request_id: str | None = None,
                  retry_after: float | None = None) -> APIError:
    """The error for a non-2xx answer; a body that is not the API's error shape still gives one."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{status}", "message": f"The API answered HTTP {status}."}
    fields = {item.get("field"): item.get("message") for item in error.get("fields") or []
              if isinstance(item, dict)}
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    exc = cls(status, str(error.get("code") or f"http_{status}"), str(error.get("message") or ""),
              error.get("field"), fields, request_id, body)
    if isinstance(exc, RateLimitError):
        exc.retry_after = retry_after
    return exc
