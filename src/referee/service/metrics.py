"""`/metrics` in the Prometheus text exposition format (0.0.4), computed from the database at scrape time.

Workers are separate processes (possibly on other machines), so in-process counters would each see a slice; the
database sees everything. Every query here is an aggregate over indexed columns.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select

from referee import __version__
from referee.store.db import Store
from referee.store.models import REVIEW_DECISIONS, Audit, Review, Submission, utcnow

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
VERDICTS = ("PASS", "FLAG", "FAIL", "DEGRADED")
STATUSES = ("pending", "running", "done", "error")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, str], float]], suffix: str = "") -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.sample(name + suffix, labels, value)

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{label_text}}} {_fmt(value)}" if label_text else f"{name} {_fmt(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_metrics(store: Store) -> str:
    with store.read() as session:
        by_status = dict(session.execute(select(Audit.status, func.count()).group_by(Audit.status)).all())
        current = dict(session.execute(
            select(Audit.verdict, func.count()).where(Audit.is_current.is_(True), Audit.status == "done")
            .group_by(Audit.verdict)).all())
        completed = dict(session.execute(
            select(Audit.verdict, func.count()).where(Audit.status == "done").group_by(Audit.verdict)).all())
        bucket_cols = [func.coalesce(func.sum(case((Audit.latency_s <= b, 1), else_=0)), 0) for b in LATENCY_BUCKETS]
        latency = session.execute(
            select(func.count(), func.coalesce(func.sum(Audit.latency_s), 0.0), *bucket_cols)
            .where(Audit.status == "done", Audit.latency_s.is_not(None))).one()
        oldest = session.execute(select(func.min(Audit.created_at)).where(Audit.status == "pending")).scalar()
        submissions = session.execute(select(func.count()).select_from(Submission)).scalar_one()
        reviews = dict(session.execute(select(Review.decision, func.count()).group_by(Review.decision)).all())
        unreviewed = session.execute(
            select(func.count()).where(Audit.is_current.is_(True), Audit.status == "done",
                                       Audit.verdict.in_(("FAIL", "FLAG")), Audit.review_decision.is_(None))
        ).scalar_one()

    out = _Exposition()
    out.family("referee_build_info", "gauge", "referee version serving this endpoint.",
               [({"version": __version__}, 1)])
    out.family("referee_queue_depth", "gauge", "Audits waiting for or held by a worker.",
               [({"status": s}, by_status.get(s, 0)) for s in ("pending", "running")])
    out.family("referee_audits", "gauge", "Audits stored, by status (history included).",
               [({"status": s}, by_status.get(s, 0)) for s in STATUSES])
    out.family("referee_audits_current", "gauge", "Finished current audits (latest per submission), by verdict.",
               [({"verdict": v}, current.get(v, 0)) for v in VERDICTS])
    out.family("referee_audits_completed_total", "counter", "Finished audits, history included, by verdict.",
               [({"verdict": v}, completed.get(v, 0)) for v in VERDICTS])
    out.family("referee_audits_unreviewed", "gauge", "Current FAIL or FLAG audits no one has reviewed yet.",
               [({}, unreviewed)])
    out.family("referee_submissions_total", "counter", "Submissions stored.", [({}, submissions)])
    out.family("referee_reviews_total", "counter", "Reviews recorded, by decision.",
               [({"decision": d}, reviews.get(d, 0)) for d in REVIEW_DECISIONS])
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
    out.family("referee_oldest_pending_age_seconds", "gauge", "Age of the oldest pending audit (0 when none).",
               [({}, age)])
    count, total, *buckets = latency
    out.family("referee_audit_latency_seconds", "histogram",
               "Time from submission to a finished audit (queue wait plus run).", [])
    for bound, value in zip(LATENCY_BUCKETS, buckets, strict=True):
        out.sample("referee_audit_latency_seconds_bucket", {"le": _fmt(bound)}, int(value or 0))
    out.sample("referee_audit_latency_seconds_bucket", {"le": "+Inf"}, int(count or 0))
    out.sample("referee_audit_latency_seconds_sum", {}, float(total or 0.0))
    out.sample("referee_audit_latency_seconds_count", {}, int(count or 0))
    return out.text()
