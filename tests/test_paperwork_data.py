"""Reading the content of minutes and reports from YAML or JSON: every mistake is one clear line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from errors import UsageError
from paperwork.data import (
    Action,
    Complaints,
    FollowUp,
    Issue,
    SurveyRow,
    Topic,
    load_file,
    minutes_input,
    report_input,
)
from schedules.paperwork import Month

MINUTES_YAML = """\
meeting: weekly
date: 2026-11-06
place: 三樓會議室
attendees: 王總監、張經理, 李專員
topics:
  - 季度戰略會準備
  - title: 決議落實
    discussion: 決議需在24小時內分配責任人
    result: 同意
actions:
  - {item: 建立客戶信息數據庫, owner: 張經理, due: 2026-11-20}
  - {item: 整理會議紀要, owner: 李專員}
follow_up:
  - {item: 更新客戶信息, owner: 張經理, due: 2026-10-30, explanation: 數據源未到位}
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_minutes_from_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", MINUTES_YAML)
    data = minutes_input(load_file(path), str(path))
    assert (data.meeting, data.when, data.place) == ("weekly", "2026-11-06", "三樓會議室")
    assert data.attendees == ("王總監", "張經理", "李專員")
    assert data.topics == (Topic("季度戰略會準備"), Topic("決議落實", "決議需在24小時內分配責任人", "同意"))
    assert data.actions == (Action("建立客戶信息數據庫", "張經理", date(2026, 11, 20)), Action("整理會議紀要", "李專員"))
    assert data.follow_up == (FollowUp("更新客戶信息", "張經理", date(2026, 10, 30), "數據源未到位"),)


def test_minutes_date_with_time_and_no_follow_up(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", json.dumps({"meeting": "weekly", "date": "2026-11-06 15:00"}))
    data = minutes_input(load_file(path), str(path))
    assert data.when == "2026-11-06 15:00"
    assert data.follow_up is None  # not given: the register's open items are used
    path = write(tmp_path, "m2.yaml", "date: 2026-11-06 15:00:00\nfollow_up: []\n")
    data = minutes_input(load_file(path), str(path))
    assert data.when == "2026-11-06 15:00:00" and data.follow_up == ()


def test_report_from_json(tmp_path: Path) -> None:
    content = {
        "month": "2026-11",
        "satisfaction": [{"channel": "網點", "responses": 120, "satisfied": 112}],
        "complaints": {"this_month": 18, "last_month": 25},
        "issues": [{"issue": "排隊時間長", "count": 7, "status": "處理中"}, {"issue": "其他"}],
        "actions": [{"item": "增加窗口", "owner": "張經理", "due": "2026-12-15"}],
    }
    path = write(tmp_path, "r.json", json.dumps(content, ensure_ascii=False))
    data = report_input(load_file(path), str(path))
    assert data.month == Month(2026, 11)
    assert data.satisfaction == (SurveyRow("網點", 120, 112),)
    assert data.complaints == Complaints(18, 25)
    assert data.issues == (Issue("排隊時間長", 7, "處理中"), Issue("其他"))
    assert data.actions == (Action("增加窗口", "張經理", date(2026, 12, 15)),)


def test_empty_file_is_no_content(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.yaml", "")
    assert load_file(path) == {}
    assert report_input({}, "x").satisfaction == ()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.yaml", "topics: [a,\n", r"bad.yaml: not valid YAML: .* \(line 2\)"),
        ("bad.yaml", "a: b: c\n", "not valid YAML"),
        ("bad.json", "{\"a\": }", r"bad.json: not valid JSON: Expecting value \(line 1\)"),
        ("list.yaml", "- a\n- b\n", "expected a mapping of fields at the top, not a list"),
        ("latin1.yaml", "place: caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
        ("big.yaml", "a: " + "x" * (1024 * 1024 + 1), "larger than 1024 KiB"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(UsageError, match=message) as info:
        load_file(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read .*nope.yaml: No such file"):
        load_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"meting": "weekly"}, "the file has unknown field\\(s\\) meting"),
        ({"actions": [{"item": "x"}]}, "actions\\[1\\].owner is required"),
        ({"actions": [{"item": "x", "owner": "  "}]}, "actions\\[1\\].owner is required"),
        ({"actions": [{"owner": "y"}]}, "actions\\[1\\].item is required"),
        ({"actions": [{"item": "x", "owner": "y", "due": "2026-02-30"}]}, "actions\\[1\\].due is not a date"),
        ({"actions": [{"item": "x", "owner": "y", "when": "soon"}]}, "actions\\[1\\] has unknown field\\(s\\) when"),
        ({"actions": {"item": "x"}}, "actions must be a list"),
        ({"actions": ["x"]}, "actions\\[1\\] must be a mapping"),
        ({"topics": [{"discussion": "x"}]}, "topics\\[1\\].title is required"),
        ({"attendees": [1, 2]}, "attendees must be a list of names"),
        ({"chair": ["a"]}, "chair must be text"),
        ({"follow_up": [{"item": "x"}]}, "follow_up\\[1\\].owner is required"),
    ],
)
def test_bad_minutes_content(content: dict, message: str) -> None:
    with pytest.raises(UsageError, match=f"^m.yaml: {message}"):
        minutes_input(content, "m.yaml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"month": "2026-13"}, "month is not a month"),
        ({"satisfaction": [{"channel": "a", "responses": 3, "satisfied": 4}]},
         "satisfaction\\[1\\].satisfied \\(4\\) is more than responses \\(3\\)"),
        ({"satisfaction": [{"channel": "a", "responses": -1, "satisfied": 0}]}, "satisfaction\\[1\\].responses must be a whole number"),
        ({"satisfaction": [{"channel": "a", "responses": 1.5, "satisfied": 0}]}, "satisfaction\\[1\\].responses must be a whole number"),
        ({"satisfaction": [{"channel": "a", "responses": True, "satisfied": 0}]}, "satisfaction\\[1\\].responses must be a whole number"),
        ({"satisfaction": [{"responses": 1, "satisfied": 0}]}, "satisfaction\\[1\\].channel is required"),
        ({"complaints": {"this_month": 3}}, "complaints.last_month must be a whole number"),
        ({"complaints": 3}, "complaints must be a mapping"),
        ({"issues": [{"issue": "x", "count": "many"}]}, "issues\\[1\\].count must be a whole number"),
        ({"actions": [{"item": "x"}]}, "actions\\[1\\].owner is required"),
    ],
)
def test_bad_report_content(content: dict, message: str) -> None:
    with pytest.raises(UsageError, match=f"^r.yaml: {message}"):
        report_input(content, "r.yaml")
