"""Giving (or correcting) the date a record's retention counts from, after it was filed.

A contract's end date is often not known when it is filed; until it is given, the
contract has no retention date and cannot be disposed of. Setting the date needs the
``dispose`` right (managers and the director), is audited with the old and new date and
the reason, and lengthens the Object Lock of the record's versions at once when the new
retention date reaches further. A lock is never shortened: a correction to an earlier
date leaves the versions write-once until their existing lock date.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from archive.fields import REASON, required_text
from archive.records import find_record
from archive.retention_dates import schedule_for
from archive.service import utcnow
from audit import trail
from audit.actor import Actor
from catalog.schema import RecordState
from errors import Conflict, Forbidden, UsageError
from naming import parse_name
from retention.apply import extend_locks
from schedules.retention import ScheduleError, check_trigger

if TYPE_CHECKING:
    from access.policy import AccessPolicy
    from archive.service import Archive


def set_trigger(
    archive: Archive, policy: AccessPolicy, actor: Actor, name_text: str, day: date, reason: str
) -> int:
    """Set NAME's trigger date; return how many versions had their lock lengthened."""
    name = str(parse_name(name_text))
    reason = required_text(REASON, reason)
    try:
        with archive.catalog.write() as session:
            policy.require(session, actor, "dispose", record_name=name)
            record = find_record(session, parse_name(name))
            if record.state != RecordState.ACTIVE:
                raise Conflict(f"{name} is {record.state}; its retention can no longer change")
            try:
                check_trigger(schedule_for(archive.settings, record.type), day)
            except ScheduleError as exc:
                raise UsageError(str(exc)) from None
            previous = record.retain_from
            record.retain_from = day
            trail.append(session, actor=actor.name, action="retention.trigger", source=actor.source, record=name,
                         detail={"from": previous.isoformat() if previous else None, "to": day.isoformat(),
                                 "reason": reason})
    except Forbidden as exc:
        trail.refused(archive, actor, "retention.trigger", exc, record=name)
        raise
    return extend_locks(archive, utcnow(), name)
