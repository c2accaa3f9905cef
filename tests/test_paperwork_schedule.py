"""Deadline arithmetic as pure functions: recurrences, month ends, time zones, late vs on time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.paperwork import (
    Month,
    Recurrence,
    ScheduleError,
    default_due,
    exists_locally,
    is_late,
    meeting_days,
    minutes_deadline,
    occurrences,
    parse_clock,
    parse_day,
    parse_moment,
    parse_month,
    parse_recurrence,
    report_deadline,
    report_months,
    zone,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK, UTC])
WEEKLY = parse_recurrence("weekly = weekly fri 15:00")
QUARTERLY = parse_recurrence("strategy = quarterly 1 fri 10:00")

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
months = st.builds(Month, st.integers(1990, 2090), st.integers(1, 12))
aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=ZONES)


# --- meeting rules ------------------------------------------------------------------------


def test_default_rules_parse() -> None:
    assert WEEKLY == Recurrence("weekly", "weekly", 4, time(15, 0))
    assert QUARTERLY == Recurrence("strategy", "quarterly", 4, time(10, 0), nth=1)
    assert parse_recurrence("周会 = Weekly FRI 15:00").name == "周会"
    assert parse_recurrence("risk = monthly last mon 9:30") == Recurrence("risk", "monthly", 0, time(9, 30), nth=-1)
    assert parse_recurrence(QUARTERLY.name + " = " + QUARTERLY.describe()) == QUARTERLY


@pytest.mark.parametrize(
    "spec",
    [
        "weekly fri 15:00",                      # no name
        "= weekly fri 15:00",
        "weekly = daily fri 15:00",
        "weekly = weekly friday 15:00",
        "weekly = weekly xyz 15:00",
        "weekly = weekly fri 25:00",
        "weekly = weekly fri 15:60",
        "weekly = weekly 1 fri 15:00",           # weekly takes no NTH
        "strategy = quarterly fri 10:00",        # quarterly needs one
        "strategy = quarterly 5 fri 10:00",
        "a = b = weekly fri 15:00",
        "x" * 65 + " = weekly fri 15:00",
    ],
)
def test_bad_rules_are_refused(spec: str) -> None:
    with pytest.raises(ScheduleError):
        parse_recurrence(spec)


@given(days, st.integers(0, 400))
def test_weekly_meetings_are_every_friday_in_the_range(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    found = meeting_days(WEEKLY, start, end)
    expected = [start + timedelta(days=n) for n in range(span + 1) if (start + timedelta(days=n)).weekday() == 4]
    assert found == expected


@given(days, st.integers(0, 800), st.sampled_from(["1", "2", "3", "4", "last"]), st.integers(0, 6))
def test_quarterly_meetings_fall_on_the_nth_weekday_of_a_quarters_first_month(
    start: date, span: int, nth: str, weekday: int
) -> None:
    day_name = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[weekday]
    rule = parse_recurrence(f"q = quarterly {nth} {day_name} 10:00")
    found = meeting_days(rule, start, start + timedelta(days=span))
    for day in found:
        assert day.month in (1, 4, 7, 10)
        assert day.weekday() == weekday
        if nth == "last":
            assert (day + timedelta(days=7)).month != day.month
        else:
            assert (day.day - 1) // 7 + 1 == int(nth)
    quarters = {(day.year, day.month) for day in found}
    assert len(quarters) == len(found)  # one a quarter
    assert len(found) >= span // 92 - 1


def test_quarterly_strategy_meetings_of_2026() -> None:
    found = meeting_days(QUARTERLY, date(2026, 1, 1), date(2026, 12, 31))
    assert found == [date(2026, 1, 2), date(2026, 4, 3), date(2026, 7, 3), date(2026, 10, 2)]


@given(aware, st.integers(1, 60), ZONES)
def test_occurrences_are_local_wall_clock_and_inside_the_window(start: datetime, span: int, tz: ZoneInfo) -> None:
    end = start + timedelta(days=span)
    found = occurrences(WEEKLY, start, end, tz)
    assert all(start <= moment < end for moment in found)
    for moment in found:
        local_moment = moment.astimezone(tz)
        assert local_moment.weekday() == 4
        assert local_moment.time() == time(15, 0)
    assert span // 7 <= len(found) <= span // 7 + 1
    assert found == sorted(found)


def test_friday_15_00_in_shanghai_is_07_00_utc() -> None:
    start = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    [first, *_] = occurrences(WEEKLY, start, start + timedelta(days=7), SHANGHAI)
    assert first.astimezone(UTC) == datetime(2026, 11, 6, 7, 0, tzinfo=UTC)


def test_a_meeting_in_a_skipped_hour_moves_forward() -> None:
    rule = parse_recurrence("night = weekly sun 02:30")
    start = datetime(2026, 3, 28, tzinfo=BERLIN)  # clocks jump 02:00 -> 03:00 on Sunday 29 March 2026
    [moment] = occurrences(rule, start, start + timedelta(days=2), BERLIN)
    assert moment.astimezone(BERLIN).time() == time(3, 30)


# --- deadlines ----------------------------------------------------------------------------


@given(aware, st.integers(1, 24 * 30))
def test_minutes_deadline_is_real_elapsed_hours(meeting_at: datetime, hours: int) -> None:
    deadline = minutes_deadline(meeting_at, hours)
    assert deadline.astimezone(UTC) - meeting_at.astimezone(UTC) == timedelta(hours=hours)
    assert not is_late(deadline, deadline)
    assert is_late(deadline + timedelta(microseconds=1), deadline)
    assert not is_late(meeting_at, deadline)


def test_minutes_deadline_across_a_dst_change_is_still_24_hours() -> None:
    meeting_at = datetime(2026, 3, 28, 15, 0, tzinfo=BERLIN)  # Saturday; the clocks go forward that night
    deadline = minutes_deadline(meeting_at, 24)
    assert deadline.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 16, 0)


def test_minutes_of_a_friday_meeting_are_due_saturday_same_time() -> None:
    meeting_at = datetime(2026, 11, 6, 15, 0, tzinfo=SHANGHAI)
    deadline = minutes_deadline(meeting_at, 24)
    assert deadline == datetime(2026, 11, 7, 15, 0, tzinfo=SHANGHAI)
    assert not is_late(datetime(2026, 11, 7, 6, 59, 59, tzinfo=UTC), deadline)  # 14:59:59 in Shanghai
    assert is_late(datetime(2026, 11, 7, 7, 0, 1, tzinfo=UTC), deadline)


@given(months, st.integers(1, 28), ZONES)
def test_report_is_due_by_the_end_of_the_due_day_of_the_next_month(month: Month, due_day: int, tz: ZoneInfo) -> None:
    deadline = report_deadline(month, due_day, tz)
    local_deadline = deadline.astimezone(tz)
    assert local_deadline.date() == month.shift(1).first_day().replace(day=due_day)
    assert local_deadline.time() == time(23, 59, 59, 999999)
    assert not is_late(deadline, deadline)
    after = (deadline + timedelta(microseconds=1)).astimezone(tz)
    assert is_late(after, deadline)
    assert after.date() == local_deadline.date() + timedelta(days=1)


def test_december_report_is_due_in_january_of_the_next_year() -> None:
    deadline = report_deadline(Month(2026, 12), 5, SHANGHAI)
    assert deadline.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(2027, 1, 5, 23, 59, 59, 999999)
    # 5 January 23:59 in Shanghai is still 5 January in UTC; 6 January 00:30 in Shanghai is late
    # although it is still 5 January (16:30) in UTC: the zone decides.
    assert not is_late(datetime(2027, 1, 5, 23, 59, tzinfo=SHANGHAI), deadline)
    assert is_late(datetime(2027, 1, 5, 16, 30, tzinfo=UTC), deadline)


def test_report_deadline_in_a_zone_depends_on_the_zone() -> None:
    shanghai = report_deadline(Month(2026, 11), 5, SHANGHAI)
    berlin = report_deadline(Month(2026, 11), 5, BERLIN)
    assert berlin - shanghai == timedelta(hours=7)


@given(days, st.integers(1, 366))
def test_default_due_is_days_after(base: date, days_after: int) -> None:
    assert (default_due(base, days_after) - base).days == days_after


# --- months -------------------------------------------------------------------------------


@given(months, st.integers(-500, 500))
def test_month_shift_round_trips(month: Month, offset: int) -> None:
    shifted = month.shift(offset)
    assert shifted.shift(-offset) == month
    assert (shifted.year * 12 + shifted.month) - (month.year * 12 + month.month) == offset
    assert 1 <= shifted.month <= 12


@given(months)
def test_month_first_and_last_days(month: Month) -> None:
    assert month.first_day().day == 1
    assert month.last_day() + timedelta(days=1) == month.shift(1).first_day()
    assert Month.of(month.last_day()) == month
    assert parse_month(str(month)) == month


@pytest.mark.parametrize(
    ("month", "last"),
    [(Month(2026, 2), 28), (Month(2028, 2), 29), (Month(2100, 2), 28), (Month(2000, 2), 29),
     (Month(2026, 4), 30), (Month(2026, 12), 31)],
)
def test_month_ends(month: Month, last: int) -> None:
    assert month.last_day().day == last


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", "2026-11-01", "0999-01"])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_month(text)


def test_report_months_start_with_the_first_deadline_after_tracking_starts() -> None:
    now = datetime(2027, 2, 10, tzinfo=SHANGHAI)
    # tracking from 3 November: October's report (due 5 November) is tracked already
    assert report_months(datetime(2026, 11, 3, tzinfo=SHANGHAI), now, 5, SHANGHAI) == [
        Month(2026, 10), Month(2026, 11), Month(2026, 12), Month(2027, 1)]
    # from 20 November: October's was due before, November's is the first
    assert report_months(datetime(2026, 11, 20, tzinfo=SHANGHAI), now, 5, SHANGHAI)[0] == Month(2026, 11)
    # the current month is not reported on before it is over
    assert report_months(datetime(2027, 2, 1, tzinfo=SHANGHAI), now, 5, SHANGHAI) == [Month(2027, 1)]


# --- reading dates and times --------------------------------------------------------------


def test_parse_moment_reads_local_time_in_the_zone() -> None:
    assert parse_moment("2026-11-06 15:00", SHANGHAI) == datetime(2026, 11, 6, 7, 0, tzinfo=UTC)
    assert parse_moment("2026-11-06T15:00", SHANGHAI) == datetime(2026, 11, 6, 7, 0, tzinfo=UTC)
    assert parse_moment("2026-11-06 09:00+01:00", SHANGHAI) == datetime(2026, 11, 6, 8, 0, tzinfo=UTC)
    assert parse_moment("2026-11-06 09:00+01:00", SHANGHAI).tzinfo is SHANGHAI


@pytest.mark.parametrize("text", ["2026-11-06", "2026-11-31 10:00", "tomorrow", "2026-11-06 25:00", "", "06/11/2026 10:00"])
def test_bad_moments_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_moment(text, SHANGHAI)


def test_a_time_skipped_by_dst_is_refused() -> None:
    with pytest.raises(ScheduleError, match="does not exist"):
        parse_moment("2026-03-29 02:30", BERLIN)
    assert not exists_locally(datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN))
    assert exists_locally(datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN))


def test_other_parsers() -> None:
    assert parse_day(" 2026-11-06 ") == date(2026, 11, 6)
    assert parse_clock("9:05") == time(9, 5)
    for bad in ("2026-02-30", "x"):
        with pytest.raises(ScheduleError):
            parse_day(bad)
    with pytest.raises(ScheduleError, match="time zone"):
        zone("Mars/Olympus")
