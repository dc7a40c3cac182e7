"""Honest real-world look-alikes of the rules that still misfired on the real regression set in session 3 (issue
10: TF32 switches in nvfp4 entries, call counters, environment and module probes, checker scaffolding, group
outputs, bf16 in a loose task, a failed build ending the import), each next to the cheat it must still catch.

Fixtures are rewritten, shortened forms of public files (the shape kept, the code not copied); each names its
source as repository@commit:path. The real files are in benchmarks/data/real_submissions.manifest.jsonl.
"""

from __future__ import annotations

import textwrap

from submission_rule_helpers import assert_fires, assert_silent

from referee.report import Verdict
from referee.submissions.analysis.contract import task_contract
from referee.submissions.rules import run_static


def _rules(code: str, contract=None) -> set[str]:
    return {f.rule for f in run_static(textwrap.dedent(code), contract=contract)}


# After goldbar123467/nvfp4_dual_gemm@22a55a66:archive/python/submission_best.py: TF32 switched on out of habit in
# an fp4 dual GEMM whose only products are `torch._scaled_mm` on the task's fp4 inputs.
FP4_DUAL_GEMM_TF32 = """
import torch
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
def custom_kernel(data):
    a, b1, b2, sfa, sfb1, sfb2, _, _, _, c = data
    for i in range(c.shape[2]):
        r1 = torch._scaled_mm(a[:, :, i], b1[:, :, i].T, sfa, sfb1, out_dtype=torch.float32)
        r2 = torch._scaled_mm(a[:, :, i], b2[:, :, i].T, sfa, sfb2, out_dtype=torch.float32)
        c[:, :, i] = (torch.nn.functional.silu(r1) * r2).to(torch.float16)
    return c
"""


def test_tf32_in_an_fp4_gemm_entry_is_not_a_precision_switch_without_the_task():
    assert_silent("TAM001", FP4_DUAL_GEMM_TF32)


def test_tf32_with_a_float32_product_or_own_quantisation_still_flags():
    with_matmul = FP4_DUAL_GEMM_TF32.replace("    return c\n", "    return c + (a.float() @ b1.float().T)\n")
    assert_fires("TAM001", with_matmul)
    # quantising the task's (maybe float32) inputs itself: the task is not known to be fp8/fp4
    quantises = FP4_DUAL_GEMM_TF32.replace("a[:, :, i], b1", "a[:, :, i].to(torch.float8_e4m3fn), b1")
    assert_fires("TAM001", quantises)


# After the real nvidia/nvfp4_dual_gemm reference (gpu-mode/reference-kernels@f83cb92a): block-scaled products,
# float32 accumulators, and a scale layout indexed with a variable named `mm`.
NVFP4_DUAL_GEMM_REFERENCE = """
import torch
def ref_kernel(data):
    a, b1, b2, sfa, sfb1, sfb2, _, _, _, c = data
    r1 = torch._scaled_mm(a, b1.T, sfa, sfb1, out_dtype=torch.float32)
    r2 = torch._scaled_mm(a, b2.T, sfa, sfb2, out_dtype=torch.float32)
    c[...] = (torch.nn.functional.silu(r1) * r2).to(torch.float16)
    return c
def generate_input(m, n, k, l, seed):
    i_grid = torch.arange(m)
    mm = i_grid // 128
    scales = torch.rand((l, m), dtype=torch.float32).to(torch.float8_e4m3fn)
    return scales[mm]
check_implementation = make_match_reference(ref_kernel, rtol=1e-03, atol=1e-03)
"""


def test_the_fp4_task_contract_does_not_call_tf32_harmful():
    contract = task_contract(NVFP4_DUAL_GEMM_REFERENCE)
    assert not contract.tf32_sensitive
    assert "TAM001" not in _rules(FP4_DUAL_GEMM_TF32, contract)
    # a float32 convolution checked at rtol=1e-3 (pmpp_v2/conv2d_py) is TF32-sensitive: the switch is reported
    conv = task_contract("import torch\nimport torch.nn.functional as F\ndef ref_kernel(data):\n"
                         "    x, w, out = data\n    return F.conv2d(x.float(), w.float())\n"
                         "check_implementation = make_match_reference(ref_kernel, rtol=1e-3, atol=1e-3)\n")
    assert conv.tf32_sensitive
    assert "TAM001" in _rules("import torch\ntorch.backends.cuda.matmul.allow_tf32 = True\n"
                              "def custom_kernel(data):\n    return data[0] @ data[1]\n", conv)


