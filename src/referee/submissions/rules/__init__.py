"""Static rules for cheating GPU-kernel submissions.

Public API (used by the audit engine, the CLI and `--api-mode`):
- `run_static(code, filename="submission.py") -> list[Finding]`: never raises.
- `all_rules() -> list[Rule]`, `get_rule(rule_id) -> Rule`: the registry, with each rule's id, title, why,
  action, verdict (FAIL for unambiguous evidence, FLAG for suspicion), family and KernelGuard equivalents.

One module per cheat family registers its rules at import; importing this package loads them all.
"""

from referee.submissions.rules import (  # noqa: F401  (imported for their @rule registrations)
    concurrency,
    dynamic_code,
    hard_coding,
    harness_patching,
    input_mutation,
    introspection,
    lazy_output,
    meta,
    native,
    precision,
    reference,
    replay,
    result_channel,
    shortcuts,
    sniffing,
    torch_tampering,
    uninitialised,
)
from referee.submissions.rules.engine import analyse, run_static, scan_records, verdict_of
from referee.submissions.rules.registry import FAMILIES, Hit, Rule, all_rules, get_rule, rule

__all__ = ["FAMILIES", "Hit", "Rule", "all_rules", "analyse", "get_rule", "rule", "run_static", "scan_records",
           "verdict_of"]
