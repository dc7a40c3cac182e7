"""The one rule-id scheme of referee, and the mapping from the ids older releases used.

Every rule of every part has an id of three capital letters and three digits (`RPL001`, `PRB101`, `BPA010`,
`LHG001`), the layout ruff and bandit use. The letters name the rule's family and say which part owns it; the
digits number rules inside a family. Older releases spelt bench rules `PA-01` and loophole summary findings
`LH-INPUT`; those spellings stay valid aliases for ever (stored audits, CI scripts, `referee rules PA-01`).

This module is pure string work with no imports from referee, so `report.py` can canonicalise a finding's rule id
when the finding is built, and a report read back from the store or a JSON file gets the same ids as a fresh one.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"^[A-Z]{3}\d{3}$")

#: bench ids of the form GROUP-NN[x] (research-note numbering); canonical: B + GROUP + NN*10 + letter index.
_BENCH_LEGACY = re.compile(r"^(EV|BL|PA|BU|PR|HA)-(\d{2})([a-i]?)$")

#: loophole findings had word ids; the per-mode exploit ids follow loopholes.modes.MODES order.
LOOPHOLE_LEGACY = {
    "LH-INPUT": "LHG001",
    "LH-GRADING": "LHG002",
    "LH-TAMPER": "LHG003",
    "LH-SELFCHECK": "LHS001",
    "LH-EXPLOIT-RT": "LHX001",
    "LH-EXPLOIT-EQ": "LHX002",
    "LH-EXPLOIT-XC": "LHX003",
    "LH-EXPLOIT-SO": "LHX004",
    "LH-EXPLOIT-SN": "LHX005",
    "LH-EXPLOIT-FM": "LHX006",
}


def legacy_bench_id(legacy: str) -> str | None:
    """`PA-01` -> `BPA010`, `PA-01b` -> `BPA012`; None when `legacy` is not an old bench id.

    NN*10 leaves room for a lettered companion rule (PA-01b sits next to PA-01) without ever colliding.
    """
    match = _BENCH_LEGACY.match(legacy)
    if match is None:
        return None
    group, number, letter = match.groups()
    offset = ord(letter) - ord("a") + 1 if letter else 0
    return f"B{group}{int(number) * 10 + offset:03d}"


def canonical_id(rule_id: str) -> str:
    """The current id for `rule_id` (an id in today's scheme, or an old alias); anything else comes back as is.

    Case-insensitive for ids users type (`rpl001`, `pa-01`); exact otherwise, so an unknown id is never invented.
    """
    if not isinstance(rule_id, str):
        return rule_id
    text = rule_id.strip()
    upper = text.upper()
    if ID_PATTERN.match(upper):
        return upper
    if upper in LOOPHOLE_LEGACY:
        return LOOPHOLE_LEGACY[upper]
    bench = legacy_bench_id(upper[:-1] + upper[-1].lower() if upper[-1:].isalpha() else upper)
    return bench if bench is not None else rule_id


def is_canonical(rule_id: str) -> bool:
    return bool(ID_PATTERN.match(rule_id))