# After THINNGO2511/AMD-GPU-MODE@fec91308:moe-mxfp4/submission_direct_bypass.py: the library path for the first
# calls (while the direct path's kernels compile), the direct path after; both compute from the inputs.
COUNTER_PICKS_IMPLEMENTATION = """
_calls = 0
def _direct(hidden, w1, w2, ids):
    buf = torch.empty_like(hidden)
    stage1(hidden, w1, ids, buf)
    stage2(buf, w2, ids, buf)
    return buf
def custom_kernel(data):
    global _calls
    hidden, w1, w2, ids, config = data
    _calls += 1
    if _calls <= 7:
        return fused_moe(hidden, w1, w2, ids)
    return _direct(hidden, w1, w2, ids)
"""

# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/gemm_hbl_real_test.py: the first calls compare two kernels on
# the real data and return the trusted one.
COUNTER_SELF_TEST = """
_call = 0
def custom_kernel(data):
    global _call
    _call += 1
    A, B = data
    if _call <= 8:
        c_new = new_gemm(A, B)
        c_ref = triton_gemm(A, B)
        print((c_new - c_ref).abs().max())
        return c_ref
    return triton_gemm(A, B)
"""


def test_counter_choosing_between_computed_answers_is_not_sniffing():
    assert_silent("SNF004", COUNTER_PICKS_IMPLEMENTATION)
    assert_silent("SNF004", COUNTER_SELF_TEST)


def test_counter_returning_a_stored_or_shape_only_answer_still_flags():
    stored = COUNTER_PICKS_IMPLEMENTATION.replace("    return _direct(hidden, w1, w2, ids)\n",
                                                  "    return _LAST\n")
    assert_fires("SNF004", stored)
    empty = COUNTER_SELF_TEST.replace("    return triton_gemm(A, B)\n", "    return torch.empty_like(A)\n")
    assert_fires("SNF004", empty)
    bare = COUNTER_SELF_TEST.replace("    return triton_gemm(A, B)\n", "    return A\n")
    assert_fires("SNF004", bare)


# After THINNGO2511/AMD-GPU-MODE@fec91308:moe-mxfp4/submission_flydsl_env.py and submission_phase_profile.py:
# printing a library's own settings, named in a constant list or filtered by its prefix.
LIBRARY_ENV_PRINT = """
import os
KEYS = ["AITER_USE_NT", "AITER_KSPLIT", "CU_NUM"]
def custom_kernel(data):
    for key in KEYS:
        print(key, os.environ.get(key, "<not set>"))
    triton_envs = {k: v for k, v in os.environ.items() if "TRITON" in k.upper()}
    print(triton_envs)
    return data.clone()
"""


def test_reading_named_library_settings_is_not_an_environment_scan():
    assert_silent("SNF003", LIBRARY_ENV_PRINT)
    # After THINNGO2511/AMD-GPU-MODE@fec91308:mixed-mla/submission_probe_kernels.py: aiter's own `*_MODE` flag
    assert_silent("SNF002", LIBRARY_ENV_PRINT.replace('"CU_NUM"', '"AITER_MLA_MODE"'))


def test_environment_scans_and_harness_names_in_a_loop_still_caught():
    hidden = LIBRARY_ENV_PRINT.replace('"CU_NUM"', '"POPCORN_SEED"')
    assert_fires("SNF002", hidden)  # the loop's constants are read one by one: the harness seed is among them
    assert_fires("SNF003", LIBRARY_ENV_PRINT.replace('if "TRITON" in k.upper()', 'if k.startswith("POP")'))
    assert_fires("SNF003", LIBRARY_ENV_PRINT.replace('if "TRITON" in k.upper()', 'if "TRITON" in k or True'))


# After THINNGO2511/AMD-GPU-MODE@fec91308:moe-mxfp4/submission_triton_s1.py: which of a library's submodules exist.
LIBRARY_MODULE_PROBE = """
def custom_kernel(data):
    for mod_name in ["fused_moe", "fused_moe_mxfp4", "moe"]:
        try:
            mod = __import__(f"aiter.ops.triton.{mod_name}", fromlist=[mod_name])
            print(sorted(dir(mod)))
        except ImportError:
            pass
    return data.clone()
"""


