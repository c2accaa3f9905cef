"""The [paperwork] settings: defaults from the policy, overrides, validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.settings import CONFIG_FILE, load_settings
from errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STRONGROOM_"):
            monkeypatch.delenv(name)


def settings_with(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / CONFIG_FILE).write_text(text, encoding="utf-8")
    return load_settings(tmp_path)


def test_defaults_follow_the_policy(tmp_path: Path) -> None:
    paperwork = settings_with(tmp_path, "").paperwork
    assert paperwork.time_zone == "Asia/Shanghai"
    assert paperwork.meetings == ["weekly = weekly fri 15:00", "strategy = quarterly 1 fri 10:00"]
    assert paperwork.minutes_deadline_hours == 24
    assert paperwork.report_due_day == 5
    assert paperwork.satisfaction_target == 90
    assert paperwork.complaint_reduction_target == 20
    assert paperwork.action_due_days == 7
    assert paperwork.track_from == ""


def test_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[paperwork]\ntime_zone = "Asia/Hong_Kong"\nmeetings = ["周会 = weekly fri 14:30"]\nreport_due_day = 3\n'
    paperwork = settings_with(tmp_path, text).paperwork
    assert (paperwork.time_zone, paperwork.meetings, paperwork.report_due_day) == (
        "Asia/Hong_Kong", ["周会 = weekly fri 14:30"], 3)
    monkeypatch.setenv("STRONGROOM_PAPERWORK_MEETINGS", "weekly = weekly fri 15:00, risk = monthly last mon 09:00")
    monkeypatch.setenv("STRONGROOM_PAPERWORK_TRACK_FROM", "2026-01-01")
    paperwork = load_settings(tmp_path).paperwork
    assert paperwork.meetings == ["weekly = weekly fri 15:00", "risk = monthly last mon 09:00"]
    assert paperwork.track_from == "2026-01-01"
    monkeypatch.setenv("STRONGROOM_PAPERWORK_MEETINGS", "")
    assert load_settings(tmp_path).paperwork.meetings == []


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('time_zone = "Mars/Olympus"', "unknown time zone"),
        ('meetings = ["weekly = weekly friday 15:00"]', "paperwork: meeting rule"),
        ('meetings = ["a = weekly fri 15:00", "a = monthly 1 mon 09:00"]', "same name"),
        ("minutes_deadline_hours = 0", "minutes_deadline_hours must be between 1 and 720"),
        ("report_due_day = 29", "report_due_day must be between 1 and 28"),
        ("report_due_day = 0", "report_due_day"),
        ("satisfaction_target = 101", "satisfaction_target"),
        ("complaint_reduction_target = -1", "complaint_reduction_target"),
        ("action_due_days = 0", "action_due_days"),
        ('track_from = "2026-02-30"', "invalid date"),
        ("meetings = 5", "invalid value for paperwork.meetings"),
    ],
)
def test_invalid_paperwork_settings(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        settings_with(tmp_path, f"[paperwork]\n{text}\n")
