"""Retention arithmetic as pure functions: periods, schedules, retention dates, lock moments, rules.

No storage and no clock: every test here is a plain function call (plus a few settings files
written to a temporary directory), so the whole file runs in seconds.
"""

from __future__ import annotations

import calendar
import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.settings import CONFIG_FILE, DEFAULT_SCHEDULES, DEFAULT_TYPES, load_settings
from errors import ConfigError
from retention.rules import (
    DisposalFacts,
    disposal_refusal,
    due_for_archive_tier,
    expiring_soon,
)
from schedules.retention import (
    FILING,
    MAX_YEARS,
    Period,
    RetentionDate,
    Schedule,
    ScheduleError,
    add_period,
    check_trigger,
    day_after_starts,
    local_day,
    parse_period,
    parse_schedule,
    parse_schedules,
    retention_date,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")  # its daylight-saving change skips local midnight
ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK, SANTIAGO, ZoneInfo("Pacific/Kiritimati"), UTC])

CONTRACT = parse_schedule("contract = 10 years from end")
MINUTES = parse_schedule("minutes = 5 years from filing")
REPORT = parse_schedule("report = 3 years from filing")

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
# Periods a schedule may hold (at most ~175 years here, well inside MAX_YEARS), with 5-digit day counts.
periods = st.builds(
    Period,
    years=st.integers(0, 100),
    months=st.integers(0, 240),
    days=st.integers(0, 20000),
)
calendar_periods = st.builds(Period, years=st.integers(0, 150), months=st.integers(0, 600))
record_types = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z", fullmatch=True)
triggers = st.from_regex(r"\A[a-z][a-z-]{0,15}\Z", fullmatch=True)


# --- add_period: examples -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        # leap years
        (date(2024, 2, 29), Period(years=1), date(2025, 2, 28)),
        (date(2024, 2, 29), Period(years=4), date(2028, 2, 29)),
        (date(2024, 2, 29), Period(years=100), date(2124, 2, 29)),
        (date(2096, 2, 29), Period(years=4), date(2100, 2, 28)),  # 2100 is not a leap year
        (date(1996, 2, 29), Period(years=4), date(2000, 2, 29)),  # 2000 is
        (date(2023, 2, 28), Period(years=1), date(2024, 2, 28)),
        # end of month
        (date(2026, 1, 31), Period(months=1), date(2026, 2, 28)),
        (date(2024, 1, 31), Period(months=1), date(2024, 2, 29)),
        (date(2026, 3, 31), Period(months=1), date(2026, 4, 30)),
        (date(2026, 12, 31), Period(months=2), date(2027, 2, 28)),
        (date(2026, 2, 28), Period(months=1), date(2026, 3, 28)),  # not "end of month" stickiness
        (date(2026, 11, 15), Period(months=2), date(2027, 1, 15)),  # across the year end
        (date(2026, 12, 1), Period(months=1), date(2027, 1, 1)),
        # years and months together
        (date(2026, 11, 30), Period(years=1, months=3), date(2028, 2, 29)),
        (date(2026, 8, 31), Period(years=1, months=6), date(2028, 2, 29)),
        (date(2026, 5, 15), Period(years=1, months=6), date(2027, 11, 15)),
        (date(2026, 1, 1), Period(months=18), date(2027, 7, 1)),
        # days are added after the calendar months
        (date(2026, 1, 30), Period(months=1, days=1), date(2026, 3, 1)),  # 28 Feb + 1, not 31 Jan + 1 month
        (date(2024, 2, 29), Period(years=1, days=1), date(2025, 3, 1)),
        (date(2026, 5, 15), Period(days=90), date(2026, 8, 13)),
        (date(2026, 12, 31), Period(days=1), date(2027, 1, 1)),
        (date(2026, 5, 15), Period(), date(2026, 5, 15)),
    ],
)
def test_add_period_examples(start: date, period: Period, expected: date) -> None:
    assert add_period(start, period) == expected