def test_probing_a_librarys_submodules_is_not_a_hidden_import():
    assert_silent("DYN003", LIBRARY_MODULE_PROBE)


def test_a_loop_that_reaches_harness_modules_is_still_a_hidden_import():
    assert_fires("DYN003", LIBRARY_MODULE_PROBE.replace('["fused_moe", "fused_moe_mxfp4", "moe"]',
                                                        '["reference", "utils"]').replace(
        'f"aiter.ops.triton.{mod_name}"', "mod_name"))
    assert_fires("DYN003", "import importlib\nfor m in names():\n    importlib.import_module(m)\n"
                           "def custom_kernel(data):\n    return data.clone()\n")


# After teelaitila/nvfp4_gpumode@6ef94aa7:fp4_gemm/nvfp4_gemm.py: the entry carries a local copy of the task's
# test scaffolding, a checker built around its own kernel.
OWN_CHECKER_SCAFFOLD = """
import torch
from task import input_t, output_t
from utils import make_match_reference
def custom_kernel(data: input_t) -> output_t:
    a, b, c = data
    c[...] = a @ b
    return c
def generate_input(m, n, k, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen), torch.empty(m, n)
check_implementation = make_match_reference(custom_kernel, rtol=1e-03, atol=1e-03)
"""


def test_a_checker_around_the_files_own_kernel_is_not_a_reference_import():
    assert_silent("REF001", OWN_CHECKER_SCAFFOLD)


def test_a_checker_around_the_reference_still_flags():
    wraps_reference = OWN_CHECKER_SCAFFOLD.replace("from utils import make_match_reference",
                                                   "from utils import make_match_reference\nimport reference")
    wraps_reference = wraps_reference.replace("make_match_reference(custom_kernel",
                                              "make_match_reference(reference.ref_kernel")
    assert_fires("REF001", wraps_reference)
    assert_fires("REF001", OWN_CHECKER_SCAFFOLD.replace(
        "make_match_reference(custom_kernel", "make_match_reference(lambda d: d"))


# After goldbar123467/nvfp4_dual_gemm@22a55a66:src/submission.py: each group's output buffer is written by a
# scaled GEMM and collected into the returned list.
GROUP_OUTPUTS_COLLECTED = """
import torch
def custom_kernel(data):
    abc, sfasfb, _, sizes = data
    outs = []
    for g in range(len(abc)):
        grp = abc[g]
        a = grp[0]
        b = grp[1]
        c_grp = grp[2]
        c_grp[...] = torch._scaled_mm(a, b.T, sfasfb[g][0], sfasfb[g][1], out_dtype=torch.float16)
        outs.append(c_grp)
    return outs
"""


def test_group_outputs_written_and_returned_in_a_list_are_not_input_mutation():
    assert_silent("INP001", GROUP_OUTPUTS_COLLECTED)
    assert_silent("INP001", GROUP_OUTPUTS_COLLECTED.replace("return outs", "return outs[-1]"))


def test_an_input_written_and_not_collected_still_flags():
    zeroes_a_scale = "        scale = sfasfb[g][0]\n        scale.zero_()\n        outs.append(c_grp)\n"
    assert_fires("INP001", GROUP_OUTPUTS_COLLECTED.replace("        outs.append(c_grp)\n", zeroes_a_scale))
    assert_fires("INP001", GROUP_OUTPUTS_COLLECTED.replace("outs.append(c_grp)", "print(c_grp.shape)"))


# After gpu-mode/reference-kernels@f83cb92a:problems/bioml/trimul/submission.py (the maintainers' solution): the
# einsum runs in bf16 and is cast back; the task checks at rtol=2e-2.
TRIMUL_BF16_EINSUM = """
import torch
def custom_kernel(data):
    x, mask, left_w, right_w = data
    left = x @ left_w
    right = x @ right_w
    out = torch.einsum("bikd,bjkd->bijd", left.to(torch.bfloat16), right.to(torch.bfloat16))
    return out.to(torch.float32)
"""
TRIMUL_REFERENCE = """
import torch
def ref_kernel(data):
    x, mask, left_w, right_w = data
    return torch.einsum("bikd,bjkd->bijd", x @ left_w, x @ right_w)
check_implementation = make_match_reference(ref_kernel, rtol=2e-2, atol=2e-2)
"""
MATMUL_REFERENCE_DEFAULT_TOLERANCE = """
def ref_kernel(data):
    a, b, c = data
    return a @ b
check_implementation = make_match_reference(ref_kernel)
"""


