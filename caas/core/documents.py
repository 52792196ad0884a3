"""PDF documents (invoices, loan statements): a self-contained HTML page, with its own <style>,
turned into PDF by WeasyPrint. Rendered on demand, never inside a batch run."""
from __future__ import annotations


def _refuse_fetch(url: str, *args, **kwargs):
    # Documents are self-contained: rendering must never make the server fetch a URL (SSRF),
    # whatever a name or a reference printed in them says.
    raise ValueError(f"documents load no external resources ({url[:40]})")


def render_pdf(html: str) -> bytes:
    import weasyprint  # imported on use: it loads Pango

    return weasyprint.HTML(string=html, base_url=".", url_fetcher=_refuse_fetch).write_pdf()
