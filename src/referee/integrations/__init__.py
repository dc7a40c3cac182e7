"""Drop-in adapters for the frameworks referee's users already run.

`referee.integrations.trl` (GRPOTrainer reward function), `.verl` (compute_score, single and batched),
`.rlrewardhacking` (the reward class its configs name), `.reward_server` (`referee loopholes serve`, OpenRLHF's
remote reward model wire format), `.kernelbot` (registering reference-kernels tasks with the audit service).
Every adapter returns the foolable reward; `gt_correct` and the detector flags are only ever logged.
See docs/integrations.md.
"""
