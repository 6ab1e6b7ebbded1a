"""Export history: counts and header of each export, and the rows NDTMS last received.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A store that is marked with an older revision but already has these columns or this
table (for example one put back from a copy) is upgraded without error.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("episodes", sa.Integer(), "0"),
    ("held_back", sa.Integer(), "0"),
    ("header", sa.Text(), "[]"),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("export_batches")}
    missing = [c for c in NEW_COLUMNS if c[0] not in have]
    if missing:
        with op.batch_alter_table("export_batches", schema=None) as batch_op:
            for name, kind, default in missing:
                batch_op.add_column(sa.Column(name, kind, server_default=default, nullable=False))

    if not inspector.has_table("exported_values"):
        op.create_table(
            "exported_values",
            sa.Column("episode_id", sa.String(length=32), nullable=False),
            sa.Column("dataset", sa.String(length=16), nullable=False),
            sa.Column("batch_id", sa.String(length=32), nullable=False),
            sa.Column("exported_at", sa.DateTime(), nullable=False),
            sa.Column("fields", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["batch_id"],
                ["export_batches.id"],
                name=op.f("fk_exported_values_batch_id_export_batches"),
            ),
            sa.ForeignKeyConstraint(
                ["episode_id"],
                ["episodes.id"],
                name=op.f("fk_exported_values_episode_id_episodes"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_exported_values")),
        )


def downgrade() -> None:
    op.drop_table("exported_values")
    with op.batch_alter_table("export_batches", schema=None) as batch_op:
        for name, _kind, _default in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
