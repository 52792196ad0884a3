"""Client logos: checked by content (PNG or JPEG magic bytes), at most 1 MB, stored outside static/
under a random name."""
from __future__ import annotations

import secrets
from pathlib import Path

from caas.core.errors import DomainError

MAX_LOGO_BYTES = 1024 * 1024
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}
MIMETYPES = {".png": "image/png", ".jpg": "image/jpeg"}


def logo_extension(data: bytes) -> str:
    if len(data) > MAX_LOGO_BYTES:
        raise DomainError("file_too_large", "The logo must be at most 1 MB.", "logo")
    for signature, extension in _SIGNATURES.items():
        if data.startswith(signature):
            return extension
    raise DomainError("wrong_file_type", "The logo must be a PNG or JPEG image.", "logo")


def store_logo(upload_dir: str, data: bytes) -> str:
    """Validate and write the logo; returns its path relative to ``upload_dir``."""
    extension = logo_extension(data)
    relative = f"logos/{secrets.token_hex(16)}{extension}"
    path = Path(upload_dir) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative
