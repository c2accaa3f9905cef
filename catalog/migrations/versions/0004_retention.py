"""Retention: trigger dates, Object Lock dates and storage classes, legal holds, disposal requests.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("retain_from", sa.Date()))
        batch.add_column(sa.Column("disposal_id", sa.Integer()))
        batch.add_column(sa.Column("disposed_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("storage_class", sa.String(32)))
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_name", sa.String(64), nullable=False, index=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(128), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(128)),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("release_reason", sa.Text()),
    )
    op.create_table(
        "disposal_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "disposal_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("disposal_requests.id"), nullable=False, index=True),
        sa.Column("record_name", sa.String(64), nullable=False, index=True),
        sa.Column("certificate_seq", sa.Integer()),
    )


def downgrade() -> None:
    op.drop_table("disposal_items")
    op.drop_table("disposal_requests")
    op.drop_table("holds")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("storage_class")
        batch.drop_column("locked_until")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("disposed_at")
        batch.drop_column("disposal_id")
        batch.drop_column("retain_from")
