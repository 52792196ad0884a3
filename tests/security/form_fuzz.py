"""The pieces of the HTML form fuzz (test_form_fuzz.py): find the forms a page offers, and make
Hypothesis strategies for what a hostile or clumsy browser could post to them.

A form is read from the rendered page, not from the WTForms class, so what is fuzzed is what a
browser would really send: the ``action`` (or, for an htmx form, its ``hx-post``), every named
``input``/``select``/``textarea``/``button``, the options of a select and the values of radios.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import BytesIO
from urllib.parse import urljoin, urlsplit

from hypothesis import strategies as st

CSRF_FIELD = "csrf_token"


@dataclass
class Field:
    name: str
    kind: str  # the input type, or select / select-multiple / textarea / button
    values: list[str] = field(default_factory=list)  # as rendered: value, options, radio values


@dataclass
class Form:
    actor: str
    endpoint: str
    path: str  # where it posts (query string included)
    fields: dict[str, Field]
    htmx: bool  # posted by htmx (hx-post), as a partial request
    page: str  # the page it was found on

    @property
    def key(self) -> tuple:
        """Forms of one endpoint that differ only in their ids, or in who is offered them, are one
        form to fuzz (the view is the same; each portal's own forms are fuzzed by its own role)."""
        return (self.endpoint, self.htmx, tuple(sorted(self.fields)))

    def defaults(self) -> dict:
        """What the browser would post untouched: each field's rendered value (first option, checked
        boxes as rendered are not known, so boxes are left out)."""
        out = {}
        for f in self.fields.values():
            if f.kind in ("checkbox", "file", "button", "submit") or not f.values:
                continue
            out[f.name] = f.values[0]
        return out


class FormParser(HTMLParser):
    """Collects ``<form method="post">`` elements with their fields."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post" or "hx-post" in a:
                self._form = {"action": a.get("action", ""), "hx_post": a.get("hx-post"), "fields": {}}
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        fields = self._form["fields"]
        name = a.get("name")
        if tag in ("input", "button") and name:
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            existing = fields.setdefault(name, Field(name, kind))
            if "value" in a:
                existing.values.append(a["value"])
        elif tag == "textarea" and name:
            fields.setdefault(name, Field(name, "textarea", [""]))
        elif tag == "select" and name:
            self._select = fields.setdefault(name, Field(name, "select-multiple" if "multiple" in a else "select"))
        elif tag == "option" and self._select is not None:
            self._select.values.append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(page_path: str, html: str, actor: str, adapter) -> list[Form]:
    """The POST forms of one page, each with the endpoint its URL resolves to (None: not ours)."""
    parser = FormParser()
    parser.feed(html)
    found = []
    for raw in parser.forms:
        targets = [(raw["action"], False)] + ([(raw["hx_post"], True)] if raw["hx_post"] else [])
        for target, htmx in targets:
            url = urlsplit(urljoin(page_path, target or page_path))
            try:
                endpoint, _ = adapter.match(url.path, method="POST")
            except Exception:  # noqa: BLE001 - not a POST rule of ours (405/404), or a redirect rule
                continue
            path = url.path + (f"?{url.query}" if url.query else "")
            found.append(Form(actor, endpoint, path, dict(raw["fields"]), htmx, page_path))
    return found


# --- What to post --------------------------------------------------------------------------------

# Unicode a browser can send (no lone surrogates: they cannot be encoded at all).
_unicode = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_odd = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\u202e\u0644\u0627", "ﷺ" * 20, "😀" * 10, "\r\n\t", "<script>alert(1)</script>",
    "' OR 1=1 --", "%s%n", "../../etc/passwd", "null", "None", "true", "[]", "{}", "\\", "\ufeff1",
])
_numbers = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.sampled_from(["-1", "0", "-0", "0.0000001", "1e308", "1e-400", "-1e309", "NaN", "nan", "Infinity", "-inf",
                     "99999999999999999999999999999999", "1,000.00", "1_000", "0x1F", "١٢٣", "12.345.6", " 7 ",
                     "1e9999999"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_dates = st.one_of(
    st.sampled_from(["2026-02-30", "0000-00-00", "9999-12-31", "0001-01-01", "2026-13-01", "2026-11-22T25:61",
                     "1970-01-01T00:00", "-2026-01-01", "20261122", "2026-11-22T09:00", "9999-12-31T23:59",
                     "2026/11/22", "yesterday", "2026-11", "2026-W47", "10000-01-01"]),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)
_emails = st.sampled_from(["@", "a@b", "x" * 300 + "@example.com", "ä@ü.example", "<a>@x.co", "a@example.com\x00",
                           "a@example.com\nBcc: b@example.com", "A@EXAMPLE.COM", "a+b@example.com"])
_huge = st.integers(min_value=1_000, max_value=100_000).flatmap(
    lambda n: st.sampled_from(["x", "9", "é", "\x00", "😀"]).map(lambda c: c * n))
ODD_VALUE = st.one_of(_unicode, _odd, _numbers, _dates, _emails, _huge)


def _value_for(f: Field):
    """One field's value: as rendered (or one of its options), or something odd; sometimes several."""
    plausible = st.sampled_from(f.values) if f.values else st.just("y" if f.kind == "checkbox" else "")
    one = st.one_of(plausible, ODD_VALUE)
    if f.kind == "file":
        name = st.one_of(st.sampled_from(["id.pdf", "photo.jpg", "../x.pdf", "a\x00.pdf", "", "😀.png"]), _unicode)
        body = st.one_of(st.just(b"%PDF-1.4\n%%EOF\n"), st.binary(max_size=4096),
                         st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"<html>"]))
        return st.tuples(body, name)
    return st.one_of(one, st.lists(one, min_size=2, max_size=3))  # a repeated field is a list


def payloads(form: Form):
    """A dict of field → value(s), with fields left out and extra fields added."""
    names = [n for n in form.fields if n != CSRF_FIELD]
    chosen = {n: st.one_of(st.none(), _value_for(form.fields[n])) for n in names}  # None: left out
    extra = st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
                            .filter(lambda k: k != CSRF_FIELD), ODD_VALUE, max_size=2)
    return st.fixed_dictionaries({"fields": st.fixed_dictionaries(chosen), "extra": extra,
                                  "partial": st.booleans() if form.htmx else st.just(False)})


def to_form_data(payload: dict) -> dict:
    """Werkzeug test-client form data: lists become repeated fields, files become file parts."""
    data = {}
    for name, value in {**payload["extra"], **payload["fields"]}.items():
        if value is None:
            continue
        if isinstance(value, tuple):
            value = (BytesIO(value[0]), value[1])
        data[name] = value
    return data