@pytest.mark.parametrize(
    ("start", "period"),
    [
        (date(9999, 12, 31), Period(days=1)),
        (date(9999, 12, 1), Period(months=1)),
        (date(9990, 1, 1), Period(years=10)),
        (date(9999, 12, 31), Period(years=9999, months=9999, days=9999)),
        (date(2026, 1, 1), Period(years=8000)),
        (date(2026, 1, 1), Period(days=3_000_000)),
        (date(2026, 1, 1), Period(days=10**10)),  # beyond what a timedelta holds
        (date(2026, 1, 1), Period(months=10**12)),
    ],
)
def test_add_period_beyond_year_9999_is_a_schedule_error(start: date, period: Period) -> None:
    with pytest.raises(ScheduleError, match="beyond the year 9999"):
        add_period(start, period)


@pytest.mark.parametrize("period", [Period(years=-1), Period(months=-1), Period(days=-1), Period(1, 0, -400)])
def test_add_period_refuses_a_negative_period(period: Period) -> None:
    for start in (date(1, 1, 1), date(2026, 5, 15)):
        with pytest.raises(ScheduleError, match="negative"):
            add_period(start, period)


def test_add_period_up_to_the_last_day_works() -> None:
    assert add_period(date(9989, 12, 31), Period(years=10)) == date(9999, 12, 31)
    assert add_period(date(9999, 12, 30), Period(days=1)) == date(9999, 12, 31)
    assert add_period(date(9999, 11, 30), Period(months=1, days=1)) == date(9999, 12, 31)


# --- add_period: properties ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(days, periods)
def test_add_period_never_goes_backwards(start: date, period: Period) -> None:
    result = add_period(start, period)
    assert result >= start
    if period != Period():
        assert result > start


@settings(max_examples=300, deadline=None)
@given(days, days, periods)
def test_add_period_is_monotonic_in_start(a: date, b: date, period: Period) -> None:
    a, b = min(a, b), max(a, b)
    assert add_period(a, period) <= add_period(b, period)


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 200), st.integers(0, 30), st.integers(0, 400))
def test_years_are_twelve_months(start: date, years: int, months: int, extra_days: int) -> None:
    assert add_period(start, Period(years=years, months=months, days=extra_days)) == add_period(
        start, Period(months=12 * years + months, days=extra_days)
    )


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 73048))
def test_days_only_is_plain_date_arithmetic(start: date, count: int) -> None:
    assert add_period(start, Period(days=count)) == start + timedelta(days=count)


@settings(max_examples=200, deadline=None)
@given(days, periods)
def test_days_are_added_after_the_months(start: date, period: Period) -> None:
    months_only = Period(years=period.years, months=period.months)
    assert add_period(start, period) == add_period(start, months_only) + timedelta(days=period.days)


@settings(max_examples=300, deadline=None)
@given(days, calendar_periods)
def test_calendar_months_keep_the_day_of_month_or_clamp_to_the_month_end(start: date, period: Period) -> None:
    result = add_period(start, period)
    year, month = divmod(start.year * 12 + start.month - 1 + 12 * period.years + period.months, 12)
    assert (result.year, result.month) == (year, month + 1)
    last = calendar.monthrange(year, month + 1)[1]
    if start.day <= last:
        assert result.day == start.day
    else:
        assert result.day == last


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(9000, 1, 1)),
    st.builds(
        Period,
        years=st.integers(0, 9999),
        months=st.integers(0, 10**6),
        days=st.one_of(st.integers(0, 10**6), st.integers(0, 10**13)),
    ),
)
def test_add_period_near_the_end_of_the_calendar_gives_a_date_or_a_schedule_error(start: date, period: Period) -> None:
    try:
        result = add_period(start, period)
    except ScheduleError as exc:
        assert "beyond the year 9999" in str(exc)
    else:
        assert start <= result <= date.max


