"""The meeting register's logic and the compliance status, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperwork.compliance import (
    LATE,
    ON_TIME,
    OVERDUE,
    PENDING,
    Filing,
    OpenAction,
    Rules,
    evaluate,
    filing_state,
)
from paperwork.register import (
    Entry,
    MeetingSlot,
    find_meeting,
    meeting_of_title,
    meeting_slots,
    minutes_title,
    month_of_title,
    report_title,
)
from schedules.paperwork import Month, ScheduleError, parse_recurrence

TZ = ZoneInfo("Asia/Shanghai")
RULES = [parse_recurrence("weekly = weekly fri 15:00"), parse_recurrence("strategy = quarterly 1 fri 10:00")]
DEADLINES = Rules(minutes_deadline_hours=24, report_due_day=5, tz=TZ)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# --- the register -------------------------------------------------------------------------


def test_slots_merge_recurring_and_one_off_meetings_less_cancellations() -> None:
    entries = [
        Entry("client-review", at("2026-11-18 10:00"), "Branch 3"),
        Entry("weekly", at("2026-11-13 15:00"), cancelled=True),
        Entry("client-review", at("2026-11-25 10:00"), cancelled=True),
    ]
    found = meeting_slots(RULES, entries, at("2026-11-01 00:00"), at("2026-12-01 00:00"), TZ)
    assert [slot.label(TZ) for slot in found] == [
        "weekly 2026-11-06 15:00", "client-review 2026-11-18 10:00", "weekly 2026-11-20 15:00",
        "weekly 2026-11-27 15:00",
    ]
    assert found[1].place == "Branch 3" and not found[1].recurring
    assert found[0].recurring


def test_a_one_off_entry_at_a_recurring_time_is_the_same_meeting() -> None:
    entries = [Entry("weekly", at("2026-11-06 15:00"), "Room 5")]
    found = meeting_slots(RULES, entries, at("2026-11-06 00:00"), at("2026-11-07 00:00"), TZ)
    assert len(found) == 1 and found[0].place == "Room 5"


def test_find_meeting_by_day_or_day_and_time() -> None:
    entries = [Entry("weekly", at("2026-11-06 09:00"))]  # an extra weekly meeting that Friday morning
    assert find_meeting(RULES, [], "weekly", "2026-11-06", TZ).at == at("2026-11-06 15:00")
    assert find_meeting(RULES, [], "strategy", "2026-10-02", TZ).at == at("2026-10-02 10:00")
    with pytest.raises(ScheduleError, match="more than once"):
        find_meeting(RULES, entries, "weekly", "2026-11-06", TZ)
    assert find_meeting(RULES, entries, "weekly", "2026-11-06 09:00", TZ).at == at("2026-11-06 09:00")


@pytest.mark.parametrize(
    ("name", "when", "message"),
    [
        ("board", "2026-11-06", "unknown meeting 'board'"),
        ("weekly", "2026-11-05", "no weekly meeting at 2026-11-05 \\(weekly meets weekly fri 15:00\\)"),
        ("weekly", "2026-11-06 16:00", "no weekly meeting at 2026-11-06 16:00"),
        ("weekly", "2026-11-31", "invalid date"),
        ("weekly", "6 Nov", "invalid"),
        ("strategy", "2026-11-06", "no strategy meeting"),
    ],
)
def test_find_meeting_errors(name: str, when: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        find_meeting(RULES, [], name, when, TZ)


def test_a_cancelled_one_off_meeting_is_unknown() -> None:
    entries = [Entry("offsite", at("2026-11-18 10:00"), cancelled=True)]
    with pytest.raises(ScheduleError, match="unknown meeting"):
        find_meeting(RULES, entries, "offsite", "2026-11-18", TZ)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(TZ)),
       st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s.isprintable() and "=" not in s))
def test_canonical_titles_round_trip(moment: datetime, name: str) -> None:
    slot = MeetingSlot(name, moment.replace(second=0, microsecond=0))
    assert meeting_of_title(minutes_title(slot)) == slot.key
    month = Month(moment.year, moment.month)
    assert month_of_title(report_title(month)) == month


@pytest.mark.parametrize("title", [None, "", "Minutes", "Minutes: weekly", "Minutes: weekly 2026-11-06 15:00",
                                   "minutes: weekly 2026-11-06 15:00 +0800", "Minutes: weekly 2026-13-06 15:00 +0800"])
def test_other_titles_name_no_meeting(title: str | None) -> None:
    assert meeting_of_title(title) is None


def test_other_titles_name_no_month() -> None:
    assert month_of_title("Monthly customer report 2026-13") is None
    assert month_of_title("report for November") is None


# --- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed_after", "now_after", "state"),
    [
        (timedelta(hours=2), timedelta(hours=30), ON_TIME),
        (timedelta(hours=24), timedelta(hours=30), ON_TIME),   # exactly at the deadline is on time
        (timedelta(hours=24, seconds=1), timedelta(hours=30), LATE),
        (None, timedelta(hours=23), PENDING),
        (None, timedelta(hours=24), PENDING),
        (None, timedelta(hours=24, seconds=1), OVERDUE),
    ],
)
def test_minutes_states(filed_after: timedelta | None, now_after: timedelta, state: str) -> None:
    slot = MeetingSlot("weekly", at("2026-11-06 15:00"), recurring=True)
    filings = {slot.key: [Filing("2026-0001-minutes", slot.at + filed_after)]} if filed_after else {}
    status = evaluate([slot], [], filings, {}, [], DEADLINES, slot.at + now_after)
    [item] = status.items
    assert item.state == state
    assert item.deadline == at("2026-11-07 15:00")
    assert item.subject == "weekly 2026-11-06 15:00"
    assert (item.record == "2026-0001-minutes") is (filed_after is not None)


def test_the_earliest_filing_decides() -> None:
    deadline = at("2026-11-07 15:00")
    late = Filing("2026-0009-minutes", deadline + timedelta(days=3))
    early = Filing("2026-0002-minutes", deadline - timedelta(hours=1))
    assert filing_state([late, early], deadline, deadline + timedelta(days=9)) == (ON_TIME, early)


def test_report_states() -> None:
    months = [Month(2026, 9), Month(2026, 10), Month(2026, 11)]
    reports = {
        Month(2026, 9): [Filing("2026-0001-report", at("2026-10-05 23:59"))],
        Month(2026, 10): [Filing("2026-0002-report", at("2026-11-06 00:01"))],
    }
    status = evaluate([], months, {}, reports, [], DEADLINES, at("2026-12-03 09:00"))
    assert [(i.subject, i.state) for i in status.items] == [
        ("2026-09", ON_TIME), ("2026-10", LATE), ("2026-11", PENDING)]
    status = evaluate([], months, {}, reports, [], DEADLINES, at("2026-12-06 00:00"))
    assert status.items[-1].state == OVERDUE


def test_action_items_count_once_past_their_due_day() -> None:
    action = OpenAction(3, "更新客户信息数据库", "张经理", date(2026, 11, 13), "2026-0001-minutes")
    assert evaluate([], [], {}, {}, [action], DEADLINES, at("2026-11-13 23:59")).items == ()
    [item] = evaluate([], [], {}, {}, [action], DEADLINES, at("2026-11-14 00:00")).items
    assert (item.kind, item.state, item.owner, item.record) == ("action", OVERDUE, "张经理", "2026-0001-minutes")
    assert item.subject == "#3 更新客户信息数据库"


def test_summary_lines() -> None:
    meeting = MeetingSlot("weekly", at("2026-11-06 15:00"))
    other = MeetingSlot("weekly", at("2026-11-13 15:00"))
    action = OpenAction(1, "x", "y", date(2026, 11, 1), "2026-0001-minutes")
    now = at("2026-11-13 16:00")
    clean = evaluate([meeting], [], {meeting.key: [Filing("r", meeting.at)]}, {}, [], DEADLINES, now)
    assert clean.summary() == "compliance: nothing overdue (0 filed late, 1 on time, 0 not yet due)"
    assert not clean.overdue
    failing = evaluate([meeting, other], [Month(2026, 9)], {}, {}, [action], DEADLINES, now)
    assert failing.summary() == (
        "compliance: 3 overdue (1 action item(s) past due, 1 minutes missing, 1 report(s) missing); "
        "0 filed late, 0 on time, 1 not yet due"
    )
    assert [item.as_dict()["state"] for item in failing.items] == [OVERDUE, PENDING, OVERDUE, OVERDUE]


def test_status_items_serialise() -> None:
    slot = MeetingSlot("weekly", at("2026-11-06 15:00"))
    [item] = evaluate([slot], [], {}, {}, [], DEADLINES, datetime(2026, 11, 9, tzinfo=UTC)).items
    assert item.as_dict() == {
        "kind": "minutes", "subject": "weekly 2026-11-06 15:00", "deadline": "2026-11-07T15:00:00+08:00",
        "state": OVERDUE, "record": None, "filed_at": None, "owner": None,
    }
