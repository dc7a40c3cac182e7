"""The trusted side of the probes, without a sandbox: plan, comparison, snapshot diffs, frame protocol."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from referee.sandbox import RunResult
from referee.submissions.probes.codec import FULL_LIMIT, compare, level1, level2, same_signature
from referee.submissions.probes.handler import ProbeSupervisor
from referee.submissions.probes.integrity import diff_snapshots
from referee.submissions.probes.plan import build_plan


def tensor(values, dtype="float32", shape=None) -> dict:
    array = np.asarray(values, dtype=dtype)
    return {"t": "tensor", "cls": "torch.Tensor", "dtype": dtype, "shape": list(shape or array.shape),
            "count": int(array.size), "r": 0, "data": base64.b64encode(array.tobytes()).decode()}


# -- plan ------------------------------------------------------------------------------------------------------
def test_plan_uses_unseen_seeds_and_orders_probes_like_the_cheat_catalogue(tasks):
    task = tasks["vectoradd_py"]
    plan = build_plan(task, seed=3, soak_calls=4)
    public = {s["seed"] for s in task.tests + task.benchmarks}
    fresh = [c for c in plan["cases"] if c["role"] == "fresh"]
    assert fresh and all(c["args"]["seed"] not in public for c in fresh)
    assert build_plan(task, seed=3, soak_calls=4) == plan  # reproducible from the recorded seed
    assert build_plan(task, seed=4, soak_calls=4)["cases"] != plan["cases"]
    probes = [s["probe"] for s in plan["steps"]]
    assert probes[0] == "first_call" and probes[-1] == "last_call"
    assert probes.count("soak") == 4 and {"replay", "mutated", "tail", "interleave", "fresh_seed", "perturbed",
                                          "mode", "late_write"} <= set(probes)
    mutated = next(s for s in plan["steps"] if s["probe"] == "mutated")
    assert mutated["obj"] == "s" and mutated["refill"]  # same object, new values
    perturbed = [c for c in plan["cases"] if c["role"] == "perturbed"]
    assert perturbed[0]["args"]["size"] == 128 and perturbed[1]["args"]["size"] == 128  # 127 -> 128, 256 -> 128


# -- comparison -----------------------------------------------------------------------------------------------
def test_compare_accepts_float_noise_and_rejects_wrong_values():
    ref = tensor([1.0, 2.0, 3.0, 4.0])
    assert compare(ref, tensor([1.0, 2.0, 3.0, 4.000001]), 1e-2).ok
    bad = compare(ref, tensor([1.0, 2.0, 3.0, 5.0]), 1e-2)
    assert not bad.ok and "max abs error" in bad.reason
    assert not compare(ref, tensor([1.0, 2.0, float("nan"), 4.0]), 1e-2).ok
    assert "shape" in compare(ref, tensor([1.0, 2.0, 3.0, 4.0], shape=[2, 2]), 1e-2).reason
    # another float dtype is judged by its values (the task's checker decides on the dtype itself) ...
    assert compare(ref, tensor([1, 2, 3, 4], dtype="float64"), 1e-2).ok
    assert not compare(ref, tensor([1, 2, 3, 5], dtype="float64"), 1e-2).ok
    # ... an integer answer for a float reference is still a wrong type
    assert "dtype" in compare(ref, tensor([1, 2, 3, 4], dtype="int64"), 1e-2).reason
    assert not compare(ref, {"t": "scalar", "cls": "builtins.NoneType", "v": None}, 1e-2).ok


def test_compare_catches_one_stale_element_in_a_large_output():
    values = np.linspace(-1, 1, 10_000)
    stale = values.copy()
    stale[-1] += 0.5  # relative L2 error ~0.009 would pass; the element check does not
    assert not compare(tensor(values), tensor(stale), 1e-2).ok


def test_compare_handles_containers_and_forged_payloads():
    ref = {"t": "tuple", "cls": "builtins.tuple", "items": [tensor([1.0]), {"t": "scalar", "cls": "int", "v": 3}]}
    good = {"t": "list", "cls": "builtins.list", "items": [tensor([1.0]), {"t": "scalar", "cls": "int", "v": 3}]}
    assert compare(ref, good, 1e-3).ok
    forged = tensor([1.0])
    forged["data"] = "!!not base64!!"
    assert "unreadable" in compare(tensor([1.0]), forged, 1e-3).reason
    assert same_signature(tensor([1.0, 2.0]), tensor([3.0, 4.0]))
    assert not same_signature(tensor([1.0, 2.0]), tensor([1.0]))


def test_sample_positions_are_strided_with_a_secret_offset():
    assert level1(100, 12345) == (0, 1, 100)
    offset, stride, count = level1(FULL_LIMIT * 4, 12345)
    assert stride == 4 and count == FULL_LIMIT and offset == 12345 % 4
    assert level2(FULL_LIMIT, 70)[2] == 512


# -- snapshots ------------------------------------------------------------------------------------------------
def test_snapshot_diff_classifies_what_changed():
    before = {"time.perf_counter": "o1:2", "torch.matmul": "o3", "torch.nn.functional.relu": "o4",
              "sys.modules[reference]": "m5", "torch.settings.allow_tf32": "vFalse",
              "torch.settings.function_modes": "v0", "torch._private": "p", "torch.cuda": "m9"}
    after = {"time.perf_counter": "o1:77", "torch.matmul": "o3", "torch.nn.functional.relu": "o8",
             "sys.modules[reference]": "o6", "torch.settings.allow_tf32": "vTrue",
             "torch.settings.function_modes": "v1", "torch._private": "p", "torch.cuda": "m10",
             "torch._stash": "p", "sys.modules[numba]": "m11", "reference.extra": "o12"}
    got = {c["key"]: c["category"] for c in diff_snapshots(before, after)}
    assert got == {"time.perf_counter": "critical", "torch.nn.functional.relu": "minor",
                   "sys.modules[reference]": "modules", "torch.settings.allow_tf32": "settings",
                   "torch.settings.function_modes": "modes", "torch._stash": "minor", "reference.extra": "critical"}


def test_adding_to_sys_path_is_fine_removing_is_not():
    before = {"sys.path": "v/work\x00/usr/lib/python3.11"}
    assert diff_snapshots(before, {"sys.path": "v/tmp/build\x00/work\x00/usr/lib/python3.11"}) == []
    assert diff_snapshots(before, {"sys.path": "v/usr/lib/python3.11"})[0]["key"] == "sys.path"


# -- frame protocol -------------------------------------------------------------------------------------------
def supervisor(task, steps: int = 2) -> ProbeSupervisor:
    plan = build_plan(task, seed=1, soak_calls=0)
    plan["steps"] = plan["steps"][:steps]
    plan["settings"] = {"max_rel_error": 1e-2, "compare": "elementwise", "precision_rel_error": 1e-4}
    return ProbeSupervisor(plan)


def trusted_start(sup: ProbeSupervisor, out: dict) -> None:
    sup.on_message({"k": "hello", "nonce": "n1"})
    for case in sup.plan["cases"]:
        sup.on_message({"k": "ref", "case": case["id"], "out": out, "in_hash": "h", "self_check": [True, ""]})
    sup.on_message({"k": "snap-pre", "snap": {"time.time": "o1"}})
    sup.on_message({"k": "import_begin"})
    sup.on_message({"k": "import_end", "ok": True, "nonce": "n1"})


def call(i: int, out: dict, nonce: str = "n1") -> dict:
    return {"k": "call", "i": i, "nonce": nonce, "in_hash_before": "h", "in_hash_after": "h", "out": out,
            "check": [True, ""], "seconds": 0.001}


def test_a_clean_run_is_judged_by_the_handler_not_by_the_child(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    trusted_start(sup, tensor([1.0, 2.0]))
    sup.on_message(call(0, tensor([1.0, 2.0])))
    sup.on_message(call(1, tensor([9.0, 9.0])))  # the child's checker says ok; the handler knows better
    sup.on_message({"k": "snap", "phase": "post_calls", "snap": {"time.time": "o1"}, "nonce": "n1"})
    sup.on_message({"k": "done", "nonce": "n1"})
    outcome = sup.finish(RunResult(status="ok", exit_code=0))
    assert not sup.got.violations
    assert [r["status"] for r in sup.got.records] == ["ok", "wrong"]
    assert {f["rule"] for f in outcome["findings"]} == {"PRB101"}


@pytest.mark.parametrize(("forged", "why"), [
    ({"k": "call", "i": 0, "nonce": "guess"}, "without the run's nonce"),
    ({"k": "ref", "case": "T0", "out": {}}, "trusted frame kind 'ref'"),
    ({"k": "snap-pre", "snap": {}}, "trusted frame kind"),
    ({"k": "call", "i": 5, "nonce": "n1"}, "where step 0 was due"),
    ({"k": "import_end", "ok": True, "nonce": "n1"}, "duplicate or out of order"),
    ({"__invalid__": "check: pass"}, "not a JSON object"),
    ("check: pass", "not a JSON object"),
])
def test_forged_or_out_of_order_frames_are_violations(tasks, forged, why):
    sup = supervisor(tasks["vectoradd_py"])
    trusted_start(sup, tensor([1.0]))
    sup.on_message(forged)
    assert any(why in v for v in sup.got.violations), sup.got.violations
    outcome = sup.finish(RunResult(status="ok", exit_code=0))
    assert "PRB401" in {f["rule"] for f in outcome["findings"]}


def test_a_duplicate_call_frame_is_caught_even_with_the_right_nonce(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    trusted_start(sup, tensor([1.0]))
    sup.on_message(call(0, tensor([1.0])))  # forged "clean" answer for step 0 (nonce read from memory)
    sup.on_message(call(0, tensor([5.0])))  # the driver's real frame for step 0
    assert sup.got.violations == ["call frame 0 where step 1 was due"]


def test_missing_hello_means_degraded_never_a_verdict(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    outcome = sup.finish(RunResult(status="crashed", error="fork server died"))
    assert outcome["degraded"] and outcome["status"] == "degraded" and not outcome["findings"]


def test_a_broken_task_reference_is_degraded(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    sup.on_message({"k": "hello", "nonce": "n"})
    sup.on_message({"k": "task_error", "where": "importing reference.py", "error": "NameError: x"})
    outcome = sup.finish(RunResult(status="ok", exit_code=0))
    assert outcome["degraded"] and "reference failed" in outcome["notes"][0]


def test_an_early_forged_done_is_refused(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    trusted_start(sup, tensor([1.0]))
    sup.on_message({"k": "done", "nonce": "n1"})
    assert not sup.got.done and sup.got.violations
    sup.on_message(call(0, tensor([2.0])))  # the real evidence keeps arriving and is still judged
    assert sup.got.records[0]["status"] == "wrong"


def test_the_process_ending_mid_run_is_an_early_exit(tasks):
    sup = supervisor(tasks["vectoradd_py"])
    trusted_start(sup, tensor([1.0]))
    sup.on_message(call(0, tensor([1.0])))
    outcome = sup.finish(RunResult(status="ok", exit_code=0))
    early = [f for f in outcome["findings"] if f["rule"] == "PRB403"]
    assert early and "during call 1" in early[0]["message"]


def test_events_inside_kernel_compilers_are_not_the_submissions_own():
    """load_inline runs g++/ninja and writes a build folder for honest kernels; the same call made directly by
    the submission is recorded."""
    from referee.submissions.probes.hooks import Recorder

    recorder = Recorder("/work/submission.py")
    recorder.active = True
    namespace = {"recorder": recorder}
    exec(compile("def build():\n    recorder.hook('subprocess.Popen', ('g++',))\n",
                 "/venv/torch/utils/cpp_extension.py", "exec"), namespace)
    exec(compile("def via_compiler():\n    build()\n"
                 "def direct():\n    recorder.hook('subprocess.Popen', ('sh',))\n", "/work/submission.py", "exec"),
         namespace)
    namespace["via_compiler"]()
    assert recorder.events == []
    namespace["direct"]()
    assert [e[0] for e in recorder.events] == ["subprocess.Popen"] and recorder.events[0][3] == 4
