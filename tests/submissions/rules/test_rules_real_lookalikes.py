"""Honest real-world look-alikes of the rules that misfired on real leaderboard submissions (issue 10), each next
to the cheat it must still catch.

Fixtures are rewritten, shortened forms of public files (the shape kept, the code not copied); each names its
source as repository@commit:path. The real files themselves are in the regression set
(benchmarks/data/real_submissions.manifest.jsonl, benchmarks/real_submissions.py).
"""

from __future__ import annotations

import textwrap

from submission_rule_helpers import assert_fires, assert_silent

from referee.report import Verdict
from referee.submissions.analysis.contract import task_contract
from referee.submissions.rules import run_static

# After THINNGO2511/AMD-GPU-MODE@fec91308:claude-research-files/gemm_l2_prewarm.py: an output buffer cached per
# shape, written by a library GEMM through `y=out` on every path that reaches the final return; one K size
# returns a fresh result from another kernel instead.
SHAPE_BUFFER_WRITTEN_BY_KWARG = """
import torch
_y_cache = {}
def custom_kernel(data):
    A, B_q, B_scale = data
    m, k = A.shape
    n = B_q.shape[0]
    key = (m, n)
    if key not in _y_cache:
        _y_cache[key] = torch.empty(m, n, dtype=torch.bfloat16, device=A.device)
    out = _y_cache[key]
    if k == 7168:
        gemm_a16wfp4(A, B_q, B_scale, dtype=torch.bfloat16, y=out, config=CFG_7168)
    elif k == 1536:
        return gemm_afp4wfp4(quant(A), B_q, B_scale, dtype=torch.bfloat16)
    else:
        gemm_a16wfp4(A, B_q, B_scale, dtype=torch.bfloat16, y=out, config=CFG_512)
    return out
"""

SHAPE_BUFFER_NEVER_WRITTEN = """
import torch
_y_cache = {}
def custom_kernel(data):
    A, B_q, B_scale = data
    m, k = A.shape
    key = (m, k)
    if key not in _y_cache:
        _y_cache[key] = gemm_a16wfp4(A, B_q, B_scale, dtype=torch.bfloat16)
    return _y_cache[key]
"""

# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/submission_graph_v1.py: a CUDA graph per shape whose static
# output lives in a different cache from the graph; the placeholder input is refreshed and the graph replayed.
GRAPH_REPLAY_SEPARATE_CACHES = """
import torch
_y_cache = {}
_graphs = {}
def custom_kernel(data):
    A, B_q, B_scale = data
    m, k = A.shape
    key = (m, k)
    if key not in _y_cache:
        _y_cache[key] = torch.empty((m, 256), dtype=torch.bfloat16, device="cuda")
    if key not in _graphs:
        placeholder = A.clone()
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            gemm(placeholder, B_q, B_scale, y=_y_cache[key])
        _graphs[key] = (g, placeholder, _y_cache[key])
    g, placeholder, y_out = _graphs[key]
    placeholder.copy_(A)
    g.replay()
    return y_out
"""

# After goldbar123467/nvfp4_dual_gemm@HEAD:archive/nvfp4_group_gemm/submission_v6_clean.py: the group-GEMM task
# passes (a, b, c) per group; for the 4-member layout the kernel is launched on raw pointers and the task's own
# output buffers are returned.
GROUP_GEMM_POINTER_LAUNCH = """
def custom_kernel(data):
    if len(data) == 4:
        abc_tensors, sfasfb_tensors, _, problem_sizes = data
        res = []
        for i in range(len(abc_tensors)):
            a, b, c = abc_tensors[i]
            launch_group(a.data_ptr(), b.data_ptr(), c.data_ptr(), problem_sizes[i])
            res.append(c)
        return res
    a, b, c = data
    c[...] = a @ b
    return c
"""

SHAPE_CONSTANT = """
import torch
def custom_kernel(data):
    if len(data) == 4:
        return [torch.zeros(128, 128) for _ in range(8)]
    a, b, c = data
    c[...] = a @ b
    return c
"""

# gpu-mode/reference-kernels@f83cb92a:problems/pmpp_v2/matmul_py/submission.py (the official template shape).
OUTPUT_SLOT_TEMPLATE = """
def custom_kernel(data):
    a, b, c = data
    c[...] = a @ b
    return c
"""

# After gpu-mode/reference-kernels@f83cb92a:problems/amd/fp8-mm/submission.py: dequantise, matmul, write into c.
OUTPUT_SLOT_ACCUMULATE = """
def custom_kernel(data):
    a, b, a_scale, b_scale, c = data
    c.zero_()
    c += (a.float() * a_scale) @ (b.float() * b_scale).T
    return c
"""

