"""Uploaded documents are served as downloads, never rendered: Content-Disposition attachment,
nosniff and the stored (content-checked) type, to the borrower and to their client's admin; the
file lives outside the web root under a random name (ASVS 5.0 V5.3)."""
from __future__ import annotations

from pathlib import Path

from caas.core import tenant
from caas.credit import documents
from tests import factories
from tests.helpers import get, login

# Served back, this would run as HTML in the browser if the server trusted the name or sniffing.
HTML_IN_A_PDF = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n"


def _upload(db, client_app, c, owner):
    with tenant.tenant_scope(c.id, db):
        doc = documents.upload(db, client_app.config["UPLOAD_DIR"], user_id=owner.id, client_id=c.id,
                               kind="identity", filename="page.html", data=HTML_IN_A_PDF)
    db.commit()
    return doc


def _assert_served_as_download(response, doc_id) -> None:
    assert response.status_code == 200 and response.data == HTML_IN_A_PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert ".html" not in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_borrower_download_is_an_attachment_with_nosniff(app, client, db):
    c = factories.client(db)
    b = factories.borrower(db, c)
    doc = _upload(db, app, c, b)
    stored = Path(app.config["UPLOAD_DIR"]) / doc.storage_path
    static = Path(app.static_folder).resolve()
    assert stored.is_file() and static not in stored.resolve().parents
    assert "page" not in stored.name and not stored.name.endswith(".html")
    assert login(client, b.email, factories.PASSWORD, path=f"/c/{c.slug}/login").status_code == 302
    _assert_served_as_download(get(client, f"/c/{c.slug}/documents/{doc.id}"), doc.id)


def test_client_admin_download_is_an_attachment_with_nosniff(app, client, db):
    c = factories.client(db)
    b = factories.borrower(db, c)
    admin = factories.client_admin(db, c)
    doc = _upload(db, app, c, b)
    login(client, admin.email, factories.PASSWORD)
    _assert_served_as_download(get(client, f"/admin/clients/{c.id}/documents/{doc.id}"), doc.id)
