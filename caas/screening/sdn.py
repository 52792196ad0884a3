"""OFAC's legacy SDN CSV files (``sdn.csv`` and ``alt.csv``) parsed into plain dataclasses.

The legacy format has no header. ``sdn.csv`` has 12 fields per record: ent_num, SDN_Name,
SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks.
``alt.csv`` has 5: ent_num, alt_num, alt_type (aka, fka, nka), alt_name, alt_remarks. ``-0-``
(often followed by a space) means "no value". Files end with CRLF lines and, from OFAC's DOS
heritage, sometimes a lone Ctrl-Z (``\\x1a``) line, which is ignored.

Anything else that does not fit raises ``SdnFormatError`` naming the line where the bad record
starts: a list that parses half-way must not be imported as if it were whole.

Dates of birth come from the remarks (``DOB 12 Mar 1960; alt. DOB 1961``) as ``DobRange``s:
a day is a one-day range, ``Mar 1960`` a month, ``1960`` a year, ``1960 to 1962`` or
``1979-1982`` a span, and ``circa`` widens the range by one year on each side.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from caas.screening.names import normalise

NULL = "-0-"
SDN_FIELDS = 12
ALT_FIELDS = 5
_EOF_MARKER = "\x1a"


class SdnFormatError(ValueError):
    """A record of an SDN or ALT file that does not fit the legacy format."""

    def __init__(self, message: str, line: int, source: str = ""):
        self.line = line
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}line {line}: {message}")


@dataclass(frozen=True)
class DobRange:
    """A date of birth as printed on the list, widened to the days it can mean."""

    earliest: date
    latest: date
    text: str


@dataclass(frozen=True)
class AltName:
    ent_num: int
    alt_num: int | None  # None for a name read from the entry's remarks
    alt_type: str  # "aka", "fka" or "nka"
    name: str
    remarks: str | None = None
    line: int = field(default=0, compare=False)  # where it was read, for error messages


@dataclass(frozen=True)
class SdnEntry:
    ent_num: int
    name: str
    sdn_type: str | None = None  # "individual", "vessel", "aircraft"; None for entities
    programs: str | None = None
    title: str | None = None
    call_sign: str | None = None
    vessel_type: str | None = None
    tonnage: str | None = None
    gross_tonnage: str | None = None
    vessel_flag: str | None = None
    vessel_owner: str | None = None
    remarks: str | None = None
    aliases: tuple[AltName, ...] = ()
    dobs: tuple[DobRange, ...] = field(default=())


def _value(raw: str) -> str | None:
    text = raw.strip()
    return None if text in ("", NULL) else text


def _records(text: str, expected: int, source: str) -> Iterable[tuple[int, list[str]]]:
    """(line where the record starts, fields) for each record, checking the field count."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise SdnFormatError(f"unreadable CSV ({error})", start, source) from None
        line, start = start, reader.line_num + 1
        if not row or (len(row) == 1 and row[0].strip() in ("", _EOF_MARKER)):
            continue
        if len(row) != expected:
            raise SdnFormatError(f"expected {expected} fields, found {len(row)}", line, source)
        yield line, row


