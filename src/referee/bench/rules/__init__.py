"""Rule catalogue of the benchmark-claim auditor, one module per concern; importing this registers them all."""

from referee.bench.rules import (  # noqa: F401 - imported for registration
    attribution,
    baseline,
    bundle,
    contention,
    correctness,
    delta,
    evidence,
    harness,
    isolated,
    profile,
    reported,
)
from referee.bench.rules.registry import ACTION_PRECEDENCE, ACTIONS, RULES, SCOPES, RuleSpec, for_scope

__all__ = ["ACTIONS", "ACTION_PRECEDENCE", "RULES", "SCOPES", "RuleSpec", "for_scope"]