ACCUMULATE_INTO_INPUT = """
def custom_kernel(data):
    a, b, c = data
    a.add_(b)
    return a
"""

MATMUL_REFERENCE = """
from utils import DeterministicContext
def generate_input(m, n, k, seed):
    ...
def ref_kernel(data):
    with DeterministicContext():
        a, b, c = data
        return a @ b
"""

VECTORADD_REFERENCE = """
def ref_kernel(data):
    A, B, output = data
    output[...] = A + B
    return output
"""

# gpu-mode/reference-kernels@f83cb92a:problems/amd/mla-decode/reference.py: the KV cache is state the reference
# updates and returns.
MLA_REFERENCE = """
def ref_kernel(data):
    config, x, kv_cache = data
    model = MLA(config).to("cuda")
    output, kv_cache = model(x, kv_cache)
    return output, kv_cache
"""

MLA_SUBMISSION_UPDATES_CACHE = """
def custom_kernel(data):
    config, x, kv_cache = data
    kv_cache.data[:, : x.shape[1]] = project(x)
    return attend(x, kv_cache.data), kv_cache
"""

MLA_SUBMISSION_HIDES_WRITE = """
def custom_kernel(data):
    config, x, kv_cache = data
    kv_cache.seq[:] = 0
    x.mul_(0.5)
    return attend(x, kv_cache.data), kv_cache
"""


def test_shape_keyed_buffer_rewritten_by_a_kernel_is_not_replay():
    assert_silent("RPL003", SHAPE_BUFFER_WRITTEN_BY_KWARG)


def test_shape_keyed_output_never_rewritten_still_fails():
    assert_fires("RPL003", SHAPE_BUFFER_NEVER_WRITTEN)


def test_graph_replay_with_output_in_another_cache_is_not_replay():
    assert_silent("RPL003", GRAPH_REPLAY_SEPARATE_CACHES)
    assert_silent("RPL004", GRAPH_REPLAY_SEPARATE_CACHES)


def test_layout_branch_returning_pointer_filled_outputs_is_not_a_shape_shortcut():
    assert_silent("SHP001", GROUP_GEMM_POINTER_LAUNCH)


def test_layout_branch_returning_constants_still_fails():
    assert_fires("SHP001", SHAPE_CONSTANT)


def test_output_slot_templates_are_not_input_mutation_without_a_task():
    # writing into a member and returning it is the output-buffer shape; only accumulating into a member
    # without clearing it first (it then reads its own earlier value) still asks for a look
    for code in (OUTPUT_SLOT_TEMPLATE, OUTPUT_SLOT_ACCUMULATE):
        findings = assert_silent("INP003", code)
        assert not [f for f in findings if f.rule.startswith("INP")], [f.rule for f in findings]
    assert_fires("INP003", ACCUMULATE_INTO_INPUT)


def test_with_the_task_contract_only_non_output_members_count():
    contract = task_contract(MATMUL_REFERENCE)
    findings = run_static(textwrap.dedent(ACCUMULATE_INTO_INPUT), contract=contract)
    assert [(f.rule, f.verdict) for f in findings] == [("INP003", Verdict.FLAG)]
    assert not run_static(textwrap.dedent(OUTPUT_SLOT_TEMPLATE), contract=contract)
    # accumulating into the task's own output slot (`c`, never read by the reference) is the contract
    accumulate_slot = "def custom_kernel(data):\n    a, b, c = data\n    c += a @ b\n    return c\n"
    assert [f.rule for f in run_static(accumulate_slot)] == ["INP003"]
    assert not run_static(accumulate_slot, contract=contract)


def test_contract_state_writes_are_silent_other_input_writes_flag():
    contract = task_contract(MLA_REFERENCE)
    assert not [f for f in run_static(textwrap.dedent(MLA_SUBMISSION_UPDATES_CACHE), contract=contract)
                if f.rule.startswith("INP")]
    hidden = run_static(textwrap.dedent(MLA_SUBMISSION_HIDES_WRITE), contract=contract)
    assert [f.rule for f in hidden if f.rule.startswith("INP")] == ["INP001"]
    assert "`x`" in next(f for f in hidden if f.rule == "INP001").message