def _integer(raw: str, what: str, line: int, source: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise SdnFormatError(f"{what} is not an integer: {raw.strip()!r}", line, source) from None


def parse_sdn(text: str, source: str = "sdn.csv") -> list[SdnEntry]:
    """Entries of a legacy ``sdn.csv`` text, without aliases (see ``attach_aliases``)."""
    entries: list[SdnEntry] = []
    seen: set[int] = set()
    for line, row in _records(text, SDN_FIELDS, source):
        ent_num = _integer(row[0], "ent_num", line, source)
        if ent_num in seen:
            raise SdnFormatError(f"duplicate ent_num {ent_num}", line, source)
        seen.add(ent_num)
        name = _value(row[1])
        if name is None:
            raise SdnFormatError(f"entry {ent_num} has no name", line, source)
        values = [_value(raw) for raw in row[2:]]
        remarks = values[-1]
        entries.append(SdnEntry(ent_num, name, *values, dobs=parse_dobs(remarks or "")))
    return entries


def parse_alt(text: str, source: str = "alt.csv") -> list[AltName]:
    """Alternate names of a legacy ``alt.csv`` text."""
    names: list[AltName] = []
    for line, row in _records(text, ALT_FIELDS, source):
        ent_num = _integer(row[0], "ent_num", line, source)
        alt_num = _integer(row[1], "alt_num", line, source)
        alt_type = _value(row[2])
        name = _value(row[3])
        if alt_type is None or name is None:
            raise SdnFormatError(f"alternate name {alt_num} has no {'type' if alt_type is None else 'name'}",
                                 line, source)
        names.append(AltName(ent_num, alt_num, alt_type.lower(), name, _value(row[4]), line=line))
    return names


def attach_aliases(entries: list[SdnEntry], alts: Iterable[AltName], source: str = "alt.csv") -> list[SdnEntry]:
    """Entries with their alternate names. An alternate name of an unknown entry is an error: it
    would otherwise never be screened."""
    by_entry: dict[int, list[AltName]] = {}
    known = {entry.ent_num for entry in entries}
    for alt in alts:
        if alt.ent_num not in known:
            raise SdnFormatError(f"alternate name {alt.alt_num} refers to unknown entry {alt.ent_num}",
                                 alt.line, source)
        by_entry.setdefault(alt.ent_num, []).append(alt)
    return [replace(entry, aliases=tuple(by_entry.get(entry.ent_num, ()))) for entry in entries]


_REMARK_ALIAS = re.compile(r"\b([afn])\.k\.a\.,?\s+'(.+?)'(?=[;.,)]|\s*$)")


def remark_aliases(entry: SdnEntry) -> tuple[AltName, ...]:
    """Alternate names printed only in the remarks (``a.k.a. 'CHAPORI, Petit'``). In the legacy
    files many of them are missing from alt.csv, and a name left out is a name never screened."""
    have = {normalise(entry.name), *(normalise(alt.name) for alt in entry.aliases)}
    found: list[AltName] = []
    for kind, name in _REMARK_ALIAS.findall(entry.remarks or ""):
        key = normalise(name)
        if key and key not in have:
            have.add(key)
            found.append(AltName(entry.ent_num, None, f"{kind}ka", name.strip(), "from the SDN remarks"))
    return tuple(found)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older OFAC downloads are Windows-1252; latin-1 decodes any byte, so nothing is lost.
        return data.decode("latin-1")


def load_sdn(sdn_path: str | Path, alt_path: str | Path | None = None, *,
             remarks_aliases: bool = True) -> list[SdnEntry]:
    """Entries of the SDN file at ``sdn_path`` with the alternate names of ``alt_path`` and, unless
    ``remarks_aliases`` is false, those printed only in the remarks."""
    entries = parse_sdn(_read_text(Path(sdn_path)), source=str(sdn_path))
    if alt_path is not None:
        alts = parse_alt(_read_text(Path(alt_path)), source=str(alt_path))
        entries = attach_aliases(entries, alts, str(alt_path))
    if remarks_aliases:
        entries = [replace(entry, aliases=entry.aliases + extra) if (extra := remark_aliases(entry)) else entry
                   for entry in entries]
    return entries


# --- dates of birth in the remarks -------------------------------------------------------------

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_DOB = re.compile(r"\bDOB\s+([^;]+)")
_POINT = r"(?:(\d{1,2})\s+)?(?:([A-Za-z]{3})[a-z]*\.?\s+)?(\d{4})"
_DOB_VALUE = re.compile(rf"^(circa\s+)?{_POINT}(?:\s*(?:to|-)\s*{_POINT})?\.?$", re.IGNORECASE)


def _point(day: str | None, month: str | None, year: str) -> tuple[date, date] | None:
    y = int(year)
    if month is None:
        return (date(y, 1, 1), date(y, 12, 31)) if day is None else None
    m = _MONTHS.get(month.lower())
    if m is None:
        return None
    last = calendar.monthrange(y, m)[1]
    if day is None:
        return date(y, m, 1), date(y, m, last)
    d = int(day)
    return (date(y, m, d), date(y, m, d)) if 1 <= d <= last else None


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def parse_dobs(remarks: str) -> tuple[DobRange, ...]:
    """Every ``DOB ...`` (including ``alt. DOB ...``) of a remarks field that can be read as dates;
    values that cannot are skipped rather than guessed."""
    found: list[DobRange] = []
    for raw in _DOB.findall(remarks):
        text = raw.strip()
        match = _DOB_VALUE.match(text)
        if not match:
            continue
        circa, d1, m1, y1, d2, m2, y2 = match.groups()
        first = _point(d1, m1, y1)
        last = _point(d2, m2, y2) if y2 else first
        if first is None or last is None or last[1] < first[0]:
            continue
        earliest, latest = first[0], last[1]
        if circa:
            earliest, latest = _shift_years(earliest, -1), _shift_years(latest, 1)
        found.append(DobRange(earliest, latest, text.rstrip(".")))
    return tuple(found)
