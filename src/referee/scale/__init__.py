"""Scale-out on Ray (optional extra `referee[ray]`): `RayExecutor` for loophole grading, `RayAuditExecutor` for
submission audits. Each Ray actor keeps its own warm fork-server sandbox; results come back in input order; an
item whose worker dies is retried on another. See docs/integrations.md ("Ray")."""

from referee.scale.cluster import RayUnavailable, connect, require_ray
from referee.scale.executors import AuditItem, RayAuditExecutor, RayExecutor

__all__ = ["AuditItem", "RayAuditExecutor", "RayExecutor", "RayUnavailable", "connect", "require_ray"]
