"""Meeting register: one-off meetings and cancellations, links of minutes/reports, action items.

Revision ID: 0003
Revises: 0002
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("place", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("name", "starts_at", name="uq_meetings_name_starts_at"),
    )
    op.create_table(
        "paperwork_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_name", sa.String(64), nullable=False, unique=True),
        sa.Column("meeting_name", sa.String(64)),
        sa.Column("meeting_at", sa.DateTime(timezone=True)),
        sa.Column("month", sa.String(7), index=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_name", sa.String(64), nullable=False, index=True),
        sa.Column("meeting_name", sa.String(64)),
        sa.Column("meeting_at", sa.DateTime(timezone=True)),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("done_by", sa.String(128)),
        sa.Column("note", sa.Text()),
    )
    register = op.create_table(
        "paperwork_register",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(register, [{"id": 1, "started_at": datetime.now(UTC).replace(microsecond=0)}])


def downgrade() -> None:
    op.drop_table("paperwork_register")
    op.drop_table("action_items")
    op.drop_table("paperwork_links")
    op.drop_table("meetings")
