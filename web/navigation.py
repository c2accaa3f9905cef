"""The navigation: which parts of the web interface a logged-in user is offered.

Data and rules only, imported by the session and the pages; it imports no page. Showing a
link decides nothing: every action is still decided by ``operations/`` when it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from operations.context import Context
from paperwork.meetings import MINUTES_TYPE, REPORT_TYPE

COMPLIANCE_TYPES = (MINUTES_TYPE, REPORT_TYPE)  # the compliance page shows what these records hold


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as the pages present them: which parts of the interface to offer.

    ``may`` only chooses the links and buttons shown; every action is still decided by
    ``operations/`` when it is asked for.
    """

    name: str
    role: str
    may: frozenset[str]


def may_see_compliance(ctx: Context) -> bool:
    return all(ctx.allows("read", record_type=t) for t in COMPLIANCE_TYPES)


def viewer_of(ctx: Context) -> Viewer:
    def allows(action: str, record_type: str | None = None) -> bool:
        return ctx.policy.allows(None, ctx.actor, action, record_type=record_type)

    may = {action for action in ("list", "grant", "audit") if allows(action)}
    if any(allows("file", record_type) for record_type in ctx.archive.settings.records.types):
        may.add("file")
    if "list" in may:
        may.add("search")
    if may_see_compliance(ctx):
        may.add("compliance")
    return Viewer(ctx.actor.name, ctx.actor.role or "", frozenset(may))
