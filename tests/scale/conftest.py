"""One local Ray instance per test session (about 4 s and 0.8 GiB on a quiet machine); CI installs `.[dev,ray]`.

It declares one logical GPU so the GPU-audit test can see Ray hand a GPU to a worker; nothing here runs CUDA.
"""

from __future__ import annotations

import os

import pytest

from referee.loopholes.problems import load_problems


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[dev,ray]')")
    if not ray.is_initialized():
        here = os.path.dirname(os.path.abspath(__file__))  # test backends are imported by module path in workers
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def problems():
    return load_problems()
