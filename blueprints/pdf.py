"""PDF documents rendered on demand in the request: an HTML template (with its own <style>, never
served as a page) turned into PDF by WeasyPrint (``caas.loans.statements.render_pdf``)."""
from __future__ import annotations

from flask import Response, render_template, request

from caas.loans import statements


def statement_html(statement: statements.LoanStatement) -> str:
    return render_template("loans/statement.html", s=statement)


def statement_response(statement: statements.LoanStatement) -> Response:
    pdf = statements.render_pdf(statement_html(statement), base_url=request.url_root)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{statements.statement_filename(statement)}"',
        "Cache-Control": "private, no-store",  # a borrower's finances: no shared or kept copies
    })