def test_bf16_inside_a_task_whose_tolerance_allows_it_is_not_a_downgrade():
    trimul = task_contract(TRIMUL_REFERENCE)
    assert trimul.rtol == 2e-2
    assert "PRC001" not in _rules(TRIMUL_BF16_EINSUM, trimul)
    assert "PRC001" in _rules(TRIMUL_BF16_EINSUM)  # without the task: a FLAG to check the task's rules


def test_low_precision_where_the_task_is_strict_still_flags():
    # reference-kernels' own wrong solution matmul_py/solutions/wrong/low-precision.py, judged with its task
    low = ("import torch\ndef custom_kernel(data):\n    a, b, c = data\n"
           "    c[...] = (a.to(torch.bfloat16) @ b.to(torch.bfloat16)).to(c.dtype)\n    return c\n")
    assert "PRC001" in _rules(low, task_contract(MATMUL_REFERENCE_DEFAULT_TOLERANCE))
    fp8 = TRIMUL_BF16_EINSUM.replace("torch.bfloat16", "torch.float8_e4m3fn")
    assert "PRC001" in _rules(fp8, task_contract(TRIMUL_REFERENCE))  # 2e-2 does not cover fp8's rounding


# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/submission_scale_debug.py: a failed kernel build ends the import.
FAILED_BUILD_EXITS = """
import sys
from torch.utils.cpp_extension import load_inline
try:
    mod = load_inline(name="gemm", cpp_sources=DECL, cuda_sources=SRC, functions=["launch"])
except Exception as e:
    print(f"Compilation FAILED: {e}")
    sys.exit(1)
def custom_kernel(data):
    return mod.launch(*data)
"""


def test_a_failed_build_ending_the_import_is_not_an_early_exit():
    assert_silent("CHN004", FAILED_BUILD_EXITS)


def test_exits_that_can_pass_for_success_still_flag():
    hits = assert_fires("CHN004", FAILED_BUILD_EXITS.replace("sys.exit(1)", "sys.exit(0)"))
    assert all(h.verdict is Verdict.FLAG for h in hits)
    assert_fires("CHN004", FAILED_BUILD_EXITS.replace("    return mod.launch(*data)\n",
                                                      "    out = mod.launch(*data)\n    sys.exit(1)\n"))
    assert_fires("CHN004", "import atexit\natexit.register(print)\ndef custom_kernel(data):\n    return data\n")


# Issue 10's miss, after THINNGO2511/AMD-GPU-MODE@fec91308:mixed-mla/sub_kv_subsample.py: attention over every
# 2nd KV token, read through a reshaped view of the cache (the docstring says i.i.d. test data makes it pass).
KV_SUBSAMPLE = """
import torch
STRIDE = 2
def custom_kernel(data):
    q, kv_buffer, meta = data
    batch, kv_len = meta["batch"], meta["kv_len"]
    kv = kv_buffer.view(batch, kv_len, 1, 576)
    kv_sub = kv[:, ::STRIDE, :, :].contiguous()
    return attention(q, kv_sub)
"""


def test_a_kv_subsample_through_a_view_is_a_partial_read():
    hits = assert_fires("PRC002", KV_SUBSAMPLE)
    assert all(h.verdict is Verdict.FLAG for h in hits)  # the task's tolerance decides: FLAG with the evidence
    rebound = ("def custom_kernel(data):\n    data, output = data\n    data = data.contiguous()\n"
               "    output[0] = data[: len(data) // 8].sum() * 8\n    return output\n")
    assert_fires("PRC002", rebound)


def test_views_of_the_whole_input_are_not_partial_reads():
    assert_silent("PRC002", KV_SUBSAMPLE.replace("kv[:, ::STRIDE, :, :]", "kv"))
    chunks = ("def custom_kernel(data):\n    data, output = data\n    flat = data.view(-1)\n    n = flat.numel()\n"
              "    output[0] = flat[: n // 2].sum() + flat[n // 2:].sum()\n    return output\n")
    assert_silent("PRC002", chunks)
    assert_silent("PRC002", "def custom_kernel(data):\n    data, output = data\n    data = data.contiguous()\n"
                            "    output[0] = data.sum()\n    return output\n")
