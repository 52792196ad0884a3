"""Borrower documents: type checked by content, at most 10 MB, stored outside static/ under a
per-tenant path with a random name. Downloads are audited."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.credit.models import Document

KINDS = {"identity": "Identity document", "proof_of_income": "Proof of income", "bank_statement": "Bank statement"}
MAX_BYTES = 10 * 1024 * 1024
_SIGNATURES = ((b"%PDF-", "application/pdf", ".pdf"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
               (b"\xff\xd8\xff", "image/jpeg", ".jpg"))


def sniff(data: bytes) -> tuple[str, str]:
    """(content type, extension) from the bytes themselves; the file name is not trusted."""
    if len(data) > MAX_BYTES:
        raise DomainError("file_too_large", "The file is larger than 10 MB.", "file")
    if not data:
        raise DomainError("empty_file", "The file is empty.", "file")
    for signature, content_type, extension in _SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    raise DomainError("wrong_file_type", "Upload a PDF, JPEG or PNG file.", "file")


def upload(session: Session, upload_dir: str, *, user_id: uuid.UUID, client_id: uuid.UUID, kind: str,
           filename: str, data: bytes) -> Document:
    """Check, store and record a document. Nothing is stored when it is refused."""
    if kind not in KINDS:
        raise DomainError("invalid_kind", "Choose what the document is.", "kind")
    content_type, extension = sniff(data)
    relative = f"documents/{client_id}/{secrets.token_hex(16)}{extension}"
    path = Path(upload_dir) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        document = Document(id=uuid.uuid4(), client_id=client_id, user_id=user_id, kind=kind,
                            content_type=content_type, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                            storage_path=relative, original_name=Path(filename or "upload").name[:200])
        session.add(document)
        session.flush()
    except Exception:
        path.unlink(missing_ok=True)  # the row failed: leave no orphan file
        raise
    return document


def list_for(session: Session, user_id: uuid.UUID) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.user_id == user_id).order_by(Document.created_at)))


def open_for_download(session: Session, actor: Actor, upload_dir: str, document_id: uuid.UUID, *,
                      owner_id: uuid.UUID | None) -> tuple[Document, Path]:
    """Return a document to download, and audit it. ``owner_id`` limits a borrower to their own
    documents; admins pass None and row-level security limits them to their tenant."""
    document = tenant.get_visible(session, Document, document_id)
    if document is None or (owner_id is not None and document.user_id != owner_id):
        raise NotFound("document")
    record(session, actor, "document.download", client_id=document.client_id, target_type="document",
           target_id=document.id, after={"kind": document.kind, "owner": str(document.user_id)})
    return document, Path(upload_dir) / document.storage_path