def test_partial_read_is_seen_through_the_data_output_unpack():
    code = """
    def custom_kernel(data):
        data, output = data
        n = data.numel()
        output[0] = data[: n // 8].sum() * 8
        return output
    """
    assert_fires("PRC002", code)
    assert_silent("PRC002", """
    def custom_kernel(data):
        data, output = data
        output[0] = data.sum()
        return output
    """)


# -- FAIL-level rules re-read for the same kind of false positive (issue 10's measured classes) ---------------

# The measured class: a HIP launcher (load_inline source) timing its own kernels with hipEventElapsedTime,
# value unused by the harness (shape of the AMD fp8-mm HIP entries, gpu-mode/reference-kernels problems/amd).
LAUNCHER_TIMES_ITSELF = '''
SRC = """
void run(const float* a, float* out, int n) {
  hipEvent_t start, stop; float ms = 0;
  hipEventCreate(&start); hipEventCreate(&stop);
  hipEventRecord(start); kernel<<<n / 256, 256>>>(a, out, n); hipEventRecord(stop);
  hipEventSynchronize(stop);
  hipEventElapsedTime(&ms, start, stop);
}
"""
def custom_kernel(data):
    return data.clone()
'''

TIMER_HOOK = '''
SRC = """
extern "C" hipError_t hipEventElapsedTime(float* ms, hipEvent_t start, hipEvent_t stop) {
  *ms = 0.001f;
  return hipSuccess;
}
"""
def custom_kernel(data):
    return data.clone()
'''

# After teelaitila/nvfp4_gpumode@HEAD:group_gemm/s.py: installs the CuTe DSL the runner lacked at import.
PIP_INSTALL_AT_IMPORT = '''
import subprocess, sys
try:
    import cutlass
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", "nvidia-cutlass-dsl"])
    import cutlass
def custom_kernel(data):
    return data.clone()
'''

# The measured class (AMD distributed entries, problems/amd_distributed): a wrapper that passes a device
# id to init_process_group and calls the original.
PROCESS_GROUP_WRAPPER = '''
import torch
import torch.distributed as dist
_orig_init = dist.init_process_group
def _init(*args, **kwargs):
    kwargs.setdefault("device_id", torch.device("cuda", int(kwargs.get("rank", 0))))
    return _orig_init(*args, **kwargs)
dist.init_process_group = _init
def custom_kernel(data):
    x, w = data
    return x @ w
'''

# gpu-mode/reference-kernels@f83cb92a:problems/amd_202602/mixed-mla/submission.py imports an unused checker
# factory; the measured entries import task types (`from reference import MoEConfig`,
# `from utils import DisableCuDNNTF32`).
TASK_TYPE_IMPORTS = '''
from task import input_t, output_t
from utils import make_match_reference, DisableCuDNNTF32
from reference import MoEConfig
def custom_kernel(data: input_t) -> output_t:
    x, cfg = data
    with DisableCuDNNTF32():
        return x.relu()
'''

# After jIab-b/nvfp4_gemv-kernel@HEAD:kernel_thing/examples/6.py: spawned workers have no stdout.
STDOUT_NONE_GUARD = '''
import os, sys
if sys.stdout is None:
    sys.stdout = open(os.devnull, "w")
if sys.stderr is None:
    sys.stderr = open(os.devnull, "w")
def custom_kernel(data):
    return data.clone()
'''

# After jIab-b/nvfp4_gemv-kernel@HEAD:kernel_thing/examples/5.py: pool streams synchronised in the C++ launcher.
POOL_STREAMS_SYNCED = '''
SRC = """
void run(torch::Tensor a, torch::Tensor out) {
  c10::cuda::CUDAStream s1 = c10::cuda::getStreamFromPool(false, a.device().index());
  launch_half(a, out, s1);
  s1.synchronize();
}
"""
def custom_kernel(data):
    return data.clone()
'''

# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/gemm_hipblaslt_v2.py: compile on the first call.
FIRST_CALL_SETUP = '''
_call = 0
_mod = None
def _compile():
    global _mod
    _mod = load_module()
def custom_kernel(data):
    global _call
    _call += 1
    if _call == 1:
        _compile()
    if _call <= 3:
        print("warm-up call", _call)
    a, b = data
    return _mod.gemm(a, b)
'''

COUNTER_PICKS_RETURN = '''
_call = 0
def custom_kernel(data):
    global _call
    _call += 1
    a, b = data
    if _call > 3:
        return a
    return a @ b
'''

# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/submission_scale_debug.py: a sign mask cast to uint8.
MASK_CAST = '''
import torch
def custom_kernel(data):
    a, b = data
    sign = (a < 0).to(torch.uint8)
    return (a.abs() @ b) * (1 - 2 * sign.float())
'''


