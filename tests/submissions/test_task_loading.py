"""Tasks in the gpu-mode reference-kernels layout: folders, file dicts, bundled names, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from referee.submissions.task import (
    AuditSettings,
    TaskError,
    bundled_task_names,
    bundled_tasks_dir,
    load_task,
    resolve_task,
    task_from_files,
)

REFERENCE = """
import torch
from utils import make_match_reference

def ref_kernel(data):
    return data * 2

def generate_input(size, seed):
    g = torch.Generator(device="{device}")
    g.manual_seed(seed)
    return torch.randn(size, generator=g, device="{device}")

check_implementation = make_match_reference(ref_kernel, rtol=1e-5, atol=1e-6)
"""
TASK_YML = """
files:
  - {"name": "submission.py", "source": "@SUBMISSION@"}
  - {"name": "reference.py", "source": "reference.py"}
  - {"name": "utils.py", "source": "../utils.py"}
lang: "py"
tests:
  - {"size": 8, "seed": 1}
benchmarks:
  - {"size": 64, "seed": 2}
"""


def test_bundled_tasks_load_with_shared_utils_from_the_parent_folder():
    names = bundled_task_names()
    assert names == ["matmul_py", "prefixsum_py", "softmax_py", "vectoradd_py"]
    for name in names:
        task = load_task(bundled_tasks_dir() / name)
        assert {"reference.py", "task.py", "utils.py"} <= set(task.files)
        assert "def make_match_reference" in task.files["utils.py"]
        assert task.tests and task.benchmarks and task.lang == "py"
        assert not task.needs_cuda and not task.warnings
        assert task.submission_name == "submission.py"


def test_resolve_task_accepts_a_folder_or_a_bundled_name(tmp_path):
    assert resolve_task("softmax_py").settings.size_args == ("rows", "cols")
    assert resolve_task(bundled_tasks_dir() / "matmul_py").name == "matmul_py"
    with pytest.raises(TaskError, match="neither a task folder nor a bundled task"):
        resolve_task(tmp_path / "nope")


def test_task_from_files_matches_by_run_name_or_source_path():
    by_source = task_from_files("t", {"task.yml": TASK_YML, "reference.py": REFERENCE.format(device="cpu"),
                                      "../utils.py": "def make_match_reference(*a, **k): pass\n"})
    by_name = task_from_files("t", {"task.yml": TASK_YML, "reference.py": REFERENCE.format(device="cpu"),
                                    "utils.py": "def make_match_reference(*a, **k): pass\n"})
    assert by_source.files["utils.py"] == by_name.files["utils.py"]
    assert by_source.tests == [{"size": 8, "seed": 1}]


def test_missing_optional_files_become_warnings_not_errors():
    task = task_from_files("t", {"task.yml": TASK_YML, "reference.py": REFERENCE.format(device="cpu")})
    assert task.warnings == ("utils.py: not provided; left out",)


def test_cuda_need_is_detected_from_the_reference_or_declared():
    gpu = task_from_files("g", {"task.yml": TASK_YML, "reference.py": REFERENCE.format(device="cuda")})
    cpu = task_from_files("c", {"task.yml": TASK_YML, "reference.py": REFERENCE.format(device="cpu")})
    declared = task_from_files("d", {"task.yml": TASK_YML + "referee:\n  device: cpu\n",
                                     "reference.py": REFERENCE.format(device="cuda")})
    assert gpu.needs_cuda and not cpu.needs_cuda and not declared.needs_cuda
    commented = REFERENCE.format(device="cpu") + "\n# x = y.cuda()  (a comment is not an allocation)\n"
    assert not task_from_files("k", {"task.yml": TASK_YML, "reference.py": commented}).needs_cuda


@pytest.mark.parametrize(("files", "message"), [
    ({"reference.py": "x"}, "task.yml is missing"),
    ({"task.yml": "tests: [", "reference.py": "x"}, "not valid YAML"),
    ({"task.yml": "- 1\n- 2\n", "reference.py": "x"}, "mapping at the top level"),
    ({"task.yml": TASK_YML}, "reference.py is missing"),
    ({"task.yml": "tests: [5]\n", "reference.py": REFERENCE}, r"tests\[0\] must be a non-empty mapping"),
    ({"task.yml": "tests:\n  - {size: {a: 1}}\n", "reference.py": REFERENCE}, "must be a number"),
    ({"task.yml": "tests:\n  - {size: [[1], 2]}\n", "reference.py": REFERENCE}, "short list"),
    ({"task.yml": "tests:\n  - {size: 1}\nreferee: {colour: red}\n", "reference.py": REFERENCE},
     "unknown `referee:` keys"),
    ({"task.yml": "tests:\n  - {size: 1}\nreferee: {device: tpu}\n", "reference.py": REFERENCE},
     "device must be"),
    ({"task.yml": "files:\n  - {name: ../evil.py, source: x}\ntests:\n  - {size: 1}\n", "reference.py": REFERENCE},
     "plain file name"),
])
def test_malformed_tasks_get_a_clear_error(files, message):
    with pytest.raises(TaskError, match=message):
        task_from_files("bad", files)


def test_load_task_errors_name_the_folder(tmp_path: Path):
    with pytest.raises(TaskError, match=r"no task\.yml"):
        load_task(tmp_path)
    (tmp_path / "task.yml").write_text(TASK_YML)
    with pytest.raises(TaskError, match="does not exist"):
        load_task(tmp_path)
    (tmp_path / "reference.py").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(TaskError, match="not UTF-8"):
        load_task(tmp_path)


def test_audit_settings_defaults_are_conservative():
    settings = AuditSettings()
    assert settings.compare == "elementwise" and settings.perturb and not settings.inputs_writable
    assert AuditSettings.from_yaml({"size_args": ["n"]}).size_args == ("n",)


def test_layouts_the_probes_cannot_run_load_with_a_reason():
    """A reference without the generate_input/check_implementation pair (princeton's cross_entropy) or a task.yml
    without inputs still loads: the audit runs its static rules and says why the probes could not run."""
    no_entry = task_from_files("k", {"task.yml": TASK_YML, "reference.py": "def reference_forward(x): return x\n"},
                               strict=False)
    assert "does not define generate_input, check_implementation" in no_entry.probe_blocker
    no_inputs = task_from_files("k", {"task.yml": "tests: []\nbenchmarks: []\n", "reference.py": REFERENCE},
                                strict=False)
    assert "no tests and no benchmarks" in no_inputs.probe_blocker
    # registering such a task (the service) is refused with the same reason
    with pytest.raises(TaskError, match="does not define generate_input"):
        task_from_files("k", {"task.yml": TASK_YML, "reference.py": "def reference_forward(x): return x\n"})
    assert task_from_files("k", {"task.yml": TASK_YML, "reference.py": REFERENCE}).probe_blocker is None


def test_list_valued_arguments_and_world_size_are_read():
    """nvfp4_group_gemm lists per-group sizes; kernelbot's gather declares world_size and multi_gpu."""
    group = task_from_files("g", {"task.yml": "tests:\n  - {m: [96, 128], n: [128, 256], g: 2, seed: 1111}\n",
                                  "reference.py": REFERENCE})
    assert group.tests[0]["m"] == [96, 128] and group.world_size == 1 and not group.distributed
    gather = task_from_files("d", {"task.yml": "multi_gpu: true\ntests:\n  - {seed: 5, world_size: 4}\n",
                                   "reference.py": "def generate_input(seed, world_size, rank): pass\n"
                                                   "def check_implementation(d, o): pass\n"})
    assert gather.world_size == 4 and gather.distributed and not gather.has_reference_kernel
