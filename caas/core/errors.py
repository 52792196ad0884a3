"""Errors that business operations raise for bad input; the boundary shows them at the field."""
from __future__ import annotations


class DomainError(Exception):
    """A refusal with a stable code, a human message and, when it concerns one input, the field."""

    status = 422

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_json(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class NotFound(DomainError):  # noqa: N818
    status = 404

    def __init__(self, what: str = "object"):
        super().__init__("not_found", f"{what} not found")
