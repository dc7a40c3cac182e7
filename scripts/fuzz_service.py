"""Fuzz the audit service's HTTP API with schemathesis against a live `referee serve` (and a worker).

    .venv/bin/python scripts/fuzz_service.py                 # SQLite, 100 examples per operation, all phases
    .venv/bin/python scripts/fuzz_service.py -n 300 --checks all

Starts `referee serve` on a fresh SQLite file (or REFEREE_DATABASE_URL), with an admin token and a few submissions
so that ids resolve, then runs `schemathesis run` on /openapi.json. The contract it holds (and tests/service/
test_fuzz.py checks on a smaller budget in CI): no 5xx, every status code and body as the schema declares.
Exit status: schemathesis's (0 when no check failed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TOKEN = "fuzz-admin-token-0123456789abcdef"
CONTRACT = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
            "response_headers_conformance")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(db_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    from referee.client import wait_until_healthy

    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")},
           "REFEREE_DATABASE_URL": db_url, "REFEREE_ADMIN_TOKEN": TOKEN}
    proc = subprocess.Popen([str(BIN / "referee"), "serve", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(url, timeout=60, alive=lambda: proc.poll() is None, interval=0.2):
        raise SystemExit(f"referee serve did not start:\n{log.read_text()[-2000:]}")
    with httpx.Client(base_url=url, timeout=30) as client:  # data for the id routes to find
        for i in range(3):
            client.post("/submissions", json={"task": "vectoradd_py", "code": f"x = {i}\n"})
    return proc, url


def fuzz(url: str, *, examples: int, checks: str, workers: int = 2, extra: list[str] | None = None,
         cwd: str | None = None) -> int:
    """Run schemathesis; 0 when no check failed. A crash inside schemathesis itself (its `Runtime Error`, e.g. a
    KeyError in Hypothesis's source cache under load) is reported but is not a finding about the service."""
    command = [str(BIN / "schemathesis"), "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {TOKEN}",
               "-n", str(examples), "--checks", checks, "--workers", str(workers), "--continue-on-failure",
               "--no-color", *(extra or [])]
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=cwd)  # its cache goes in cwd
    sys.stdout.write(result.stdout[-20000:])
    sys.stderr.write(result.stderr[-5000:])
    failed = "\nFailures:" in result.stdout or result.returncode not in (0, 1)
    internal = "Runtime Error" in result.stdout
    print(f"fuzz: {'check failures found' if failed else 'no check failed'}"
          + ("; schemathesis itself hit an internal error (see above)" if internal else ""))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--max-examples", type=int, default=100)
    parser.add_argument("--checks", default=CONTRACT, help=f"schemathesis checks (default: {CONTRACT})")
    parser.add_argument("--workers", type=int, default=2)
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="referee-fuzz-") as folder:
        db_url = os.environ.get("REFEREE_DATABASE_URL") or f"sqlite:///{folder}/fuzz.sqlite3"
        proc, url = start(db_url, Path(folder) / "serve.log")
        try:
            status = fuzz(url, examples=args.max_examples, checks=args.checks, workers=args.workers, extra=extra,
                          cwd=folder)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        server_errors = [line for line in (Path(folder) / "serve.log").read_text().splitlines()
                         if "unhandled error" in line]
        print(f"server log: {len(server_errors)} unhandled error(s)")
        return status or (1 if server_errors else 0)


if __name__ == "__main__":
    sys.exit(main())
