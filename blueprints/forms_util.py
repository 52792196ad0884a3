"""Showing domain refusals at the form field they concern."""
from __future__ import annotations

from caas.core.errors import DomainError


def apply_error(form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Put the refusal (or each of several) at its field; errors without a field go on the form."""
    fields = getattr(exc, "fields", None) or {exc.field: exc.message}
    for name, message in fields.items():
        name = (aliases or {}).get(name, name)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors.append(message)
        else:
            form.form_errors.append(message)


def split_codes(text: str) -> list[str]:
    return [part.strip().upper() for part in (text or "").split(",") if part.strip()]


def split_ints(text: str, field: str) -> list[int]:
    try:
        return [int(part) for part in (text or "").replace(" ", "").split(",") if part]
    except ValueError:
        raise DomainError("invalid_number", "Use whole numbers separated by commas, e.g. 3, 6, 12.", field) from None
