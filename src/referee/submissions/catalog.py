"""Rulebook entries for findings the submission audit itself raises (not a static rule, not a probe)."""

from __future__ import annotations

from referee import rulebook
from referee.report import Verdict

rulebook.register(rulebook.RuleSpec(
    id="AUD001", part="submissions", title="Submission too large to audit", verdict=Verdict.FAIL,
    action="filter: resubmit without padding or embedded payloads; kernels this large are not audited",
    what="Reports a submission longer than the audit's size limit; it is not analysed at all.",
    why="Megabytes of source are a way to push a payload past analysers with size limits; real kernels are far "
        "smaller.",
    family="Audit engine"))

rulebook.register(rulebook.RuleSpec(
    id="LLM001", part="submissions", title="LLM second opinion: possible cheating", verdict=Verdict.FLAG,
    action="review: an LLM's opinion is a lead for a human, not evidence",
    what="Reports that the optional LLM reviewer (`--llm`) judged the submission suspicious or cheating.",
    why="A second opinion catches cheats no rule describes yet; it is never evidence on its own, so it can only "
        "FLAG.",
    known_problems="The model can be wrong either way, and text inside the submission may try to talk to it; the "
                   "rules and probes decide FAIL, never the LLM.",
    family="Audit engine"))