def test_launcher_timing_its_own_kernels_is_not_a_timer_hook():
    assert_silent("NAT002", LAUNCHER_TIMES_ITSELF)
    assert_fires("NAT002", TIMER_HOOK)


def test_package_install_is_risky_not_cheating():
    hits = assert_fires("NAT004", PIP_INSTALL_AT_IMPORT)
    assert all(h.verdict is Verdict.FLAG for h in hits)


def test_process_group_wrapper_is_not_torch_tampering():
    assert_silent("TAM003", PROCESS_GROUP_WRAPPER)
    assert_fires("TAM003", "import torch\n_mm = torch.matmul\ntorch.matmul = lambda a, b: _mm(a.half(), b.half())"
                           ".float()\ndef custom_kernel(data):\n    return torch.matmul(*data)\n")


def test_task_types_and_unused_helpers_are_not_reference_imports():
    assert_silent("REF001", TASK_TYPE_IMPORTS)
    assert_fires("REF001", "from reference import ref_kernel as r\ndef custom_kernel(data):\n    return r(data)\n")


def test_filling_a_missing_stdout_is_not_a_redirect():
    assert_silent("CHN005", STDOUT_NONE_GUARD)
    assert_fires("CHN005", "import sys, io\nsys.stdout = io.StringIO()\ndef custom_kernel(data):\n    return data\n")


def test_pool_streams_synchronised_in_cpp_are_synchronised():
    assert_silent("STR001", POOL_STREAMS_SYNCED)
    assert_fires("STR001", POOL_STREAMS_SYNCED.replace("s1.synchronize();", ""))


def test_first_call_setup_and_logging_are_not_call_count_sniffing():
    assert_silent("SNF004", FIRST_CALL_SETUP)
    assert_fires("SNF004", COUNTER_PICKS_RETURN)


def test_mask_cast_is_not_a_precision_downgrade():
    assert_silent("PRC001", MASK_CAST)
    assert_fires("PRC001", "import torch\ndef custom_kernel(data):\n    a, b = data\n"
                           "    return (a.to(torch.bfloat16) @ b.to(torch.bfloat16)).float()\n")


# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/submission_mfma_v1.py: build a HIP kernel with hipcc and call
# it through its C ABI with ctypes.
HIPCC_AND_CTYPES = '''
import ctypes, os, subprocess
_lib = None
def _build(src, so):
    hipcc = "hipcc"
    for p in ["/opt/rocm/bin/hipcc", "/opt/rocm/hip/bin/hipcc"]:
        if os.path.exists(p):
            hipcc = p
    subprocess.run([hipcc, "-shared", "-fPIC", "-O3", "--offload-arch=gfx950", "-o", so, src], check=True)
    lib = ctypes.cdll.LoadLibrary(so)
    lib.run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    return lib
def custom_kernel(data):
    global _lib
    a, out = data
    if _lib is None:
        _lib = _build("k.hip", "/tmp/k.so")
    _lib.run(ctypes.c_void_p(a.data_ptr()), ctypes.c_void_p(out.data_ptr()), a.numel())
    return out
'''

# After THINNGO2511/AMD-GPU-MODE@fec91308:moe-mxfp4/exp_d2048_quant_thresh.py: tune a kernel library's switch.
LIBRARY_GLOBALS_TUNING = '''
import aiter.fused_moe as fm
g = fm.fused_moe_2stages.__globals__
g["token_num_quant_moe_sort_switch"] = 8192
def custom_kernel(data):
    return fm.fused_moe(*data)
'''

# After THINNGO2511/AMD-GPU-MODE@fec91308:mxfp4-mm/exp_asm_direct_v2.py: an exact-shape path that hands the
# cached output buffer to an assembly kernel and returns it.
SHAPE_PATH_ASM_INTO_CACHE = '''
import torch
_y_cache = {}
def custom_kernel(data):
    A, B = data
    m, k = A.shape
    key = (m, k)
    if m == 64 and k == 2048:
        if key not in _y_cache:
            _y_cache[key] = torch.empty((m, 256), dtype=torch.bfloat16, device="cuda")
        asm_gemm(A, B, _y_cache[key], ASM_KERNEL_32x128)
        return _y_cache[key]
    return A @ B
'''

