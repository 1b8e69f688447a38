"""seal case text: follow-up outcomes, close reasons, close/reopen reasons

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 16:00:00

Import reports stored earlier get the rejection-reason redaction new reports have.

Reviewers' free text about a woman was stored in clear (``follow_up.outcome``,
``case_record.close_reason``, ``case_event.detail`` of close/reopen events). It is sealed
like the follow-up notes (mch_service.crypto, the same associated data as the service uses),
existing rows included, and the clear columns are dropped. Rows that exist need
``MCH_SECRET_KEY`` in the migrating process's environment (as ``mch-service migrate`` has).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _crypto():  # type: ignore[no-untyped-def]
    from mch_service.config import get_settings
    from mch_service.crypto import Crypto

    settings = get_settings()
    return Crypto(settings.secret_key, settings.previous_secret_keys)


def upgrade() -> None:
    from mch_service.cases.sealing import close_reason_aad, event_reason_aad, outcome_aad

    with op.batch_alter_table("follow_up") as batch_op:
        batch_op.add_column(sa.Column("outcome_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("case_record") as batch_op:
        batch_op.add_column(sa.Column("close_reason_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("case_event") as batch_op:
        batch_op.add_column(sa.Column("reason_sealed", sa.LargeBinary(), nullable=True))

    conn = op.get_bind()
    follow_up = sa.table(
        "follow_up",
        sa.column("id", _PK),
        sa.column("pregnancy_id", sa.String),
        sa.column("outcome", sa.String),
        sa.column("outcome_sealed", sa.LargeBinary),
    )
    case = sa.table(
        "case_record",
        sa.column("pregnancy_id", sa.String),
        sa.column("close_reason", sa.Text),
        sa.column("close_reason_sealed", sa.LargeBinary),
    )
    event = sa.table(
        "case_event",
        sa.column("id", _PK),
        sa.column("pregnancy_id", sa.String),
        sa.column("action", sa.String),
        sa.column("detail", sa.Text),
        sa.column("reason_sealed", sa.LargeBinary),
    )
    crypto = None
    for fid, pid, outcome in conn.execute(
        sa.select(follow_up.c.id, follow_up.c.pregnancy_id, follow_up.c.outcome)
    ).all():
        crypto = crypto or _crypto()
        conn.execute(
            follow_up.update()
            .where(follow_up.c.id == fid)
            .values(outcome_sealed=crypto.seal((outcome or "").encode(), outcome_aad(pid)))
        )
    for pid, reason in conn.execute(
        sa.select(case.c.pregnancy_id, case.c.close_reason).where(case.c.close_reason.is_not(None))
    ).all():
        crypto = crypto or _crypto()
        conn.execute(
            case.update()
            .where(case.c.pregnancy_id == pid)
            .values(close_reason_sealed=crypto.seal(reason.encode(), close_reason_aad(pid)))
        )
    for eid, pid, detail in conn.execute(
        sa.select(event.c.id, event.c.pregnancy_id, event.c.detail).where(
            event.c.action.in_(("close", "reopen")), event.c.detail.is_not(None)
        )
    ).all():
        crypto = crypto or _crypto()
        conn.execute(
            event.update()
            .where(event.c.id == eid)
            .values(detail=None, reason_sealed=crypto.seal(detail.encode(), event_reason_aad(pid)))
        )

    _redact_import_reports(conn)

    with op.batch_alter_table("follow_up") as batch_op:
        batch_op.alter_column("outcome_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("outcome")
    with op.batch_alter_table("case_record") as batch_op:
        batch_op.drop_column("close_reason")


def _redact_import_reports(conn: sa.Connection) -> None:
    """Reports stored before rejection reasons were redacted may quote a resident ID or a
    phone number (in a conditional reference, say): the same redaction, from the text alone
    (the lines themselves are gone)."""
    import json

    from mch_service.fhir_api.bulk import redact

    job = sa.table("import_job", sa.column("id", sa.String), sa.column("report", sa.Text))
    for jid, report in conn.execute(
        sa.select(job.c.id, job.c.report).where(job.c.report.is_not(None))
    ).all():
        data = json.loads(report)
        for error in data.get("errors") or []:
            if isinstance(error.get("reason"), str):
                error["reason"] = redact(error["reason"])
        conn.execute(
            job.update().where(job.c.id == jid).values(report=json.dumps(data, ensure_ascii=False))
        )


def downgrade() -> None:
    # The clear columns come back empty: unsealing needs the key, and a downgrade is for a
    # schema rollback, not for taking personal data out of its seal.
    with op.batch_alter_table("case_record") as batch_op:
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("follow_up") as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.drop_column("outcome_sealed")
    with op.batch_alter_table("case_record") as batch_op:
        batch_op.drop_column("close_reason_sealed")
    with op.batch_alter_table("case_event") as batch_op:
        batch_op.drop_column("reason_sealed")
