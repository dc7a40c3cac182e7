"""The static task contract: which members of `data` a reference writes, returns or leaves as an output slot.

Reference shapes are rewritten from gpu-mode/reference-kernels@f83cb92a (problems/<set>/<task>/reference.py).
"""

from __future__ import annotations

from referee.submissions.analysis.contract import Contract, member_positions, task_contract


def test_written_output_slot():  # pmpp_v2/vectoradd_py
    contract = task_contract("def ref_kernel(data):\n    A, B, output = data\n    output[...] = A + B\n"
                             "    return output\n")
    assert contract.entry == "ref_kernel"
    assert contract.names == ("A", "B", "output")
    assert contract.written == {2} and contract.returned == {2}
    assert contract.outputs == {2} and contract.is_output(2) and not contract.is_output(0)


def test_unread_member_is_an_output_slot():  # pmpp_v2/matmul_py: the reference returns a new tensor
    contract = task_contract("def ref_kernel(data):\n    with ctx():\n        a, b, c = data\n"
                             "        return a @ b\n")
    assert contract.written == set() and contract.returned == set()
    assert contract.outputs == {2}


def test_returned_state():  # amd/mla-decode: the KV cache is updated through a module call and returned
    contract = task_contract("def ref_kernel(data):\n    config, x, kv_cache = data\n"
                             "    out, kv_cache = MLA(config)(x, kv_cache)\n    return out, kv_cache\n")
    assert contract.outputs == {2}


def test_member_the_reference_never_reads_cannot_change_its_answer():
    # an unread member is treated as an output slot; writing into it cannot change what the reference computes
    contract = task_contract("def ref_kernel(data):\n    config, x = data\n    return x.sum()\n")
    assert contract.outputs == {0}


def test_positions_with_placeholders():  # nvidia/nvfp4_gemm: `_` members in the middle
    contract = task_contract("def ref_kernel(data):\n    a, b, sfa, sfb, _, _, c = data\n"
                             "    c[...] = mm(a, b, sfa, sfb)\n    return c\n")
    assert contract.names == ("a", "b", "sfa", "sfb", "_", "_", "c")
    assert contract.outputs == {6}


def test_pure_function_reference_has_no_outputs():  # pmpp/prefixsum_py
    contract = task_contract("def ref_kernel(data):\n    return torch.cumsum(data.double(), 0)\n")
    assert contract.outputs == set() and contract.notes


def test_unusable_references_never_raise():
    for source in ("def ref_kernel(:\n", "x = 1\n", "def ref_kernel():\n    return 1\n", ""):
        contract = task_contract(source)
        assert isinstance(contract, Contract) and contract.outputs == set() and contract.notes


def test_member_positions_by_index_and_unpack():
    import ast

    function = ast.parse("def f(data):\n    a, b = data\n    c = data[2]\n").body[0]
    assert member_positions(function) == {"a": 0, "b": 1, "c": 2}


def test_tf32_sensitivity_follows_the_reference_and_its_tolerance():
    fp32_tight = "import torch\ndef ref_kernel(data):\n    a, b = data\n    return a.float() @ b.float()\n"
    fp32_loose = fp32_tight + "check_implementation = make_match_reference(ref_kernel, rtol=2e-02, atol=8e-03)\n"
    fp4 = "def ref_kernel(data):\n    a, b, c = data\n    c[...] = scaled_mm_fp4(a, b)\n    return c\n"
    assert task_contract(fp32_tight).tf32_sensitive
    assert not task_contract(fp32_loose).tf32_sensitive
    assert not task_contract(fp4).tf32_sensitive
