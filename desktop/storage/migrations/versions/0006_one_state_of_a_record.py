"""One state of a record: the episodes' draft flag goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

What the worker saved is the record: an episode saved as the worker went used to be marked
a draft until Ctrl+S, and the month's file left it out. From this revision every saved
episode is counted by Check and sent when it passes. Episodes already exported were never
drafts, so nothing a manager has sent is classified differently.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("episodes")}
    if "draft" in have:  # a store made at this layout never had it
        op.execute("ALTER TABLE episodes DROP COLUMN draft")


def downgrade() -> None:
    op.execute("ALTER TABLE episodes ADD COLUMN draft BOOLEAN NOT NULL DEFAULT 0")