# --- parse_period -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 years", Period(years=10)),
        ("1 year", Period(years=1)),
        ("1 year 6 months", Period(years=1, months=6)),
        ("90 days", Period(days=90)),
        ("1 day", Period(days=1)),
        ("2 years 3 months 4 days", Period(2, 3, 4)),
        ("6 months 1 year", Period(years=1, months=6)),  # any order
        ("  10   years  ", Period(years=10)),
        ("10 YEARS", Period(years=10)),
        ("1 Year 6 Months", Period(years=1, months=6)),
        ("90 DaYs", Period(days=90)),
        ("0 days", Period()),
        ("10000 days", Period(days=10000)),  # 27 years, written in days
        ("36500 days", Period(days=36500)),
        ("200 years", Period(years=MAX_YEARS)),
        ("2400 months", Period(months=2400)),
        ("199 years 12 months", Period(years=199, months=12)),
        ("73048 days", Period(days=73048)),  # never more than 200 calendar years
        ("0010 years", Period(years=10)),
    ],
)
def test_parse_period_examples(text: str, expected: Period) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("years", "is not like"),
        ("10", "is not like"),
        ("ten years", "is not like"),
        ("10 years,", "is not like"),
        ("10 years, 6 months", "is not like"),
        ("10 years and 6 months", "is not like"),
        ("-1 years", "is not like"),
        ("1.5 years", "is not like"),
        ("+1 year", "is not like"),
        ("10 years from end", "is not like"),
        ("12345 years", "longer than 200 years"),
        ("10 weeks", "unknown unit 'weeks'"),
        ("10 yrs", "unknown unit 'yrs'"),
        ("1 year 6 fortnights", "unknown unit 'fortnights'"),
        ("10 years 5 years", "years given twice"),
        ("1 year 12 months 1 year", "years given twice"),
        ("1 month 2 months", "months given twice"),
        ("1 day 1 days", "days given twice"),
        ("201 years", "longer than 200 years"),
        ("9999 years", "longer than 200 years"),
        ("2401 months", "longer than 200 years"),
        ("200 years 1 day", "longer than 200 years"),
        ("200 years 1 month", "longer than 200 years"),
        ("199 years 13 months", "longer than 200 years"),
        ("73050 days", "longer than 200 years"),  # more than any 200 calendar years
        ("100000 days", "longer than 200 years"),
        ("200 years 11 months 365 days", "longer than 200 years"),
        ("99999999999 days", "longer than 200 years"),
        ("1" * 5000 + " days", "longer than 200 years"),  # no int() digit-limit ValueError
    ],
)
def test_parse_period_rejects(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message) as caught:
        parse_period(text)
    assert "\n" not in str(caught.value)


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


@settings(max_examples=300, deadline=None)
@given(periods)
def test_period_text_round_trips(period: Period) -> None:
    assert parse_period(str(period)) == period
    assert parse_period(str(period).upper()) == period


def test_period_text() -> None:
    assert str(Period(years=1, months=6)) == "1 year 6 months"
    assert str(Period(years=10)) == "10 years"
    assert str(Period(days=1)) == "1 day"
    assert str(Period()) == "0 days"


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_period_of_any_text_is_a_period_or_a_schedule_error(text: str) -> None:
    try:
        period = parse_period(text)
    except ScheduleError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(period, Period)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789 yearsmonthdayYD\t,-", max_size=40))
def test_parse_period_of_near_miss_text_is_a_period_or_a_schedule_error(text: str) -> None:
    try:
        period = parse_period(text)
    except ScheduleError:
        return
    assert parse_period(str(period)) == period
    assert add_period(date(2026, 1, 1), period) >= date(2026, 1, 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 40000), st.integers(0, 2_000_000))
def test_parsed_periods_are_never_longer_than_the_maximum(years: int, months: int, count: int) -> None:
    """Whatever is accepted fits in MAX_YEARS calendar years counted from a day in the middle of the calendar."""
    text = f"{years} years {months} months {count} days"
    try:
        period = parse_period(text)
    except ScheduleError as exc:
        assert "longer than 200 years" in str(exc)
        assert years * 12 + months > MAX_YEARS * 12 or count > 0
        return
    start = date(2000, 3, 1)
    assert add_period(start, period) <= add_period(start, Period(years=MAX_YEARS)) + timedelta(days=31)
    assert years * 12 + months <= MAX_YEARS * 12


# --- parse_schedule / parse_schedules -----------------------------------------------------


def test_parse_schedule_examples() -> None:
    assert CONTRACT == Schedule("contract", Period(years=10), "end")
    assert not CONTRACT.from_filing
    assert MINUTES == Schedule("minutes", Period(years=5), FILING)
    assert MINUTES.from_filing
    assert parse_schedule("memo = 1 year 6 months from filing") == Schedule("memo", Period(1, 6), "filing")
    assert parse_schedule("  board-report=90 days   from   filing ") == Schedule("board-report", Period(days=90), FILING)
    assert parse_schedule("lease = 6 years from move-out").trigger == "move-out"


