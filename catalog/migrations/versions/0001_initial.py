"""Initial catalog: counters, records, versions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("type", sa.String(32), primary_key=True),
        sa.Column("next_number", sa.Integer(), nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("title", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("void_reason", sa.Text()),
        sa.UniqueConstraint("year", "type", "number", name="uq_records_year_type_number"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("records.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("object_key", sa.String(256), nullable=False),
        sa.Column("s3_version_id", sa.String(256)),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False, index=True),
        sa.Column("size", sa.BigInteger()),
        sa.Column("stored_size", sa.BigInteger()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filename", sa.Text()),
        sa.Column("comment", sa.Text()),
        sa.Column("archived_at", sa.DateTime(timezone=True)),
        sa.Column("writer", sa.String(128)),
        sa.UniqueConstraint("record_id", "version", name="uq_versions_record_version"),
    )


def downgrade() -> None:
    op.drop_table("versions")
    op.drop_table("records")
    op.drop_table("counters")
