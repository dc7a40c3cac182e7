"""Global torch tampering: changing library-wide numerics or functions that the reference also uses.

The reference and the checker run in the submission's process after it is imported, so a global switch
(TF32 matmuls, a lower default dtype) or a replaced torch function changes the *reference's* answer too, and a
sloppy kernel can then match it. Configuration that only tunes the submission's own compilation
(`torch._dynamo.config`, `torch._inductor.config`, `torch.backends.cudnn.benchmark`) is not reported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.analysis.contract import MATMUL_NAMES
from referee.submissions.rules._util import calls, code
from referee.submissions.rules.harness_patching import classify
from referee.submissions.rules.registry import Hit, rule

PRECISION_FLAGS = frozenset({
    "torch.backends.cuda.matmul.allow_tf32", "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
    "torch.backends.cuda.matmul.allow_fp16_accumulation",
})
BENIGN_PREFIXES = ("torch._dynamo.config", "torch._inductor.config", "torch._functorch.config", "torch.backends",
                   "torch._logging", "torch.fx.experimental._config", "torch.jit._state", "torch.utils.cpp_extension",
                   "torch._export.config", "torch.export")
# Process-group set-up, not computation: distributed entries wrap `init_process_group` to pass a device or a
# timeout and call the original; nothing the checker compares goes through these.
PROCESS_GROUP_SETUP = frozenset({"torch.distributed.init_process_group", "torch.distributed.destroy_process_group",
                                 "torch.distributed.new_group",
                                 "torch.distributed.distributed_c10d.init_process_group"})
DEFAULT_SETTERS = frozenset({"torch.set_default_dtype", "torch.set_default_tensor_type", "torch.set_default_device",
                             "torch.set_flush_denormal", "torch.set_float32_matmul_precision"})


@rule("TAM001", "Global reduced-precision switches", "torch-tampering", Verdict.FLAG,
      what="Checks for process-wide precision switches: `torch.backends.cuda.matmul.allow_tf32 = True`, "
           "`allow_fp16/bf16_reduced_precision_reduction`, `fp32_precision = 'tf32'`, and "
           "`torch.set_float32_matmul_precision('high' | 'medium')`.",
      why="These switches also lower the precision of the reference computed in the same process, so the "
          "correctness check compares two degraded results and a less accurate kernel passes.",
      action="Review whether the task allows reduced precision; re-check the output against an FP64 reference.",
      known_problems="With the task, decided from it (`task_contract(...).tf32_sensitive`: the reference runs "
                     "float32 matmuls or convolutions and its checker's rtol is below 1e-2); fp16/fp8/fp4 tasks "
                     "and loose tolerances are not reported. Without a task the switch is a FLAG, unless every "
                     "matrix product in the file is a block-scaled `torch._scaled_mm` on inputs it does not "
                     "quantise itself (fp8/fp4 data, exact in TF32).",
      example="""
          import torch
          torch.backends.cuda.matmul.allow_tf32 = True
          def custom_kernel(data):
              a, b = data
              return a @ b
      """,
      use_instead="""
          import torch
          torch.backends.cudnn.benchmark = True
          def custom_kernel(data):
              a, b = data
              return a @ b
      """,
      kernelguard=["PRECISION_DOWNGRADE"])
def precision_switch(sub: Submission) -> Iterator[Hit]:
    if sub.contract is not None and not sub.contract.tf32_sensitive:
        return  # the task's own check cannot see TF32 (no fp32 matmuls, or a tolerance looser than its error)
    hits = list(_precision_hits(sub))
    if hits and not (sub.contract is None and _block_scaled_gemms_only(sub)):
        yield from hits


def _precision_hits(sub: Submission) -> Iterator[Hit]:
    for write in sub.writes:
        hit = write.targets & PRECISION_FLAGS
        value = sub.folder.fold(write.value) if write.value is not None else None
        if hit and value is not False:
            yield Hit(write.node, f"Sets `{sorted(hit)[0]}` process-wide, which also lowers the reference's "
                                  "precision.")
        elif write.attr == "fp32_precision" and value in ("tf32", "bf16", "ieee_tf32") and any(
                t.startswith("torch.") for t in write.targets):
            yield Hit(write.node, f"Sets `fp32_precision = {value!r}` process-wide.")
    for call, _ in calls(sub, ("torch.set_float32_matmul_precision",)):
        mode = sub.folder.fold_str(call.args[0]) if call.args else None
        if mode != "highest":
            yield Hit(call, f"Calls `torch.set_float32_matmul_precision({mode!r})`: every float32 matmul in the "
                            "process, the reference's included, may run in TF32/bf16.")


SCALED_GEMMS = frozenset({"_scaled_mm", "_scaled_grouped_mm", "scaled_mm"})
NARROW_FLOAT = ("float8_", "float4_")


def _block_scaled_gemms_only(sub: Submission) -> bool:
    """Without the task: every matrix product in the file is a block-scaled `torch._scaled_mm` on data it does
    not convert to fp8/fp4 itself, so the task's inputs are fp8/fp4 already. Those values (at most 3 mantissa
    bits, times fp8 or power-of-two scales) are exact in TF32's 10 bits: TF32 cannot change a reference
    computed from them (the nvfp4 GEMM entries switch it on out of habit)."""
    scaled = False
    for node in sub.nodes(ast.BinOp, ast.Call):
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                return False
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in SCALED_GEMMS:
            scaled = True
        elif name in MATMUL_NAMES:
            return False
        elif name in ("to", "type") and any(q.startswith(tuple(f"torch.{n}" for n in NARROW_FLOAT))
                                            for a in [*node.args, *(k.value for k in node.keywords)]
                                            for q in sub.resolver.qualnames(a)):
            return False  # the file quantises its inputs itself: they may be float32
    return scaled


@rule("TAM002", "Global default dtype or device change", "torch-tampering", Verdict.FLAG,
      what="Checks for `torch.set_default_dtype`, `set_default_tensor_type`, `set_default_device` and "
           "`set_flush_denormal` calls.",
      why="They change how the harness's own tensors are created and computed (inputs, reference outputs, "
          "tolerances derived from dtype), not just the submission's.",
      action="Review by hand; ask for explicit dtypes/devices on the submission's own tensors instead.",
      example="""
          import torch
          torch.set_default_dtype(torch.float16)
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              acc = torch.zeros(data.shape[1:], dtype=torch.float32, device=data.device)
              return torch.cumsum(data, 0, dtype=torch.float32).to(data.dtype) + acc
      """)
def default_change(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, DEFAULT_SETTERS - {"torch.set_float32_matmul_precision"}):
        yield Hit(call, f"Calls `{name}({', '.join(code(a, 30) for a in call.args)})`, which changes defaults for "
                        "the harness too.")


@rule("TAM003", "Torch function monkeypatching", "torch-tampering", Verdict.FAIL,
      what="Checks for writes to functions and classes of `torch` or `numpy` (`torch.matmul = ...`, "
           "`torch.Tensor.__matmul__ = ...`, `setattr(torch.nn.functional, 'softmax', f)`, `del torch.mm`) that "
           "are not timer or checker functions (PAT001/PAT002) and not compiler configuration.",
      why="The reference is written with the same torch functions; replacing one changes the expected answer, "
          "or routes the reference through the submission's own code (KernelGuard MODULE_MUTATION).",
      action="Disqualify the run (FAIL): the reference no longer computes what the task defines.",
      example="""
          import torch
          _mm = torch.matmul
          torch.matmul = lambda a, b: _mm(a.half(), b.half()).float()
          def custom_kernel(data):
              a, b = data
              return torch.matmul(a, b)
      """,
      use_instead="""
          import torch
          torch._inductor.config.max_autotune = True
          matmul = torch.compile(torch.matmul)
          def custom_kernel(data):
              a, b = data
              return matmul(a, b)
      """,
      known_problems="Wrappers of process-group set-up (`torch.distributed.init_process_group`, `new_group`) are "
                     "not reported: they compute nothing the checker compares.",
      kernelguard=["MODULE_MUTATION"])
def torch_patch(sub: Submission) -> Iterator[Hit]:
    for write in sub.writes:
        if classify(write) is not None:
            continue
        for target in sorted(write.targets):
            if "()" in target or target.startswith(BENIGN_PREFIXES) or target in PROCESS_GROUP_SETUP:
                continue
            if target.startswith(("torch.", "numpy.")):
                yield Hit(write.node, f"Replaces `{target}` for the whole process, the reference included.")
                break