def test_parse_schedule_is_case_insensitive() -> None:
    assert parse_schedule("Contract = 10 Years FROM End") == CONTRACT
    assert parse_schedule("MINUTES = 5 YEARS FROM FILING") == MINUTES
    assert parse_schedule("MINUTES = 5 YEARS FROM FILING").from_filing


def test_schedule_describe() -> None:
    assert MINUTES.describe() == "5 years from the filing date"
    assert CONTRACT.describe() == "10 years from the end date (given with --retain-from)"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "contract",
        "contract 10 years from end",
        "contract = 10 years",
        "contract = 10 years end",
        "= 10 years from end",
        "contract = from end",
        "contract = 10 years from",
        "contract = 10 years from 2026-01-01",
        "contract = 10 years from end date",
        "1contract = 10 years from end",
        "con tract = 10 years from end",
        "contract = ten years from end",
        "contract = 10 weeks from end",
        "contract = 10 years 2 years from end",
        "contract = 201 years from end",
        "contract = 10 years from end\nminutes = 5 years from filing",
        "contract = = 10 years from end",
    ],
)
def test_parse_schedule_rejects(spec: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(spec)
    assert "\n" not in str(caught.value)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_schedule_of_any_text_is_a_schedule_or_a_schedule_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(schedule, Schedule)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdefilmnorstyFROM0123456789 =-\t", max_size=50))
def test_parse_schedule_of_near_miss_text_is_a_schedule_or_a_schedule_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError as exc:
        assert "\n" not in str(exc)
    else:
        assert schedule.record_type in text.lower() and schedule.trigger in text.lower()


@settings(max_examples=200, deadline=None)
@given(record_types, periods, triggers)
def test_schedule_text_round_trips(record_type: str, period: Period, trigger: str) -> None:
    schedule = Schedule(record_type, period, trigger)
    assert parse_schedule(f"{record_type} = {period} from {trigger}") == schedule
    assert parse_schedule(f"{record_type.upper()}={str(period).upper()} FROM {trigger.upper()}") == schedule


def test_parse_schedules() -> None:
    schedules = parse_schedules(DEFAULT_SCHEDULES)
    assert sorted(schedules) == sorted(DEFAULT_TYPES)
    assert schedules["contract"] == CONTRACT
    assert schedules["report"] == REPORT
    assert parse_schedules([]) == {}


@pytest.mark.parametrize(
    "specs",
    [
        ["contract = 10 years from end", "contract = 5 years from filing"],
        ["contract = 10 years from end", "CONTRACT = 10 years from end"],
        ["minutes = 5 years from filing", "report = 3 years from filing", "minutes = 5 years from filing"],
    ],
)
def test_parse_schedules_rejects_a_type_given_twice(specs: list[str]) -> None:
    with pytest.raises(ScheduleError, match="two retention schedules"):
        parse_schedules(specs)


def test_parse_schedules_reports_the_bad_line() -> None:
    with pytest.raises(ScheduleError, match="'five years'"):
        parse_schedules(["contract = 10 years from end", "minutes = five years from filing"])


# --- retention_date / check_trigger -------------------------------------------------------


def test_retention_from_filing() -> None:
    retention = retention_date(MINUTES, date(2024, 2, 29), None)
    assert retention.until == date(2029, 2, 28)
    assert retention.at_least == date(2029, 2, 28)
    assert retention.lock_through == date(2029, 2, 28)
    assert retention.schedule == MINUTES
    assert "2024-02-29" in retention.basis and "5 years" in retention.basis


def test_retention_from_a_trigger_date() -> None:
    retention = retention_date(CONTRACT, date(2026, 3, 1), date(2027, 12, 31))
    assert retention.until == date(2037, 12, 31)
    assert retention.lock_through == date(2037, 12, 31)
    assert "end 2027-12-31" in retention.basis


def test_retention_from_a_trigger_date_before_filing() -> None:
    """A contract that ended before it was filed: its retention still counts from its end."""
    retention = retention_date(CONTRACT, date(2026, 3, 1), date(2020, 6, 30))
    assert retention.until == date(2030, 6, 30)
    assert retention.lock_through == date(2030, 6, 30)


def test_retention_with_the_trigger_date_missing() -> None:
    retention = retention_date(CONTRACT, date(2026, 3, 1), None)
    assert retention.until is None
    assert retention.at_least == date(2036, 3, 1)
    assert retention.lock_through == retention.at_least
    assert "end date not given yet" in retention.basis
    assert not retention.due(date(2026, 3, 1))
    assert not retention.due(date(9999, 12, 31))


def test_due_only_strictly_after_the_retention_date() -> None:
    retention = retention_date(REPORT, date(2020, 1, 15), None)
    assert retention.until == date(2023, 1, 15)
    assert not retention.due(date(2020, 1, 15))
    assert not retention.due(date(2023, 1, 14))
    assert not retention.due(date(2023, 1, 15))  # kept *through* the retention date
    assert retention.due(date(2023, 1, 16))
    assert retention.due(date(2050, 1, 1))


@settings(max_examples=200, deadline=None)
@given(days, st.one_of(st.none(), days), periods, st.booleans())
def test_retention_date_properties(filed: date, retain_from: date | None, period: Period, by_filing: bool) -> None:
    schedule = Schedule("t", period, FILING if by_filing else "end")
    retention = retention_date(schedule, filed, retain_from)
    assert isinstance(retention, RetentionDate)
    if by_filing:
        assert retention.until == retention.at_least == add_period(filed, period)
    elif retain_from is None:
        assert retention.until is None
        assert retention.at_least == add_period(filed, period)
    else:
        assert retention.until == retention.at_least == add_period(retain_from, period)
    assert retention.lock_through == (retention.until or retention.at_least)
    if retention.until is not None:
        assert not retention.due(retention.until)
        assert retention.due(retention.until + timedelta(days=1))


def test_check_trigger() -> None:
    check_trigger(MINUTES, None)
    check_trigger(CONTRACT, None)
    check_trigger(CONTRACT, date(2027, 12, 31))
    with pytest.raises(ScheduleError, match="a retention start date does not apply") as caught:
        check_trigger(MINUTES, date(2027, 12, 31))
    assert "minutes records are kept 5 years from the filing date" in str(caught.value)


def test_check_trigger_refuses_a_date_whose_retention_leaves_the_calendar() -> None:
    check_trigger(CONTRACT, date(9989, 12, 30))  # retained through 9999-12-30, locked until 9999-12-31
    for retain_from in (date(9989, 12, 31), date(9995, 1, 1), date.max):
        with pytest.raises(ScheduleError, match="beyond the year 9999"):
            check_trigger(CONTRACT, retain_from)


def test_retention_date_beyond_9999_is_a_schedule_error() -> None:
    with pytest.raises(ScheduleError):
        retention_date(CONTRACT, date(2026, 1, 1), date(9995, 1, 1))
    with pytest.raises(ScheduleError):
        retention_date(MINUTES, date(9995, 1, 1), None)


# --- day_after_starts / local_day ---------------------------------------------------------


def test_lock_moment_in_shanghai() -> None:
    moment = day_after_starts(date(2026, 11, 28), SHANGHAI)
    assert moment == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
    assert moment.astimezone(SHANGHAI) == datetime(2026, 11, 29, 0, 0, tzinfo=SHANGHAI)


def test_lock_moment_in_utc_and_across_daylight_saving() -> None:
    assert day_after_starts(date(2026, 12, 31), UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    # Berlin: 29 March 2026 is the day clocks go forward (CET +1 before, CEST +2 after 02:00)
    assert day_after_starts(date(2026, 3, 28), BERLIN) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day_after_starts(date(2026, 3, 29), BERLIN) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_lock_moment_at_the_end_of_the_calendar() -> None:
    assert day_after_starts(date(9999, 12, 30), SHANGHAI) == datetime(9999, 12, 30, 16, 0, tzinfo=UTC)
    assert day_after_starts(date(9999, 12, 30), NEW_YORK) == datetime(9999, 12, 31, 5, 0, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="beyond the year 9999"):
        day_after_starts(date.max, SHANGHAI)


def test_local_day_in_shanghai() -> None:
    assert local_day(datetime(2026, 11, 28, 17, 0, tzinfo=UTC), SHANGHAI) == date(2026, 11, 29)
    assert local_day(datetime(2026, 11, 28, 15, 59, 59, tzinfo=UTC), SHANGHAI) == date(2026, 11, 28)
    assert local_day(datetime(2026, 11, 28, 16, 0, tzinfo=UTC), SHANGHAI) == date(2026, 11, 29)
    assert local_day(datetime(2026, 11, 29, 1, 0, tzinfo=SHANGHAI), UTC) == date(2026, 11, 28)


def test_local_day_treats_a_naive_moment_as_utc() -> None:
    assert local_day(datetime(2026, 11, 28, 17, 0), SHANGHAI) == date(2026, 11, 29)
    assert local_day(datetime(2026, 11, 28, 15, 0), SHANGHAI) == date(2026, 11, 28)
    assert local_day(datetime(2026, 11, 28, 3, 0), NEW_YORK) == date(2026, 11, 27)


@settings(max_examples=300, deadline=None)
@given(days, ZONES)
def test_lock_moment_covers_exactly_the_whole_day(day: date, zone: ZoneInfo) -> None:
    moment = day_after_starts(day, zone)
    assert moment.utcoffset() == timedelta(0)
    assert local_day(moment, zone) == day + timedelta(days=1)
    assert local_day(moment - timedelta(microseconds=1), zone) == day
    # and the lock never starts before the day after has begun anywhere in the zone's day
    assert moment >= datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2150, 1, 1)), ZONES)
