"""The legacy OFAC SDN/ALT parser: the reference files, dates of birth, and malformed input
refused with the line where the bad record starts."""

from __future__ import annotations

from datetime import date

import pytest

from caas.screening.sdn import (
    DobRange,
    SdnFormatError,
    attach_aliases,
    load_sdn,
    parse_alt,
    parse_dobs,
    parse_sdn,
)


def test_reference_files_parse_completely(reference) -> None:
    # README: 8,976 entries and 11,910 alternate names.
    entries = load_sdn(reference("ofac", "sdn.csv"), reference("ofac", "alt.csv"), remarks_aliases=False)
    assert len(entries) == 8976
    assert sum(len(entry.aliases) for entry in entries) == 11910


def test_reference_entries_read_as_printed(sdn_entries) -> None:
    by_number = {entry.ent_num: entry for entry in sdn_entries}
    cuban = by_number[36]  # 36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ...
    assert (cuban.name, cuban.sdn_type, cuban.programs, cuban.remarks) == ("AEROCARIBBEAN AIRLINES", None, "CUBA", None)
    assert [(a.alt_num, a.alt_type, a.name) for a in cuban.aliases] == [(12, "aka", "AERO-CARIBBEAN")]
    belarus = by_number[32277]  # "DOB 08 Sep 1966; POB Privalka, ..."
    assert belarus.sdn_type == "individual"
    assert belarus.dobs == (DobRange(date(1966, 9, 8), date(1966, 9, 8), "08 Sep 1966"),)


def test_aliases_only_in_the_remarks_are_added(sdn_entries) -> None:
    # 32391 has two names in alt.csv; its remarks list six more a.k.a.s, CHAPORI, Petit among them.
    djibo = next(entry for entry in sdn_entries if entry.ent_num == 32391)
    names = [alias.name for alias in djibo.aliases]
    assert names[:2] == ["KOUNOU, Ousmane Illasou", "DJIBO, Halid Illiassou"]
    assert "CHAPORI, Petit" in names and "CHAFFORI, Petit" in names
    assert len(names) == 8


SDN_OK = ('36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
          '306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. \'BNC\'."\r\n')


def test_ctrl_z_end_of_file_line_is_ignored() -> None:
    assert [entry.ent_num for entry in parse_sdn(SDN_OK + "\x1a")] == [36, 306]


def test_a_quoted_field_may_span_lines_and_errors_name_the_record_start() -> None:
    multiline = SDN_OK + '999,"SPLIT",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"first\nsecond"\r\n'
    assert parse_sdn(multiline)[-1].remarks == "first\nsecond"
    with pytest.raises(SdnFormatError, match=r"line 5: expected 12 fields, found 2"):
        parse_sdn(multiline + '1000,"SHORT"\r\n')


@pytest.mark.parametrize(("bad_line", "message"), [
    ('37,"TOO FEW",-0- ,"CUBA"', r"sdn\.csv: line 3: expected 12 fields, found 4"),
    ('x7,"NOT A NUMBER",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', r"line 3: ent_num is not an integer: 'x7'"),
    ('38,-0- ,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', r"line 3: entry 38 has no name"),
    ('36,"DUPLICATE",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', r"line 3: duplicate ent_num 36"),
    ('39,"BAD "QUOTE",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', r"line 3: unreadable CSV"),
])
def test_malformed_sdn_records_are_refused_with_their_line(bad_line: str, message: str) -> None:
    with pytest.raises(SdnFormatError, match=message) as caught:
        parse_sdn(SDN_OK + bad_line + "\r\n" + SDN_OK.replace("36,", "40,").replace("306,", "41,"))
    assert caught.value.line == 3


def test_malformed_alt_records_are_refused_with_their_line() -> None:
    good = '36,12,"aka","AERO-CARIBBEAN",-0- \r\n'
    with pytest.raises(SdnFormatError, match=r"alt\.csv: line 2: expected 5 fields, found 3"):
        parse_alt(good + '36,13,"aka"\r\n')
    with pytest.raises(SdnFormatError, match=r"line 2: alt_num is not an integer"):
        parse_alt(good + '36,x,"aka","NAME",-0- \r\n')
    with pytest.raises(SdnFormatError, match=r"line 2: alternate name 13 has no name"):
        parse_alt(good + '36,13,"aka",-0- ,-0- \r\n')


def test_an_alternate_name_of_an_unknown_entry_is_refused_with_its_line() -> None:
    alts = parse_alt('36,12,"aka","AERO-CARIBBEAN",-0- \r\n\r\n77,13,"aka","ORPHAN",-0- \r\n')
    with pytest.raises(SdnFormatError, match=r"alt\.csv: line 3: alternate name 13 refers to unknown entry 77"):
        attach_aliases(parse_sdn(SDN_OK), alts)


@pytest.mark.parametrize(("remarks", "expected"), [
    ("DOB 08 Sep 1966; POB Privalka", [(date(1966, 9, 8), date(1966, 9, 8))]),
    ("DOB 1984; POB Niger", [(date(1984, 1, 1), date(1984, 12, 31))]),
    ("DOB Feb 1960.", [(date(1960, 2, 1), date(1960, 2, 29))]),
    ("DOB circa 1951; POB Foca", [(date(1950, 1, 1), date(1952, 12, 31))]),
    ("DOB 1955 to 1957", [(date(1955, 1, 1), date(1957, 12, 31))]),
    ("DOB 01 Jan 1960 to 31 Dec 1962", [(date(1960, 1, 1), date(1962, 12, 31))]),
    ("DOB circa 1979-1982", [(date(1978, 1, 1), date(1983, 12, 31))]),
    ("DOB 12 Mar 1960; alt. DOB 13 Mar 1961", [(date(1960, 3, 12), date(1960, 3, 12)),
                                               (date(1961, 3, 13), date(1961, 3, 13))]),
    ("DOB 31 Feb 1960; DOB unknown; POB Cuba", []),  # not a date: skipped, not guessed
    ("Linked To: SOMETHING", []),
])
def test_dates_of_birth_in_the_remarks(remarks: str, expected: list[tuple[date, date]]) -> None:
    assert [(r.earliest, r.latest) for r in parse_dobs(remarks)] == expected
