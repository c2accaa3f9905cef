"""Generated minutes and reports, read back with python-docx: sections, tables, values, figures, fonts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn

from paperwork.data import FollowUp, minutes_input, report_input
from paperwork.minutes import MinutesDocument, build_minutes
from paperwork.register import MeetingSlot, minutes_title, report_title
from paperwork.report import ReportDocument, build_report
from schedules.paperwork import Month

TZ = ZoneInfo("Asia/Shanghai")
CREATED = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
SLOT = MeetingSlot("weekly", datetime(2026, 11, 6, 15, 0, tzinfo=TZ), "三楼会议室", recurring=True)

# Sentences of the source policy (銀行客戶關係維護制度, sections 1(2), 4(2) and 6(2)), as written there.
POLICY_DECISIONS = "決議需在24小時內分配責任人，並同步至相關部門"
POLICY_MINUTES = "會議紀要需包含議題、討論結果、行動計劃等，存檔於共享平台"
POLICY_FOLLOW_UP = "對於未執行的決議，責任人需在下次會議上說明情況，確保決策落地"
POLICY_GOALS = "提升客戶滿意度至90%以上，降低客戶投訴率20%"
POLICY_RISK = "客戶投訴量異常上升時及時干預"

MINUTES = {
    "place": "三樓會議室",
    "chair": "王總監",
    "recorder": "李專員",
    "attendees": ["王總監", "張經理", "李專員"],
    "topics": [
        {"title": "會議紀要存檔", "discussion": POLICY_MINUTES, "result": "紀要統一上傳至共享平台"},
        {"title": "決議落實", "discussion": POLICY_DECISIONS, "result": "同意"},
    ],
    "actions": [
        {"item": "建立客戶信息數據庫", "owner": "張經理", "due": "2026-11-20"},
        {"item": "整理會議紀要並上傳", "owner": "李專員"},
    ],
}

REPORT = {
    "prepared_by": "李專員",
    "satisfaction": [
        {"channel": "網點櫃面", "responses": 120, "satisfied": 112},
        {"channel": "電話銀行", "responses": 80, "satisfied": 70},
    ],
    "complaints": {"this_month": 18, "last_month": 25},
    "issues": [
        {"issue": "櫃面排隊時間長", "count": 7, "status": "已增加高峰時段窗口"},
        {"issue": POLICY_RISK, "count": 4, "status": "跟進中"},
    ],
    "actions": [{"item": POLICY_GOALS, "owner": "王總監"}],
}


def read(data: bytes) -> DocumentObject:
    return docx.Document(io.BytesIO(data))


def headings(document: DocumentObject) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]


def tables(document: DocumentObject) -> list[list[list[str]]]:
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]


def text(document: DocumentObject) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def is_cjk(value: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in value)


def cjk_runs_without_east_asian_font(document: DocumentObject) -> list[str]:
    """Runs holding Chinese text (body, tables, header, footer) whose own properties name no East Asian font."""
    section = document.sections[0]
    parts = [document.element.body, section.header._element, section.footer._element]
    missing, seen = [], 0
    for part in parts:
        for run in part.iter(qn("w:r")):
            content = "".join(t.text or "" for t in run.iter(qn("w:t")))
            if not is_cjk(content):
                continue
            seen += 1
            fonts = run.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
            if fonts is None or not fonts.get(qn("w:eastAsia")):
                missing.append(content)
    assert seen, "no Chinese text found"
    return missing


def minutes_doc(lang: str = "zh", data: dict | None = None, slot: MeetingSlot | None = SLOT,
                follow_up: tuple[FollowUp, ...] = ()) -> MinutesDocument:
    return MinutesDocument(minutes_input(data if data is not None else MINUTES, "test.yaml"), slot, follow_up,
                           lang, TZ, 7, CREATED)


def report_doc(lang: str = "zh", data: dict | None = None) -> ReportDocument:
    return ReportDocument(report_input(data if data is not None else REPORT, "test.yaml"), Month(2026, 11), lang,
                          90, 20, date(2026, 12, 5), 7, CREATED)


# --- minutes ------------------------------------------------------------------------------


def test_minutes_have_every_section_in_the_policys_terms() -> None:
    document = read(build_minutes(minutes_doc(), minutes_title(SLOT)))
    assert headings(document) == [
        "客户关系部会议纪要", "一、议题", "二、讨论结果", "三、决议与行动计划", "四、上次会议未执行决议跟进", "五、签字确认",
    ]
    body = text(document)
    for line in ("会议名称：weekly", "会议时间：2026-11-06 15:00 (周五)", "会议地点：三樓會議室", "主持人：王總監",
                 "参会人员：王總監、張經理、李專員", "记录人：李專員", "无未执行决议。", "主持人签字：", "记录人签字："):
        assert line in body


def test_minutes_tables_hold_topics_discussion_and_actions_with_default_due_dates() -> None:
    topics, discussion, actions = tables(read(build_minutes(minutes_doc(), minutes_title(SLOT))))
    assert topics == [["序号", "议题"], ["1", "會議紀要存檔"], ["2", "決議落實"]]
    assert discussion == [
        ["议题", "讨论情况", "结果"],
        ["會議紀要存檔", POLICY_MINUTES, "紀要統一上傳至共享平台"],
        ["決議落實", POLICY_DECISIONS, "同意"],
    ]
    assert actions == [
        ["序号", "事项", "责任人", "完成期限"],
        ["1", "建立客戶信息數據庫", "張經理", "2026-11-20"],
        ["2", "整理會議紀要並上傳", "李專員", "2026-11-13"],   # no date given: meeting day + 7 days
    ]


def test_minutes_follow_up_lists_unexecuted_decisions() -> None:
    follow_up = (FollowUp("更新客戶信息", "張經理", date(2026, 10, 30), POLICY_FOLLOW_UP),)
    document = read(build_minutes(minutes_doc(follow_up=follow_up), minutes_title(SLOT)))
    assert tables(document)[3] == [
        ["事项", "责任人", "原定期限", "未执行原因及说明"],
        ["更新客戶信息", "張經理", "2026-10-30", POLICY_FOLLOW_UP],
    ]
    assert "无未执行决议。" not in text(document)


def test_minutes_in_english() -> None:
    document = read(build_minutes(minutes_doc("en"), minutes_title(SLOT)))
    assert headings(document) == [
        "Customer Relations: Meeting minutes", "1. Topics", "2. Discussion and results",
        "3. Decisions and action plan", "4. Follow-up of unexecuted decisions from the last meeting", "5. Sign-off",
    ]
    assert "Date and time: 2026-11-06 15:00 (Friday)" in text(document)
    assert tables(document)[2][0] == ["No.", "Item", "Owner", "Due date"]
    assert document.core_properties.language == "en"


def test_blank_minutes_form() -> None:
    document = read(build_minutes(minutes_doc(data={}, slot=None), "Minutes"))
    assert len(headings(document)) == 6
    body = text(document)
    assert "会议名称：＿＿＿＿" in body and "会议时间：＿＿＿＿" in body
    topics, discussion, actions, follow_up = tables(document)
    for table, width in ((topics, 2), (discussion, 3), (actions, 4), (follow_up, 4)):
        assert len(table) == 6  # header + 5 rows to write in
        assert all(cell == "" for row in table[1:] for cell in row)
        assert len(table[0]) == width
    assert document.tables[0].rows[1].height is not None


# --- report -------------------------------------------------------------------------------


def test_report_sections_and_computed_figures() -> None:
    document = read(build_report(report_doc(), report_title(Month(2026, 11))))
    assert headings(document) == ["客户关系部月度客户报告", "一、满意度数据", "二、客户投诉", "三、问题汇总", "四、改进措施", "五、审核确认"]
    satisfaction, complaints, issues, actions = tables(document)
    assert satisfaction == [
        ["调查渠道", "有效问卷数", "满意数", "满意度"],
        ["網點櫃面", "120", "112", "93.3%"],
        ["電話銀行", "80", "70", "87.5%"],
        ["合计", "200", "182", "91.0%"],
    ]
    assert complaints == [["本月投诉", "上月投诉", "环比变化", "目标"], ["18", "25", "-28.0%", "-20%"]]
    assert issues == [
        ["序号", "问题", "次数", "处理情况"],
        ["1", "櫃面排隊時間長", "7", "已增加高峰時段窗口"],
        ["2", POLICY_RISK, "4", "跟進中"],
        ["", "合计", "11", ""],
    ]
    assert actions == [["序号", "事项", "责任人", "完成期限"], ["1", POLICY_GOALS, "王總監", "2026-12-12"]]
    body = text(document)
    assert "月度客户报告：2026年11月" in body
    assert "本月客户满意度 91.0%，目标 90%以上：达标。" in body
    assert "投诉环比变化 -28.0%，目标下降 20%：达标。" in body


def test_report_targets_missed_in_english() -> None:
    data = {
        "satisfaction": [{"channel": "Branch", "responses": 10000, "satisfied": 8996}],
        "complaints": {"this_month": 21, "last_month": 25},
    }
    body = text(read(build_report(report_doc("en", data), "r")))
    assert "Customer satisfaction this month: 89.9%, target 90% or more: not met." in body
    assert "Complaints changed by -16.0% against a target of -20%: not met." in body
    assert "Monthly customer report: November 2026" in body


def test_report_without_last_months_complaints_says_so() -> None:
    data = {"complaints": {"this_month": 3, "last_month": 0}}
    document = read(build_report(report_doc("en", data), "r"))
    assert tables(document)[1][1] == ["3", "0", "—", "-20%"]
    assert "cannot be computed" in text(document)


def test_blank_report_form() -> None:
    document = read(build_report(report_doc(data={}), report_title(Month(2026, 11))))
    assert len(headings(document)) == 6
    for table in tables(document):
        assert len(table) == 6 and all(cell == "" for row in table[1:] for cell in row)
    assert "本月客户满意度" not in text(document) and "投诉环比变化" not in text(document)  # nothing to compute


# --- rendering: fonts, header, page numbers -----------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chinese_run_carries_an_east_asian_font(lang: str) -> None:
    for data in (build_minutes(minutes_doc(lang), minutes_title(SLOT), "2026-0001-minutes"),
                 build_report(report_doc(lang), report_title(Month(2026, 11)), "2026-0002-report")):
        assert cjk_runs_without_east_asian_font(read(data)) == []


def test_styles_name_east_asian_fonts_and_no_theme_fonts() -> None:
    document = read(build_minutes(minutes_doc(), minutes_title(SLOT)))
    expected = {"Normal": "SimSun", "Title": "SimHei", "Heading 1": "SimHei"}
    for name, font in expected.items():
        fonts = document.styles[name].element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
        assert fonts.get(qn("w:eastAsia")) == font
        assert fonts.get(qn("w:eastAsiaTheme")) is None
        language = document.styles[name].element.find(f"{qn('w:rPr')}/{qn('w:lang')}")
        assert language.get(qn("w:eastAsia")) == "zh-CN"
    assert not any(f.get(qn("w:eastAsiaTheme")) for f in document.styles.element.iter(qn("w:rFonts")))


def test_header_names_the_record_once_filed_and_footer_numbers_pages() -> None:
    title = minutes_title(SLOT)
    unfiled = read(build_minutes(minutes_doc(), title))
    filed = read(build_minutes(minutes_doc(), title, "2026-0007-minutes"))
    assert unfiled.sections[0].header.paragraphs[0].text == title
    assert filed.sections[0].header.paragraphs[0].text == f"2026-0007-minutes  {title}"
    footer = filed.sections[0].footer
    assert footer.paragraphs[0].text == "第 1 页，共 1 页"
    instructions = [node.text for node in footer._element.iter(qn("w:instrText"))]
    assert instructions == [" PAGE ", " NUMPAGES "]
    kinds = [node.get(qn("w:fldCharType")) for node in footer._element.iter(qn("w:fldChar"))]
    assert kinds == ["begin", "separate", "end"] * 2
    assert filed.core_properties.title == title


def test_english_footer() -> None:
    document = read(build_report(report_doc("en"), "r", "2026-0002-report"))
    assert document.sections[0].footer.paragraphs[0].text == "Page 1 of 1"
    assert document.sections[0].header.paragraphs[0].text == "2026-0002-report  r"