def test_local_day_naive_equals_utc(moment: datetime, zone: ZoneInfo) -> None:
    assert local_day(moment, zone) == local_day(moment.replace(tzinfo=UTC), zone)
    assert day_after_starts(local_day(moment, zone), zone) > moment.replace(tzinfo=UTC)


# --- rules: disposal_refusal ----------------------------------------------------------------

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
TODAY = date(2030, 6, 1)
NAME = "2020-0007-report"
PAST = retention_date(REPORT, date(2020, 1, 15), None)  # until 2023-01-15


def facts(state: str = "active", retention: RetentionDate = PAST, held: bool = False,
          locked_until: datetime | None = None) -> DisposalFacts:
    return DisposalFacts(NAME, state, retention, held, locked_until)


def test_disposal_allowed() -> None:
    assert disposal_refusal(facts(), TODAY, NOW) is None
    assert disposal_refusal(facts(locked_until=NOW - timedelta(days=1)), TODAY, NOW) is None
    assert disposal_refusal(facts(locked_until=NOW), TODAY, NOW) is None  # the lock has just ended


@pytest.mark.parametrize(
    ("record", "today", "message"),
    [
        (facts(state="disposed"), TODAY, "is disposed"),
        (facts(state="pending-disposal"), TODAY, "is pending-disposal"),
        (facts(held=True), TODAY, "is on legal hold"),
        (facts(retention=retention_date(CONTRACT, date(2020, 1, 1), None)), TODAY, "has no retention date yet"),
        (facts(), date(2023, 1, 15), "must be kept until 2023-01-15"),
        (facts(), date(2021, 1, 1), "must be kept until 2023-01-15"),
        (facts(locked_until=NOW + timedelta(microseconds=1)), TODAY, "is write-once in storage until"),
        (facts(locked_until=datetime(2031, 1, 1, tzinfo=UTC)), TODAY, "write-once in storage until 2031-01-01"),
    ],
)
def test_disposal_refused(record: DisposalFacts, today: date, message: str) -> None:
    refusal = disposal_refusal(record, today, NOW)
    assert refusal is not None
    assert refusal.startswith(NAME)
    assert message in refusal
    assert "\n" not in refusal


