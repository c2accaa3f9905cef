"""The monthly customer report: satisfaction against its target, complaints against last month,
issue summary, actions, review. Figures are computed from the counts, never typed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from paperwork.data import ReportInput
from paperwork.docx_style import (
    field_line,
    header_and_footer,
    heading,
    new_document,
    paragraph,
    table,
    to_bytes,
)
from paperwork.figures import (
    complaint_change,
    percent,
    reduction_met,
    satisfaction_met,
    satisfaction_rate,
)
from paperwork.wording import LABELS, MONTH_NAMES, verdict
from schedules.paperwork import Month, default_due


@dataclass(frozen=True)
class ReportDocument:
    data: ReportInput
    month: Month
    lang: str
    satisfaction_target: int
    reduction_target: int
    actions_from: date
    action_due_days: int
    created: datetime


def month_label(month: Month, lang: str) -> str:
    words = LABELS[lang]
    return words["report_month"].format(year=month.year, month=month.month, month_name=MONTH_NAMES[month.month - 1])


def build_report(doc: ReportDocument, title: str, record_name: str | None = None) -> bytes:
    words, data, lang = LABELS[doc.lang], doc.data, doc.lang
    document = new_document(lang, title, doc.created)
    header_and_footer(document, f"{record_name}  {title}" if record_name else title, words["page"])
    heading(document, f"{words['department']}{words['report_title']}" if lang == "zh"
            else f"{words['department']}: {words['report_title']}", 0)
    field_line(document, words["report_title"], month_label(doc.month, lang))
    field_line(document, words["prepared_by"], data.prepared_by)

    heading(document, words["satisfaction"], 1)
    responses = sum(row.responses for row in data.satisfaction)
    satisfied = sum(row.satisfied for row in data.satisfaction)
    rate = satisfaction_rate(satisfied, responses)
    table(document, [words["col_channel"], words["col_responses"], words["col_satisfied"], words["col_rate"]], [
        [row.channel, str(row.responses), str(row.satisfied), percent(satisfaction_rate(row.satisfied, row.responses))]
        for row in data.satisfaction
    ], total=[words["total"], str(responses), str(satisfied), percent(rate)] if data.satisfaction else None)
    if data.satisfaction:
        paragraph(document, words["satisfaction_line"].format(
            rate=percent(rate), target=doc.satisfaction_target,
            verdict=verdict(lang, satisfaction_met(rate, doc.satisfaction_target))))

    heading(document, words["complaints"], 1)
    complaints = data.complaints
    change = complaint_change(complaints.this_month, complaints.last_month) if complaints else None
    target = f"-{doc.reduction_target}%"
    table(document, [words["col_this_month"], words["col_last_month"], words["col_change"], words["col_target"]],
          [[str(complaints.this_month), str(complaints.last_month), percent(change, signed=True), target]]
          if complaints else [])
    if complaints:
        paragraph(document, words["complaints_line"].format(
            change=percent(change, signed=True), target=doc.reduction_target,
            verdict=verdict(lang, reduction_met(change, doc.reduction_target))))

    heading(document, words["issues"], 1)
    counted = [issue.count for issue in data.issues if issue.count is not None]
    table(document, [words["col_no"], words["col_issue"], words["col_count"], words["col_status"]], [
        [str(n), issue.issue, "" if issue.count is None else str(issue.count), issue.status]
        for n, issue in enumerate(data.issues, start=1)
    ], total=["", words["total"], str(sum(counted)), ""] if counted else None)

    heading(document, words["report_actions"], 1)
    table(document, [words["col_no"], words["col_item"], words["col_owner"], words["col_due"]], [
        [str(n), action.item, action.owner, (action.due or default_due(doc.actions_from, doc.action_due_days)).isoformat()]
        for n, action in enumerate(data.actions, start=1)
    ])

    heading(document, words["report_sign_off"], 1)
    for label in (words["prepared_by"], words["reviewed_by"], words["date"]):
        field_line(document, label, None)
    return to_bytes(document)