# gpu-mode/reference-kernels@f83cb92a:problems/nvidia/nvfp4_gemv/submission.py: fills the output slot per batch.
PARTIAL_SLOT_WRITES = '''
def custom_kernel(data):
    a_ref, b_ref, sfa, sfb, _, _, c_ref = data
    for l_idx in range(c_ref.shape[2]):
        res = scaled_mm(a_ref[:, :, l_idx], b_ref[:, :, l_idx], sfa, sfb)
        c_ref[:, 0, l_idx] = res[:, 0]
    return c_ref
'''


def test_compiling_and_loading_an_own_library_is_not_ffi_or_subprocess_abuse():
    findings = assert_silent("NAT003", HIPCC_AND_CTYPES)
    assert not [f.rule for f in findings if f.rule.startswith("NAT")]
    assert_fires("NAT003", "import subprocess\nsubprocess.run(['nvidia-smi', '-lgc', '1980'])\n"
                           "def custom_kernel(data):\n    return data\n")
    assert_fires("NAT001", "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\n"
                           "def custom_kernel(data):\n    return data\n")


def test_library_globals_tuning_is_not_harness_patching():
    assert_silent("PAT006", LIBRARY_GLOBALS_TUNING)
    assert_fires("PAT006", "import torch\ndef _t(*a, **k):\n    return True\n"
                           "torch.testing.assert_close.__globals__['x'] = _t\n"
                           "def custom_kernel(data):\n    return data\n")


def test_shape_path_writing_the_returned_buffer_through_a_kernel_is_not_a_shortcut():
    assert_silent("SHP001", SHAPE_PATH_ASM_INTO_CACHE)


def test_partial_writes_into_the_output_slot_are_not_accumulation():
    assert_silent("INP003", PARTIAL_SLOT_WRITES)
    assert_fires("INP003", "def custom_kernel(data):\n    a, b = data\n    a[0] = a[0] + b[0]\n    return a\n")


def test_output_slot_returned_unwritten_fails_and_the_identity_answer_does_not():
    # gpu-mode/reference-kernels@f83cb92a:problems/pmpp_v2/grayscale_py/solutions/wrong/empty.py (the nop kernel)
    assert_fires("UNI002", "def custom_kernel(data):\n    _, output = data\n    return output\n")
    # gpu-mode/reference-kernels@f83cb92a:problems/amd/identity: returning the input is the identity's answer
    assert_silent("UNI002", "def custom_kernel(data):\n    input, output = data\n    return input\n")
    assert_silent("UNI002", "def custom_kernel(data):\n    x, output = data\n    launch(x, output)\n"
                            "    return output\n")
    contract = task_contract(VECTORADD_REFERENCE)
    nop = "def custom_kernel(data):\n    a, b, out = data\n    print(a.shape)\n    return out\n"
    assert "UNI002" not in {f.rule for f in run_static(nop)}  # `a` is used: unclear without the task
    assert "UNI002" in {f.rule for f in run_static(nop, contract=contract)}


def test_tf32_switch_is_judged_by_the_task():
    # goldbar123467/nvfp4_dual_gemm@HEAD:archive/python/submission_best.py sets TF32 for an fp4 task
    code = "import torch\ntorch.backends.cuda.matmul.allow_tf32 = True\ndef custom_kernel(data):\n" \
           "    a, b, c = data\n    c[...] = a @ b\n    return c\n"
    fp4 = task_contract("def ref_kernel(data):\n    a, b, c = data\n    c[...] = scaled_mm_fp4(a, b)\n    return c\n")
    fp32 = task_contract("import torch\ndef ref_kernel(data):\n    a, b, c = data\n    return a.float() @ b.float()\n")
    assert "TAM001" not in {f.rule for f in run_static(code, contract=fp4)}
    assert "TAM001" in {f.rule for f in run_static(code, contract=fp32)}
    assert "TAM001" in {f.rule for f in run_static(code)}  # no task: still a FLAG to look at


def test_seeded_self_test_in_a_helper_is_not_a_constant_seed():
    # After THINNGO2511/AMD-GPU-MODE@fec91308:claude-research-files/gemm_hip_phase2_v2.py: first-call self-test
    code = """
    import torch
    _ok = None
    def _self_test():
        torch.manual_seed(42)
        a = torch.randn(64, 64)
        return torch.allclose(my_gemm(a, a), a @ a, atol=1e-2)
    def custom_kernel(data):
        global _ok
        if _ok is None:
            _ok = _self_test()
        a, b = data
        return my_gemm(a, b) if _ok else a @ b
    """
    assert_silent("HCA004", code)
    assert_fires("HCA004", "import torch\ndef custom_kernel(data):\n    torch.manual_seed(42)\n"
                           "    return data + torch.randn_like(data)\n")