def test_disposal_refusal_names_the_first_blocker() -> None:
    everything = facts(state="disposed", held=True, locked_until=NOW + timedelta(days=1))
    assert disposal_refusal(everything, date(2021, 1, 1), NOW) == f"{NAME} is disposed"
    assert disposal_refusal(facts(held=True), date(2021, 1, 1), NOW) == f"{NAME} is on legal hold"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["active", "disposed", "pending", "Active"]),
    st.booleans(),
    st.booleans(),
    st.integers(-3, 3),
    st.one_of(st.none(), st.integers(-3, 3)),
)
def test_disposal_refusal_is_none_exactly_when_nothing_blocks(
    state: str, held: bool, known: bool, day_offset: int, lock_offset: int | None
) -> None:
    retention = retention_date(CONTRACT, date(2020, 1, 1), date(2020, 6, 30) if known else None)
    until = date(2030, 6, 30)
    today = until + timedelta(days=day_offset)
    locked_until = None if lock_offset is None else NOW + timedelta(seconds=lock_offset)
    refusal = disposal_refusal(DisposalFacts(NAME, state, retention, held, locked_until), today, NOW)
    allowed = (
        state == "active"
        and not held
        and known
        and today > until
        and (locked_until is None or locked_until <= NOW)
    )
    assert (refusal is None) == allowed
    if refusal is not None:
        assert NAME in refusal


