"""The meeting minutes document: meeting details, topics, discussion and results, action plan,
follow-up of the last meeting's unexecuted decisions, sign-off. Empty parts become a form to fill in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from paperwork.data import FollowUp, MinutesInput
from paperwork.docx_style import (
    field_line,
    header_and_footer,
    heading,
    new_document,
    paragraph,
    table,
    to_bytes,
)
from paperwork.register import MeetingSlot
from paperwork.wording import LABELS, WEEKDAY_NAMES
from schedules.paperwork import default_due


@dataclass(frozen=True)
class MinutesDocument:
    """Everything the minutes show; ``meeting`` None makes a blank form."""

    data: MinutesInput
    meeting: MeetingSlot | None
    follow_up: Sequence[FollowUp]
    lang: str
    tz: tzinfo
    action_due_days: int
    created: datetime


def meeting_time(moment: datetime, tz: tzinfo, lang: str) -> str:
    """``2026-11-06 15:00 (周五)``: the local time and weekday of the meeting."""
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} ({WEEKDAY_NAMES[lang][local.weekday()]})"


def due_dates(doc: MinutesDocument) -> list[date | None]:
    """Each action's due date: as given, else the configured number of days after the meeting."""
    base = doc.meeting.at.astimezone(doc.tz).date() if doc.meeting else None
    return [
        action.due or (default_due(base, doc.action_due_days) if base else None) for action in doc.data.actions
    ]


def build_minutes(doc: MinutesDocument, title: str, record_name: str | None = None) -> bytes:
    words = LABELS[doc.lang]
    data, meeting = doc.data, doc.meeting
    document = new_document(doc.lang, title, doc.created)
    header_and_footer(document, f"{record_name}  {title}" if record_name else title, words["page"])
    heading(document, f"{words['department']}{words['minutes_title']}" if doc.lang == "zh"
            else f"{words['department']}: {words['minutes_title']}", 0)

    field_line(document, words["meeting"], meeting.name if meeting else None)
    field_line(document, words["when"], meeting_time(meeting.at, doc.tz, doc.lang) if meeting else None)
    field_line(document, words["place"], data.place or (meeting.place if meeting else None))
    field_line(document, words["chair"], data.chair)
    field_line(document, words["attendees"], ("、" if doc.lang == "zh" else ", ").join(data.attendees) or None)
    field_line(document, words["recorder"], data.recorder)

    heading(document, words["topics"], 1)
    table(document, [words["col_no"], words["col_topic"]],
          [[str(n), topic.title] for n, topic in enumerate(data.topics, start=1)])

    heading(document, words["discussion"], 1)
    table(document, [words["col_topic"], words["col_discussion"], words["col_result"]],
          [[topic.title, topic.discussion, topic.result] for topic in data.topics])

    heading(document, words["actions"], 1)
    table(document, [words["col_no"], words["col_item"], words["col_owner"], words["col_due"]], [
        [str(n), action.item, action.owner, due.isoformat() if due else ""]
        for n, (action, due) in enumerate(zip(data.actions, due_dates(doc), strict=True), start=1)
    ])
    paragraph(document, words["actions_note"].format(days=doc.action_due_days))

    heading(document, words["follow_up"], 1)
    if meeting and not doc.follow_up:
        paragraph(document, words["follow_up_none"])
    else:
        table(document, [words["col_item"], words["col_owner"], words["col_was_due"], words["col_explanation"]], [
            [item.item, item.owner, item.due.isoformat() if item.due else "", item.explanation]
            for item in doc.follow_up
        ])

    heading(document, words["sign_off"], 1)
    for label in (words["chair_sign"], words["recorder_sign"], words["date"]):
        field_line(document, label, None)
    return to_bytes(document)
