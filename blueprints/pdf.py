"""PDF documents rendered on demand in the request: an HTML template (with its own <style>, never
served as a page) turned into PDF by WeasyPrint (``caas.core.documents.render_pdf``), sent as a
private download."""
from __future__ import annotations

from flask import Response, render_template

from caas.core.documents import render_pdf
from caas.loans import statements


def pdf_response(html: str, filename: str) -> Response:
    return Response(render_pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",  # someone's finances: no shared or kept copies
    })


def statement_html(statement: statements.LoanStatement) -> str:
    return render_template("loans/statement.html", s=statement)


def statement_response(statement: statements.LoanStatement) -> Response:
    return pdf_response(statement_html(statement), statements.statement_filename(statement))