# --- rules: due_for_archive_tier ------------------------------------------------------------


def test_archive_tier_boundary() -> None:
    archived = NOW - timedelta(days=30)
    assert due_for_archive_tier(archived, "STANDARD", "STANDARD_IA", 30, NOW)
    assert due_for_archive_tier(archived, None, "STANDARD_IA", 30, NOW)
    assert not due_for_archive_tier(archived + timedelta(microseconds=1), "STANDARD", "STANDARD_IA", 30, NOW)
    assert not due_for_archive_tier(archived, "STANDARD", "STANDARD_IA", 31, NOW)
    assert due_for_archive_tier(archived, "STANDARD", "STANDARD_IA", 29, NOW)


def test_archive_tier_never_when_off_already_there_or_not_archived() -> None:
    ancient = datetime(1990, 1, 1, tzinfo=UTC)
    assert not due_for_archive_tier(ancient, "STANDARD", "STANDARD_IA", 0, NOW)
    assert not due_for_archive_tier(ancient, "STANDARD", "STANDARD_IA", -5, NOW)
    assert not due_for_archive_tier(ancient, "STANDARD_IA", "STANDARD_IA", 30, NOW)
    assert not due_for_archive_tier(None, "STANDARD", "STANDARD_IA", 30, NOW)
    assert not due_for_archive_tier(NOW + timedelta(days=1), "STANDARD", "STANDARD_IA", 1, NOW)


@settings(max_examples=200, deadline=None)
@given(st.integers(-2, 400), st.integers(-86_400 * 400, 86_400 * 400), st.sampled_from([None, "STANDARD", "GLACIER"]))
def test_archive_tier_property(after_days: int, age_seconds: int, storage_class: str | None) -> None:
    archived = NOW - timedelta(seconds=age_seconds)
    expected = after_days > 0 and storage_class != "GLACIER" and age_seconds >= after_days * 86_400
    assert due_for_archive_tier(archived, storage_class, "GLACIER", after_days, NOW) == expected


# --- rules: expiring_soon -------------------------------------------------------------------


def test_expiring_soon_boundaries() -> None:
    until = PAST.until
    assert until == date(2023, 1, 15)
    assert expiring_soon(PAST, until, 0)  # last day of retention: not ended yet
    assert expiring_soon(PAST, until, 90)
    assert not expiring_soon(PAST, until + timedelta(days=1), 90)  # already ended
    assert expiring_soon(PAST, until - timedelta(days=90), 90)
    assert not expiring_soon(PAST, until - timedelta(days=91), 90)
    assert not expiring_soon(PAST, until - timedelta(days=1), 0)
    assert not expiring_soon(retention_date(CONTRACT, date(2020, 1, 1), None), date(2030, 1, 1), 3660)


@settings(max_examples=200, deadline=None)
@given(st.integers(-400, 400), st.integers(0, 366))
def test_expiring_soon_property(offset: int, notice: int) -> None:
    today = PAST.until - timedelta(days=offset)
    assert expiring_soon(PAST, today, notice) == (0 <= offset <= notice)


# --- settings: retention.schedules ----------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No STRONGROOM_* variable of the calling shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("STRONGROOM_"):
            monkeypatch.delenv(name)
    return monkeypatch


def write_home(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / CONFIG_FILE).write_text(text, encoding="utf-8")
    return home


def toml_list(items: list[str]) -> str:
    return json.dumps(items)  # a JSON array of strings is a TOML array of basic strings


