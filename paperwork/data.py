"""What goes into the minutes and the monthly report, read from a YAML or JSON file and checked.

Every problem is one :class:`UsageError` naming the file and the field (``minutes.yaml:
actions[2].owner is required``); unknown fields are refused so a typo is not silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from errors import UsageError
from schedules.paperwork import Month, ScheduleError, parse_day, parse_month

MAX_INPUT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Topic:
    title: str
    discussion: str = ""
    result: str = ""


@dataclass(frozen=True)
class Action:
    """A decision with its owner; ``due`` None means the configured default."""

    item: str
    owner: str
    due: date | None = None


@dataclass(frozen=True)
class FollowUp:
    """An earlier decision not yet carried out, and the owner's explanation."""

    item: str
    owner: str
    due: date | None = None
    explanation: str = ""


@dataclass(frozen=True)
class MinutesInput:
    meeting: str | None = None
    when: str | None = None
    place: str | None = None
    chair: str | None = None
    recorder: str | None = None
    attendees: tuple[str, ...] = ()
    topics: tuple[Topic, ...] = ()
    actions: tuple[Action, ...] = ()
    follow_up: tuple[FollowUp, ...] | None = None


@dataclass(frozen=True)
class SurveyRow:
    channel: str
    responses: int
    satisfied: int


@dataclass(frozen=True)
class Complaints:
    this_month: int
    last_month: int


@dataclass(frozen=True)
class Issue:
    issue: str
    count: int | None = None
    status: str = ""


@dataclass(frozen=True)
class ReportInput:
    month: Month | None = None
    prepared_by: str | None = None
    satisfaction: tuple[SurveyRow, ...] = ()
    complaints: Complaints | None = None
    issues: tuple[Issue, ...] = ()
    actions: tuple[Action, ...] = ()


def load_file(path: Path) -> dict[str, Any]:
    """The mapping in a ``.json`` file, or in a YAML file (any other name)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise UsageError(f"{path}: larger than {MAX_INPUT_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UsageError(f"{path}: not valid YAML: {problem}{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of fields at the top, not a {type(data).__name__}")
    return data


class _Reader:
    """Checks fields of one input file; every message starts with the file's name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> UsageError:
        return UsageError(f"{self.source}: {where} {problem}")

    def fields(self, data: object, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a mapping")
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            raise self.fail(where, f"has unknown field(s) {', '.join(unknown)} (known: {', '.join(allowed)})")
        return data

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}{key}", "must be text")
        value = (value or "").strip()
        if required and not value:
            raise self.fail(f"{where}{key}", "is required")
        return value or None

    def count(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> int | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"{where}{key}", "must be a whole number, 0 or more")
        return value

    def day(self, data: dict[str, Any], key: str, where: str) -> date | None:
        value = data.get(key)
        if value is None or isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return parse_day(str(value))
        except ScheduleError as exc:
            raise self.fail(f"{where}{key}", f"is not a date: {exc}") from None

    def items(self, data: dict[str, Any], key: str) -> list[tuple[str, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return [(f"{key}[{index}].", item) for index, item in enumerate(value, start=1)]

    def names(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [part for part in value.replace("、", ",").replace("，", ",").split(",")]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, "must be a list of names")
        return tuple(item.strip() for item in value if item.strip())

    def actions(self, data: dict[str, Any]) -> tuple[Action, ...]:
        found = []
        for where, item in self.items(data, "actions"):
            fields = self.fields(item, where.rstrip("."), ("item", "owner", "due"))
            found.append(Action(
                item=self.text(fields, "item", where, required=True) or "",
                owner=self.text(fields, "owner", where, required=True) or "",
                due=self.day(fields, "due", where),
            ))
        return tuple(found)


MINUTES_FIELDS = (
    "meeting", "date", "place", "chair", "recorder", "attendees", "topics", "actions", "follow_up",
)
REPORT_FIELDS = ("month", "prepared_by", "satisfaction", "complaints", "issues", "actions")


def _when(value: object) -> str | None:
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return None if value is None else str(value).strip() or None


def minutes_input(data: dict[str, Any], source: str) -> MinutesInput:
    read = _Reader(source)
    read.fields(data, "the file", MINUTES_FIELDS)
    topics = []
    for where, item in read.items(data, "topics"):
        if isinstance(item, str):
            item = {"title": item}
        fields = read.fields(item, where.rstrip("."), ("title", "discussion", "result"))
        topics.append(Topic(
            title=read.text(fields, "title", where, required=True) or "",
            discussion=read.text(fields, "discussion", where) or "",
            result=read.text(fields, "result", where) or "",
        ))
    follow_up: list[FollowUp] | None = None
    if data.get("follow_up") is not None:
        follow_up = []
        for where, item in read.items(data, "follow_up"):
            fields = read.fields(item, where.rstrip("."), ("item", "owner", "due", "explanation"))
            follow_up.append(FollowUp(
                item=read.text(fields, "item", where, required=True) or "",
                owner=read.text(fields, "owner", where, required=True) or "",
                due=read.day(fields, "due", where),
                explanation=read.text(fields, "explanation", where) or "",
            ))
    return MinutesInput(
        meeting=read.text(data, "meeting", ""),
        when=_when(data.get("date")),
        place=read.text(data, "place", ""),
        chair=read.text(data, "chair", ""),
        recorder=read.text(data, "recorder", ""),
        attendees=read.names(data, "attendees"),
        topics=tuple(topics),
        actions=read.actions(data),
        follow_up=None if follow_up is None else tuple(follow_up),
    )


def report_input(data: dict[str, Any], source: str) -> ReportInput:
    read = _Reader(source)
    read.fields(data, "the file", REPORT_FIELDS)
    month = None
    if data.get("month") is not None:
        try:
            month = parse_month(str(data["month"]))
        except ScheduleError as exc:
            raise read.fail("month", f"is not a month: {exc}") from None
    rows = []
    for where, item in read.items(data, "satisfaction"):
        fields = read.fields(item, where.rstrip("."), ("channel", "responses", "satisfied"))
        row = SurveyRow(
            channel=read.text(fields, "channel", where, required=True) or "",
            responses=read.count(fields, "responses", where) or 0,
            satisfied=read.count(fields, "satisfied", where) or 0,
        )
        if row.satisfied > row.responses:
            raise read.fail(f"{where}satisfied", f"({row.satisfied}) is more than responses ({row.responses})")
        rows.append(row)
    complaints = None
    if data.get("complaints") is not None:
        fields = read.fields(data["complaints"], "complaints", ("this_month", "last_month"))
        complaints = Complaints(
            this_month=read.count(fields, "this_month", "complaints.") or 0,
            last_month=read.count(fields, "last_month", "complaints.") or 0,
        )
    issues = []
    for where, item in read.items(data, "issues"):
        fields = read.fields(item, where.rstrip("."), ("issue", "count", "status"))
        issues.append(Issue(
            issue=read.text(fields, "issue", where, required=True) or "",
            count=read.count(fields, "count", where, required=False),
            status=read.text(fields, "status", where) or "",
        ))
    return ReportInput(
        month=month,
        prepared_by=read.text(data, "prepared_by", ""),
        satisfaction=tuple(rows),
        complaints=complaints,
        issues=tuple(issues),
        actions=read.actions(data),
    )
