"""The template, meeting and compliance commands against a real archive (S3 fixtures of conftest)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from click.testing import Result

from archive.service import Archive
from audit.log import query as search
from paperwork.compliance import LATE, ON_TIME, OVERDUE
from schedules.paperwork import Month, report_deadline
from tests.conftest import cli

TZ = ZoneInfo("Asia/Shanghai")

MINUTES_YAML = """\
chair: 王總監
recorder: 李專員
attendees: [王總監, 張經理, 李專員]
topics:
  - title: 決議落實
    discussion: 決議需在24小時內分配責任人，並同步至相關部門
    result: 同意
actions:
  - {item: 建立客戶信息數據庫, owner: 張經理, due: %(past)s}
  - {item: 整理會議紀要並上傳共享平台, owner: 李專員}
"""

REPORT_YAML = """\
satisfaction:
  - {channel: 網點櫃面, responses: 120, satisfied: 112}
complaints: {this_month: 18, last_month: 25}
issues:
  - {issue: 客戶投訴量異常上升, count: 4, status: 及時干預}
actions:
  - {item: 提升客戶滿意度至90%以上, owner: 王總監}
"""


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No recurring meetings (each test registers its own), and a working directory for outputs."""
    monkeypatch.setenv("STRONGROOM_PAPERWORK_MEETINGS", "")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def local_text(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def one_line_error(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def stored_docx(home: Path, name: str, version: int, *as_user: str) -> docx.document.Document:
    result = cli(home, "get", name, "--version", str(version), "-o", "-", *as_user)
    assert result.exit_code == 0, result.output
    return docx.Document(io.BytesIO(result.stdout_bytes))


def write_minutes_yaml(path: Path, past_due: str) -> Path:
    target = path / "minutes.yaml"
    target.write_text(MINUTES_YAML % {"past": past_due}, encoding="utf-8")
    return target


def test_minutes_filed_with_the_record_name_in_the_header_and_linked(home: Path, archive: Archive,
                                                                     register: Path) -> None:
    now = datetime.now(UTC)
    held = local_text(now - timedelta(hours=2))
    ok(cli(home, "meeting", "add", "review", "--at", held, "--place", "三樓會議室"))
    source = write_minutes_yaml(register, (now - timedelta(days=1)).astimezone(TZ).date().isoformat())
    name = ok(cli(home, "template", "minutes", "--meeting", "review", "--date", held, "--from", str(source),
                  "--lang", "zh", "--file")).strip()
    assert name.endswith("-minutes")

    first, second = stored_docx(home, name, 1), stored_docx(home, name, 2)
    title = f"Minutes: review {held} +0800"
    assert first.sections[0].header.paragraphs[0].text == title
    assert second.sections[0].header.paragraphs[0].text == f"{name}  {title}"
    body = "\n".join(p.text for p in second.paragraphs)
    assert "会议地点：三樓會議室" in body and "主持人：王總監" in body
    assert second.tables[2].rows[2].cells[2].text == "李專員"
    shown = json.loads(ok(cli(home, "show", name, "--json")))
    assert shown["title"] == title
    assert [v["comment"] for v in shown["history"]] == [None, "record name in the header"]

    actions = json.loads(ok(cli(home, "meeting", "actions", "--json")))
    meeting_day = (now - timedelta(hours=2)).astimezone(TZ).date()
    assert [(a["item"], a["owner"], a["due"], a["record"]) for a in actions] == [
        ("建立客戶信息數據庫", "張經理", (now - timedelta(days=1)).astimezone(TZ).date().isoformat(), name),
        ("整理會議紀要並上傳共享平台", "李專員", (meeting_day + timedelta(days=7)).isoformat(), name),
    ]
    listed = json.loads(ok(cli(home, "meeting", "list", "--json")))
    assert [(m["name"], m["minutes"], m["place"]) for m in listed] == [("review", name, "三樓會議室")]
    events = [(e.action, e.record) for e in search(archive, record=name)]
    assert ("record.file", name) in events and ("record.version", name) in events
    assert ("paperwork.link", name) in events


def test_next_minutes_follow_up_the_open_decisions(home: Path, register: Path) -> None:
    now = datetime.now(UTC)
    first, second = local_text(now - timedelta(days=8)), local_text(now - timedelta(hours=1))
    for held in (first, second):
        ok(cli(home, "meeting", "add", "review", "--at", held))
    source = write_minutes_yaml(register, "2026-01-05")
    ok(cli(home, "template", "minutes", "--meeting", "review", "--date", first, "--from", str(source), "--file"))
    [done, _] = json.loads(ok(cli(home, "meeting", "actions", "--json")))
    ok(cli(home, "meeting", "done", str(done["id"]), "--note", "數據庫已建立"))
    ok(cli(home, "template", "minutes", "--meeting", "review", "--date", second, "-o", "next.docx"))
    follow_up = docx.Document("next.docx").tables[3]
    assert [[c.text for c in row.cells] for row in follow_up.rows][1:] == [
        ["整理會議紀要並上傳共享平台", "李專員", json.loads(ok(cli(home, "meeting", "actions", "--json")))[0]["due"], ""],
    ]
    again = cli(home, "meeting", "done", str(done["id"]))
    one_line_error(again, 1, "already marked done")


@pytest.fixture
def tracked_from_three_months_ago(monkeypatch: pytest.MonkeyPatch) -> Month:
    """Reports count from the first day of the month three months back; returns this month."""
    this_month = Month.of(datetime.now(TZ).date())
    monkeypatch.setenv("STRONGROOM_PAPERWORK_TRACK_FROM", this_month.shift(-3).first_day().isoformat())
    return this_month


def test_compliance_status_against_filed_records(home: Path, register: Path,
                                                 tracked_from_three_months_ago: Month) -> None:
    now = datetime.now(UTC)
    this_month = tracked_from_three_months_ago
    on_time, late, missing = (local_text(now - timedelta(hours=h)) for h in (2, 30, 50))
    for held in (on_time, late, missing, local_text(now + timedelta(days=3))):
        ok(cli(home, "meeting", "add", "review", "--at", held))
    source = write_minutes_yaml(register, (now - timedelta(days=2)).astimezone(TZ).date().isoformat())
    for held in (on_time, late):
        ok(cli(home, "template", "minutes", "--meeting", "review", "--date", held, "--from", str(source), "--file"))

    (register / "report.yaml").write_text(REPORT_YAML, encoding="utf-8")
    previous = this_month.shift(-1)
    report = ok(cli(home, "template", "report", "--month", str(previous), "--from", "report.yaml", "--file")).strip()
    (register / "scan.pdf").write_bytes(b"%PDF-1.4 hand-filled report, scanned")
    scanned = ok(cli(home, "put", "scan.pdf", "--type", "report", "--title", "scanned report")).strip()
    ok(cli(home, "compliance", "link", scanned, "--month", str(this_month.shift(-2))))

    result = cli(home, "compliance", "status", "--json")
    assert result.exit_code == 1
    status = json.loads(result.stdout)
    states = {(item["kind"], item["subject"]): (item["state"], item["record"]) for item in status["items"]}
    assert states[("minutes", f"review {on_time}")][0] == ON_TIME
    assert states[("minutes", f"review {late}")][0] == LATE
    assert states[("minutes", f"review {missing}")] == (OVERDUE, None)
    assert not any(subject.startswith("review") and subject > f"review {local_text(now)}"
                   for _, subject in states)  # the future meeting is not due
    previous_due = report_deadline(previous, 5, TZ)
    assert states[("report", str(previous))] == (LATE if now > previous_due else ON_TIME, report)
    assert states[("report", str(this_month.shift(-2)))] == (LATE, scanned)
    assert states[("report", str(this_month.shift(-3)))] == (OVERDUE, None)
    assert states[("report", str(this_month.shift(-4)))] == (OVERDUE, None)  # due on the 5th, after tracking began
    assert ("report", str(this_month)) not in states  # not over yet
    # past due: the minutes' first action items (due two days ago), and the report's once a week after its due day
    report_action_late = now.astimezone(TZ).date() > previous_due.date() + timedelta(days=7)
    overdue_actions = sorted(item["owner"] for item in status["items"] if item["kind"] == "action")
    assert overdue_actions == ["張經理", "張經理"] + (["王總監"] if report_action_late else [])
    assert status["overdue"] == 1 + 2 + len(overdue_actions)  # minutes, reports, action items
    assert status["summary"].startswith(f"compliance: {status['overdue']} overdue (")

    text = cli(home, "compliance", "status")
    assert text.exit_code == 1
    assert f"OVERDUE  minutes  review {missing}" in text.stdout
    assert text.stdout.strip().splitlines()[-1] == status["summary"]
    assert status["summary"].endswith(
        f"{len(overdue_actions)} action item(s) past due, 1 minutes missing, 2 report(s) missing); "
        f"{3 if now > previous_due else 2} filed late, {1 if now > previous_due else 2} on time, 0 not yet due"
    )


def test_report_months_are_tracked_from_track_from(home: Path, register: Path,
                                                   tracked_from_three_months_ago: Month) -> None:
    this_month = tracked_from_three_months_ago
    status = json.loads(cli(home, "compliance", "status", "--json").stdout)
    months = [item["subject"] for item in status["items"] if item["kind"] == "report"]
    assert months == [str(this_month.shift(n)) for n in (-4, -3, -2, -1)]


def test_nothing_overdue_exits_0(home: Path, register: Path) -> None:
    now = datetime.now(UTC)
    held = local_text(now - timedelta(hours=1))
    ok(cli(home, "meeting", "add", "review", "--at", held))
    ok(cli(home, "template", "minutes", "--meeting", "review", "--date", held, "--file"))
    result = cli(home, "compliance", "status")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("compliance: nothing overdue (0 filed late, 1 on time")


def test_cancelled_meetings_need_no_minutes(home: Path, register: Path) -> None:
    held = local_text(datetime.now(UTC) - timedelta(days=3))
    ok(cli(home, "meeting", "add", "review", "--at", held))
    assert cli(home, "compliance", "status").exit_code == 1
    assert ok(cli(home, "meeting", "cancel", "review", "--date", held)).startswith("cancelled review")
    assert cli(home, "compliance", "status").exit_code == 0
    assert json.loads(ok(cli(home, "meeting", "list", "--json"))) == []


def test_recurring_meetings_count_from_the_register_start(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """The default weekly Friday meeting: every Friday since ``track_from`` needs minutes."""
    monkeypatch.chdir(tmp_path)
    today = datetime.now(TZ).date()
    monkeypatch.setenv("STRONGROOM_PAPERWORK_TRACK_FROM", (today - timedelta(days=21)).isoformat())
    status = json.loads(cli(home, "compliance", "status", "--json").stdout)
    fridays = [item["subject"] for item in status["items"] if item["kind"] == "minutes"]
    assert 3 <= len(fridays) <= 4
    assert all(subject.startswith("weekly ") and subject.endswith(" 15:00") for subject in fridays)
    assert all(datetime.fromisoformat(s[7:17]).weekday() == 4 for s in fridays)
    last_friday = fridays[-1][7:]
    ok(cli(home, "template", "minutes", "--meeting", "weekly", "--date", last_friday[:10], "-o", "weekly.docx"))
    assert "会议时间：" + last_friday + " (周五)" in "\n".join(p.text for p in docx.Document("weekly.docx").paragraphs)


def test_minutes_filed_without_the_template_count_by_link_or_canonical_title(home: Path, register: Path) -> None:
    held = datetime.now(UTC) - timedelta(hours=3)
    ok(cli(home, "meeting", "add", "review", "--at", local_text(held)))
    (register / "scan.pdf").write_bytes(b"%PDF-1.4 minutes")
    title = f"Minutes: review {local_text(held)} +0800"   # what 'template minutes --file' gives, e.g. via --server
    ok(cli(home, "put", "scan.pdf", "--type", "minutes", "--title", title))
    assert cli(home, "compliance", "status").exit_code == 0
    other = ok(cli(home, "put", "scan.pdf", "--type", "minutes", "--title", "hand-written")).strip()
    one_line_error(cli(home, "compliance", "link", other, "--month", "2026-11"), 2, "is a minutes record, not report")
    ok(cli(home, "compliance", "link", other, "--meeting", "review", "--date", local_text(held)))
    one_line_error(cli(home, "compliance", "link", other, "--meeting", "review", "--date", local_text(held)), 2,
                   "already linked")
    one_line_error(cli(home, "compliance", "link", "2026-9999-minutes", "--month", "2026-11"), 1, "no filed record")
    one_line_error(cli(home, "compliance", "link", other), 2, "give --meeting NAME --date DATE")


def test_filing_follows_the_access_policy(home: Path, archive: Archive, register: Path) -> None:
    held = local_text(datetime.now(UTC) - timedelta(hours=1))
    ok(cli(home, "meeting", "add", "review", "--at", held))
    for name, role in (("sam", "staff"), ("alice", "auditor")):
        ok(cli(home, "user", "add", name, "--role", role, "--password", "correct horse battery"))
    refused = cli(home, "template", "minutes", "--meeting", "review", "--date", held, "--file", "--as", "alice")
    one_line_error(refused, 3, "")
    name = ok(cli(home, "template", "minutes", "--meeting", "review", "--date", held, "--file", "--as", "sam")).strip()
    events = {(e.action, e.actor, e.outcome) for e in search(archive)}
    assert ("record.file", "alice", "denied") in events
    assert ("record.file", "sam", "ok") in events and ("paperwork.link", "sam", "ok") in events
    assert json.loads(ok(cli(home, "show", name, "--json", "--as", "sam")))["created_by"] == "sam"


def test_report_template_to_a_file_and_stdout(home: Path, register: Path) -> None:
    (register / "report.yaml").write_text(REPORT_YAML, encoding="utf-8")
    assert ok(cli(home, "template", "report", "--month", "2026-11", "--from", "report.yaml", "--lang", "en")) == (
        "wrote report-2026-11.docx\n")
    document = docx.Document("report-2026-11.docx")
    assert [[c.text for c in row.cells] for row in document.tables[0].rows][-1] == ["Total", "120", "112", "93.3%"]
    streamed = cli(home, "template", "report", "--month", "2026-11", "-o", "-")
    assert streamed.exit_code == 0 and streamed.stdout_bytes[:2] == b"PK"
    assert len(docx.Document(io.BytesIO(streamed.stdout_bytes)).tables) == 4


def test_bad_input_is_one_line_exit_2_and_writes_nothing(home: Path, register: Path) -> None:
    (register / "bad.yaml").write_text("topics: [a,\n", encoding="utf-8")
    (register / "owner.yaml").write_text("actions:\n  - item: x\n", encoding="utf-8")
    cases = [
        (("template", "minutes", "--from", "bad.yaml"), "bad.yaml: not valid YAML"),
        (("template", "minutes", "--from", "owner.yaml"), "actions[1].owner is required"),
        (("template", "minutes", "--from", "missing.yaml"), "cannot read missing.yaml"),
        (("template", "minutes", "--meeting", "board", "--date", "2026-11-06"), "unknown meeting 'board'"),
        (("template", "minutes", "--meeting", "weekly"), "--meeting and --date go together"),
        (("template", "minutes", "--file"), "--file needs --meeting and --date"),
        (("template", "report", "--month", "2026-13"), "invalid month"),
        (("template", "report"), "missing --month"),
        (("template", "report", "--month", "2026-11", "--file", "-o", "x.docx"), "-o and --file cannot go together"),
        (("meeting", "add", "review", "--at", "2026-11-31 10:00"), "invalid date and time"),
        (("meeting", "add", "review", "--at", "2026-11-06"), "has no time of day"),
        (("meeting", "add", "a=b", "--at", "2026-11-06 10:00"), "invalid meeting name"),
        (("meeting", "cancel", "nope", "--date", "2026-11-06"), "unknown meeting"),
        (("meeting", "list", "--from", "yesterday"), "invalid date"),
        (("compliance", "link", "not-a-name", "--month", "2026-11"), "not-a-name"),
    ]
    for args, fragment in cases:
        one_line_error(cli(home, *args), 2, fragment)
    assert sorted(p.name for p in register.iterdir()) == ["bad.yaml", "owner.yaml"]
    ok(cli(home, "meeting", "add", "review", "--at", "2026-11-06 10:00"))
    one_line_error(cli(home, "meeting", "add", "review", "--at", "2026-11-06 10:00"), 2, "already in the register")
    one_line_error(cli(home, "meeting", "done", "99"), 1, "no action item #99")


def test_output_is_never_half_written(home: Path, register: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused overwrite and a failed write leave the old file as it was, and nothing else behind."""
    ok(cli(home, "template", "minutes", "-o", "form.docx"))
    before = (register / "form.docx").read_bytes()
    one_line_error(cli(home, "template", "minutes", "--lang", "en", "-o", "form.docx"), 2, "exists; use --force")
    assert (register / "form.docx").read_bytes() == before

    def no_rename(*_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("paperwork.output.os.replace", no_rename)
        one_line_error(cli(home, "template", "minutes", "--lang", "en", "-o", "form.docx", "--force"), 2,
                       "cannot write form.docx: No space left on device")
    assert (register / "form.docx").read_bytes() == before
    assert sorted(p.name for p in register.iterdir()) == ["form.docx"]  # no temporary file left
    ok(cli(home, "template", "minutes", "--lang", "en", "-o", "form.docx", "--force"))
    assert docx.Document("form.docx").paragraphs[0].text == "Customer Relations: Meeting minutes"


def test_blank_form_needs_no_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRONGROOM_PAPERWORK_MEETINGS", raising=False)
    nowhere = tmp_path / "no-home"
    ok(cli(nowhere, "template", "minutes", "--meeting", "weekly", "--date", "2026-11-06"))
    assert (tmp_path / "minutes-weekly-2026-11-06.docx").exists()
    assert not nowhere.exists()


def test_filed_through_the_service_counts_by_its_title(home: Path, archive: Archive, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``--file`` with ``--server``: filed with the user's login; the host matches it to its meeting by title."""
    from accounts.users import add_user
    from audit.actor import Actor
    from schedules.paperwork import is_late, minutes_deadline
    from tests.service_helpers import start_service

    add_user(archive, "sam", "staff", "st4ff-secret-pw", actor=Actor("test-operator", None, "cli"))
    today = datetime.now(TZ).date()
    friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)  # the last Friday before today
    monkeypatch.setenv("STRONGROOM_PAPERWORK_TRACK_FROM", (friday - timedelta(days=1)).isoformat())
    monkeypatch.setenv("STRONGROOM_CREDENTIALS", str(tmp_path / "credentials.json"))
    monkeypatch.chdir(tmp_path)
    service = start_service(home)
    try:
        laptop = tmp_path / "laptop"  # no home on the user's machine
        ok(cli(laptop, "--server", service.url, "login", "sam", "--password", "st4ff-secret-pw"))
        name = ok(cli(laptop, "--server", service.url, "template", "minutes", "--meeting", "weekly",
                      "--date", friday.isoformat(), "--file")).strip()
    finally:
        assert service.stop() == 0, service.stdout()
    assert not laptop.exists()
    shown = json.loads(ok(cli(home, "show", name, "--json", "--as", "sam")))
    assert shown["created_by"] == "sam" and len(shown["history"]) == 2
    assert stored_docx(home, name, 2, "--as", "sam").sections[0].header.paragraphs[0].text.startswith(f"{name}  Minutes: weekly")
    status = json.loads(cli(home, "compliance", "status", "--json").stdout)
    [minutes] = [item for item in status["items"] if item["kind"] == "minutes"]
    deadline = minutes_deadline(datetime.combine(friday, datetime.min.time().replace(hour=15), tzinfo=TZ), 24)
    filed_at = datetime.fromisoformat(minutes["filed_at"])
    assert (minutes["subject"], minutes["record"]) == (f"weekly {friday} 15:00", name)
    assert minutes["state"] == (LATE if is_late(filed_at, deadline) else ON_TIME)