def test_default_retention_settings_load(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    settings_ = load_settings(write_home(tmp_path, ""))
    assert settings_.retention.schedules == DEFAULT_SCHEDULES
    assert settings_.retention.object_lock is True
    assert settings_.retention.archive_after_days == 0
    assert settings_.retention.archive_storage_class == "STANDARD_IA"
    assert settings_.retention.notice_days == 90
    schedules = parse_schedules(settings_.retention.schedules)
    assert sorted(schedules) == sorted(settings_.records.types)


def test_custom_retention_settings_load(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    specs = ["contract = 10 years from end", "memo = 1 year 6 months from filing", "Board-Report = 90 days from filing"]
    text = (
        f"[records]\ntypes = {toml_list(['contract', 'memo', 'board-report'])}\n\n"
        f"[retention]\nschedules = {toml_list(specs)}\narchive_after_days = 30\narchive_storage_class = \"GLACIER_IR\"\n"
    )
    settings_ = load_settings(write_home(tmp_path, text))
    assert settings_.retention.schedules == specs
    assert settings_.retention.archive_after_days == 30


@pytest.mark.parametrize(
    ("types", "schedules", "message"),
    [
        (None, [*DEFAULT_SCHEDULES[:-1], "other = five years from filing"], "retention.schedules: retention period"),
        (None, [*DEFAULT_SCHEDULES[:-1], "other 5 years from filing"], "retention.schedules: retention schedule"),
        (None, [*DEFAULT_SCHEDULES[:-1], "other = 5 weeks from filing"], "unknown unit 'weeks'"),
        (None, [*DEFAULT_SCHEDULES[:-1], "other = 500 years from filing"], "longer than 200 years"),
        (None, [*DEFAULT_SCHEDULES[:-1], "other = 5 years\nfrom\nfiling\nagain"], "retention.schedules: retention schedule"),
        (None, DEFAULT_SCHEDULES[:-1], "no schedule for record type(s) other"),
        (None, [*DEFAULT_SCHEDULES, "other = 1 year from filing"], "'other' has two retention schedules"),
        ([*DEFAULT_TYPES, "board-report"], DEFAULT_SCHEDULES, "no schedule for record type(s) board-report"),
        (None, [], "no schedule for record type(s) contract, minutes, report, letter, other"),
    ],
)
def test_bad_retention_schedules_are_one_line_config_errors(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, types: list[str] | None, schedules: list[str], message: str
) -> None:
    text = f"[records]\ntypes = {toml_list(types)}\n\n" if types is not None else ""
    text += f"[retention]\nschedules = {toml_list(schedules)}\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(write_home(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_schedule_may_outlive_its_type(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    """A type no longer filed (gone from records.types) keeps its schedule: its records are still kept."""
    text = f"[records]\ntypes = {toml_list(['contract'])}\n\n"
    text += f"[retention]\nschedules = {toml_list(['contract = 10 years from end', 'memo = 1 year from filing'])}\n"
    assert load_settings(write_home(tmp_path, text)).retention.schedules[1] == "memo = 1 year from filing"


@pytest.mark.parametrize("storage_class", ["glacier", "", "STANDARD IA", "1STANDARD", "S" * 33, "GLACIER\n"])
def test_bad_archive_storage_class_is_a_config_error(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, storage_class: str
) -> None:
    text = f"[retention]\narchive_storage_class = {json.dumps(storage_class)}\n"
    with pytest.raises(ConfigError, match="archive_storage_class") as caught:
        load_settings(write_home(tmp_path, text))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["archive_after_days = -1", "archive_after_days = 36501", "notice_days = 3661"])
def test_retention_numbers_out_of_range(tmp_path: Path, clean_env: pytest.MonkeyPatch, text: str) -> None:
    with pytest.raises(ConfigError, match="retention.archive_after_days"):
        load_settings(write_home(tmp_path, f"[retention]\n{text}\n"))


def test_retention_schedules_from_the_environment(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    write_home(tmp_path, "[records]\ntypes = [\"contract\", \"memo\"]\n")
    clean_env.setenv("STRONGROOM_RETENTION_SCHEDULES", "contract = 7 years from end, memo = 2 years from filing")
    settings_ = load_settings(tmp_path)
    assert parse_schedules(settings_.retention.schedules)["contract"].period == Period(years=7)
    clean_env.setenv("STRONGROOM_RETENTION_SCHEDULES", "contract = 7 years from end")
    with pytest.raises(ConfigError, match="no schedule for record type\\(s\\) memo"):
        load_settings(tmp_path)
