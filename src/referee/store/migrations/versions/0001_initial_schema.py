"""initial schema: tasks, code_blobs, submissions, audits (the queue), reviews

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model types: a migration must not change when models.py changes later.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "code_blobs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("files", Json, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("code_id", BigId, nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("leaderboard", sa.String(length=200), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["code_id"], ["code_blobs.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(op.f("ix_submissions_code_id"), "submissions", ["code_id"], unique=False)
    op.create_index("ix_submissions_task_created", "submissions", ["task_id", "created_at"], unique=False)
    op.create_table(
        "audits",
        sa.Column("id", BigId, nullable=False),
        sa.Column("submission_id", BigId, nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("options", Json, nullable=False),
        sa.Column("task_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        _ts("not_before"),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        _ts("lease_until", nullable=True),
        _ts("heartbeat_at", nullable=True),
        sa.Column("verdict", sa.String(length=10), nullable=True),
        sa.Column("findings", Json, nullable=True),
        sa.Column("report", Json, nullable=True),
        sa.Column("timings", Json, nullable=True),
        sa.Column("llm_model", sa.String(length=200), nullable=True),
        sa.Column("llm_verdict", sa.String(length=20), nullable=True),
        sa.Column("llm_reasoning", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("run_s", sa.Float(), nullable=True),
        sa.Column("review_decision", sa.String(length=20), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        _ts("reviewed_at", nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audits_current_verdict", "audits", ["is_current", "verdict"], unique=False)
    op.create_index("ix_audits_lease", "audits", ["status", "lease_until"], unique=False)
    op.create_index("ix_audits_queue", "audits", ["status", "priority", "id"], unique=False)
    op.create_index("ix_audits_submission", "audits", ["submission_id", "id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", BigId, nullable=False),
        sa.Column("audit_id", BigId, nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reviews_audit_id"), "reviews", ["audit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reviews_audit_id"), table_name="reviews")
    op.drop_table("reviews")
    for name in ("ix_audits_submission", "ix_audits_queue", "ix_audits_lease", "ix_audits_current_verdict"):
        op.drop_index(name, table_name="audits")
    op.drop_table("audits")
    op.drop_index("ix_submissions_task_created", table_name="submissions")
    op.drop_index(op.f("ix_submissions_code_id"), table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("tasks")
    op.drop_table("code_blobs")
