"""The purposes of access requests and grants (pure; the CLI imports it without the catalog).

``read``: read and view the record. ``amend``: read and view it and file new versions, for a
user whose role may file versions of that record type (see :mod:`access.policy`).
"""

from __future__ import annotations

from typing import Literal, get_args

PurposeName = Literal["read", "amend"]


class Purpose:
    READ: PurposeName = "read"
    AMEND: PurposeName = "amend"
    ALL: tuple[PurposeName, ...] = get_args(PurposeName)
