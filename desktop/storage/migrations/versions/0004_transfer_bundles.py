"""Transfer bundles: bundles sent and received, merge stamps and conflicts, other stores'
audit events, continuity-of-care handovers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Each table is made only if it is missing, so a store marked with an older revision that
already has them (for example one put back from a copy) is upgraded without error.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    "transfer_bundles",
    "merge_stamps",
    "merge_conflicts",
    "source_audit_events",
    "handovers",
)


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())

    if "transfer_bundles" not in have:
        op.create_table(
            "transfer_bundles",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("direction", sa.String(length=8), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("peer_store", sa.String(length=32), nullable=False),
            sa.Column("peer_agency", sa.String(length=16), nullable=False),
            sa.Column("peer_key", sa.String(length=64), nullable=False),
            sa.Column("sequence", sa.Integer(), nullable=False),
            sa.Column("full", sa.Boolean(), nullable=False),
            sa.Column("audit_seq", sa.Integer(), nullable=False),
            sa.Column("audit_hash", sa.String(length=64), nullable=True),
            sa.Column("sealed_at", sa.DateTime(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("user_id", sa.String(length=32), nullable=False),
            sa.Column("counts", sa.Text(), nullable=False),
            sa.CheckConstraint(
                "direction IN ('sent', 'received')", name=op.f("ck_transfer_bundles_direction")
            ),
            sa.CheckConstraint(
                "kind IN ('team', 'handover')", name=op.f("ck_transfer_bundles_kind")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_bundles")),
        )
        with op.batch_alter_table("transfer_bundles", schema=None) as batch_op:
            batch_op.create_index(
                "ix_transfer_bundles_peer", ["direction", "peer_key", "sequence"], unique=False
            )

    if "merge_stamps" not in have:
        op.create_table(
            "merge_stamps",
            sa.Column("entity", sa.String(length=40), nullable=False),
            sa.Column("record_id", sa.String(length=32), nullable=False),
            sa.Column("stamps", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("entity", "record_id", name=op.f("pk_merge_stamps")),
        )

    if "merge_conflicts" not in have:
        op.create_table(
            "merge_conflicts",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("bundle_id", sa.String(length=32), nullable=False),
            sa.Column("entity", sa.String(length=40), nullable=False),
            sa.Column("record_id", sa.String(length=32), nullable=False),
            sa.Column("episode_id", sa.String(length=32), nullable=True),
            sa.Column("field", sa.String(length=64), nullable=False),
            sa.Column("local_value", sa.Text(), nullable=False),
            sa.Column("local_at", sa.DateTime(), nullable=True),
            sa.Column("local_user", sa.String(length=32), nullable=True),
            sa.Column("local_store", sa.String(length=32), nullable=True),
            sa.Column("incoming_value", sa.Text(), nullable=False),
            sa.Column("incoming_at", sa.DateTime(), nullable=True),
            sa.Column("incoming_user", sa.String(length=32), nullable=True),
            sa.Column("incoming_store", sa.String(length=32), nullable=True),
            sa.Column("applied", sa.String(length=8), nullable=False),
            sa.Column("status", sa.String(length=12), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("resolved_at", sa.DateTime(), nullable=True),
            sa.Column("resolved_by", sa.String(length=32), nullable=True),
            sa.CheckConstraint(
                "applied IN ('local', 'incoming')", name=op.f("ck_merge_conflicts_applied")
            ),
            sa.CheckConstraint(
                "status IN ('open', 'local', 'incoming', 'superseded')",
                name=op.f("ck_merge_conflicts_status"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_conflicts")),
        )
        with op.batch_alter_table("merge_conflicts", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_merge_conflicts_record_id"), ["record_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_merge_conflicts_status"), ["status"], unique=False)

    if "source_audit_events" not in have:
        op.create_table(
            "source_audit_events",
            sa.Column("source_store", sa.String(length=32), nullable=False),
            sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("user_id", sa.String(length=32), nullable=True),
            sa.Column("action", sa.String(length=32), nullable=False),
            sa.Column("entity", sa.String(length=32), nullable=False),
            sa.Column("entity_id", sa.String(length=32), nullable=True),
            sa.Column("changes", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("source_store", "seq", name=op.f("pk_source_audit_events")),
        )

    if "handovers" not in have:
        op.create_table(
            "handovers",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("direction", sa.String(length=8), nullable=False),
            sa.Column("client_id", sa.String(length=32), nullable=False),
            sa.Column("episode_id", sa.String(length=32), nullable=True),
            sa.Column("source_client_id", sa.String(length=32), nullable=False),
            sa.Column("peer_agency", sa.String(length=16), nullable=False),
            sa.Column("peer_kind", sa.String(length=16), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("user_id", sa.String(length=32), nullable=False),
            sa.Column("sheet", sa.Text(), nullable=True),
            sa.Column("mapped", sa.Text(), nullable=False),
            sa.CheckConstraint(
                "direction IN ('sent', 'received')", name=op.f("ck_handovers_direction")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        )
        with op.batch_alter_table("handovers", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_handovers_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
