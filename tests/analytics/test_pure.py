"""The pure parts of analytics: the window, the chart geometry and the tables (page and CSV)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.analytics import charts, tables
from caas.analytics.window import Window, ratio
from caas.core.errors import DomainError

TODAY = date(2026, 11, 22)  # a Sunday


def test_the_default_window_is_the_last_90_days_up_to_today():
    window = Window.between(None, None, TODAY)
    assert (window.start, window.end, window.days) == (date(2026, 8, 25), TODAY, 90)
    assert window.starts_at.isoformat() == "2026-08-25T00:00:00+00:00"
    assert window.ends_at.isoformat() == "2026-11-23T00:00:00+00:00"  # the end day is included


@pytest.mark.parametrize("start, end, field, message", [
    (date(2026, 11, 2), date(2026, 11, 1), "date_to", "The end must be on or after the start."),
    (date(2024, 10, 31), date(2026, 11, 1), "date_to", "Choose at most 731 days."),
    (date(1999, 12, 31), date(2000, 1, 5), "date_from", "Start on or after 2000-01-01."),
])
def test_a_bad_window_is_refused_at_its_field(start, end, field, message):
    with pytest.raises(DomainError) as refused:
        Window.between(start, end, TODAY)
    assert (refused.value.field, refused.value.message) == (field, message)


def test_weeks_and_months_of_a_window():
    window = Window(date(2026, 10, 28), date(2026, 11, 11))  # Wednesday to Wednesday
    assert window.weeks() == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9)]
    assert window.week_ends() == [date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 11)]
    assert window.months() == ["2026-10", "2026-11"]
    assert Window(date(2026, 12, 5), date(2027, 2, 1)).months() == ["2026-12", "2027-01", "2027-02"]


def test_ratio_rounds_half_even_and_is_undefined_over_zero():
    assert ratio(2, 3) == Decimal("0.6667")
    assert ratio(1, 8) == Decimal("0.1250")
    assert ratio(1, 80000) == Decimal("0.0000")  # 0.0000125: half-even down
    assert ratio(3, 80000) == Decimal("0.0000")  # 0.0000375 → 0.0000 (4 places)
    assert ratio(5, 0) is None


def test_bar_chart_geometry():
    chart = charts.bar_chart("t", ["a", "b", "c", "d"], [charts.Series("x", (10, 5, 0, None))],
                             width=480, height=240, left=80)
    # plot: x 80..472 (4 slots of 98), y 16..212; the tallest bar fills the plot
    assert [(b.x, b.y, b.width, b.height) for b in chart.bars] == [(89, 16, 77, 196), (187, 114, 77, 98)]
    assert chart.x_labels == ((129, "a"), (227, "b"), (325, "c"), (423, "d"))
    assert chart.y_ticks == ((212, "0"), (114, "5"), (16, "10"))
    assert chart.bars[0].title == "a · x: 10" and not chart.empty


def test_grouped_bars_share_the_slot_and_a_tiny_value_still_shows():
    chart = charts.bar_chart("t", ["a"], [charts.Series("x", (1000,)), charts.Series("y", (1,))],
                             width=480, height=240, left=80)
    first, second = chart.bars
    assert (first.series, second.series) == (0, 1) and second.x > first.x
    assert second.height == 1  # 0.196 rounds to 0: drawn at 1 so it is not mistaken for nothing


def test_line_chart_breaks_at_missing_values():
    chart = charts.line_chart("t", ["w1", "w2", "w3", "w4"],
                              [charts.Series("PAR30 %", (Decimal("50"), None, Decimal("100"), Decimal("25")))],
                              width=480, height=240, left=80)
    assert [line.points for line in chart.lines] == ["129,114", "325,16 423,163"]
    assert [d.title for d in chart.dots] == ["w1 · PAR30 %: 50", "w3 · PAR30 %: 100", "w4 · PAR30 %: 25"]
    assert chart.y_ticks[1] == (114, "50.00")


def test_an_empty_chart_says_so():
    assert charts.bar_chart("t", ["a"], [charts.Series("x", (0,))]).empty
    assert charts.line_chart("t", ["a"], [charts.Series("x", (None,))]).empty


def test_many_categories_get_every_nth_label():
    chart = charts.bar_chart("t", [f"w{i}" for i in range(25)], [charts.Series("x", tuple(range(25)))])
    assert [label for _, label in chart.x_labels] == ["w0", "w3", "w6", "w9", "w12", "w15", "w18", "w21", "w24"]


def test_tables_show_people_numbers_and_csv_plain_ones():
    table = tables.Table("t", "caption", ("Client", "Loans", "Principal", "Rate", "APR", "Day"), (
        ("=cmd|' /C calc'!A0", 1234, tables.Amount(123456789, "NGN"), tables.Rate(Decimal("0.6667")),
         tables.Percent(Decimal("31.255")), date(2026, 11, 2)),
        ("Beta", 0, tables.Amount(-5, "NGN"), tables.Rate(None), tables.Percent(None), None),
    ))
    assert [tables.show(c) for c in table.rows[0][1:]] == ["1,234", "1,234,567.89", "66.7%", "31.26%", "2026-11-02"]
    assert [tables.show(c) for c in table.rows[1][1:]] == ["0", "-0.05", "—", "—", "—"]
    assert tables.to_csv(table) == (
        "Client,Loans,Principal,Rate,APR,Day\r\n"
        "'=cmd|' /C calc'!A0,1234,1234567.89,0.6667,31.255,2026-11-02\r\n"
        "Beta,0,-0.05,,,\r\n")
    assert table.aligned_right() == (False, True, True, True, True, False)


def test_a_dashboard_finds_its_tables_by_name():
    a = tables.Table("a", "", ("x",), ())
    b = tables.Table("b", "", ("x",), ())
    board = tables.Dashboard("d", "D", (tables.Section("A", a), tables.Section("B", b, chart=[1, 2])))
    assert board.table(None) is a and board.table("b") is b and board.table("c") is None
    assert board.sections[1].charts == [1, 2] and board.sections[0].charts == []
