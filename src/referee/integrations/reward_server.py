"""`referee loopholes serve`: an HTTP reward server for trainers that fetch rewards remotely.

Wire format: OpenRLHF's remote reward model (checked against OpenRLHF/OpenRLHF 3c3be62,
`openrlhf/utils/agent.py:_fetch_rewards_via_http` and `openrlhf/cli/serve_rm.py`): the trainer POSTs

    {"query": [full decoded text, prompt + response], "prompts": [prompt], "labels": [label]}

to `--remote_rm_url http://host:port/get_reward` and reads `{"rewards": [...], "scores": [...], "extra_logs": {...}}`.
A label names the problem: a problem id, or a JSON object `{"problem_id": ..., "mode": ...}` (or a full upstream
row). The response text is the query with its prompt prefix removed. Clients that hold the response text already
may send `"completions": [...]` instead of `query`.

`rewards` and `scores` are the foolable reward; `extra_logs` carries `referee_gt_correct`, `referee_exploited`, ...
(OpenRLHF logs them to wandb), never the reward. Discipline as in the audit service: with a token configured,
`Authorization: Bearer <token>` is required (401 otherwise, constant-time compare); malformed batches are 422 with
the offending index; bodies over the limit are 413; nothing the client sends can cause a 500 with a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Body, Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from referee.integrations.core import LOG_FIELDS, ProblemRefError, RewardEngine, log_values

log = logging.getLogger("referee.reward_server")

MAX_BATCH = 4096
MAX_BODY_BYTES = 64 << 20
MAX_TEXT_CHARS = 200_000


def parse_label(label: Any) -> dict[str, Any]:
    """A label as a problem row: a dict, a JSON object string, or a bare problem id."""
    if isinstance(label, Mapping):
        return dict(label)
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            value = json.loads(label)
        except json.JSONDecodeError as exc:
            raise ProblemRefError(f"label is not valid JSON: {exc.msg}") from None
        if isinstance(value, Mapping):
            return dict(value)
    if isinstance(label, str | int) and not isinstance(label, bool) and str(label).strip():
        return {"problem_id": str(label).strip()}
    raise ProblemRefError("label must be a problem id or an object with problem_id (and mode)")


def response_of(query: str, prompt: str | None) -> str:
    """The response part of an OpenRLHF query (prompt + response, decoded with special tokens)."""
    if prompt and query.startswith(prompt):
        return query[len(prompt):]
    if prompt:  # re-tokenising can change whitespace at the join: cut after the prompt's last line instead
        tail = prompt.rstrip().rsplit("\n", 1)[-1]
        at = query.rfind(tail) if tail else -1
        if at >= 0:
            return query[at + len(tail):]
    return query


def create_reward_app(engine: RewardEngine | None = None, *, token: str | None = None,
                      max_batch: int = MAX_BATCH, max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    from referee import __version__
    from referee.service.app import BodyLimit
    from referee.service.deps import bearer, token_matches

    engine = engine or RewardEngine()

    def authorized(request: Request) -> None:
        if not token:
            return
        if not request.headers.get("authorization"):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Missing Authorization header",
                                headers={"WWW-Authenticate": "Bearer"})
        if not token_matches(bearer(request), token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Invalid token",
                                headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="referee reward server", version=__version__,
                  description="Loophole-environment rewards for remote-reward RL trainers (OpenRLHF style).")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/get_reward", dependencies=[Depends(authorized)])
    @app.post("/reward", dependencies=[Depends(authorized)], include_in_schema=False)
    async def get_reward(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        completions, rows = _batch(body, max_batch)
        tasks = []
        for i, (completion, row) in enumerate(zip(completions, rows, strict=True)):
            try:
                tasks.append(engine.task(completion, row))
            except ProblemRefError as exc:
                raise HTTPException(422, detail=f"item {i}: {exc}") from None
        try:
            rewards = await asyncio.to_thread(engine.grade_tasks, tasks)
        except Exception:
            log.exception("grading failed")
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="grading failed; retry later",
                                headers={"Retry-After": "5"}) from None
        values = [log_values(r) for r in rewards]
        scores = [r.reward for r in rewards]
        return {"rewards": scores, "scores": scores,
                "extra_logs": {f"referee_{n}": [v[n] for v in values] for n in LOG_FIELDS},
                "status": [r.status for r in rewards]}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:300]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    app.add_middleware(BodyLimit, limit=max_body_bytes, task_limit=max_body_bytes)
    app.state.engine = engine
    return app


def _batch(body: dict[str, Any], max_batch: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Validate an OpenRLHF batch into (responses, problem rows); HTTP 422 naming the first bad item."""
    def bad(detail: str) -> HTTPException:
        return HTTPException(422, detail=detail)

    texts = body.get("completions", body.get("query"))
    labels = body.get("labels")
    prompts = body.get("prompts")
    if not isinstance(texts, list) or not isinstance(labels, list):
        raise bad("expected lists 'query' (or 'completions') and 'labels'")
    if len(texts) != len(labels) or (prompts is not None and (not isinstance(prompts, list)
                                                              or len(prompts) != len(texts))):
        raise bad("'query', 'prompts' and 'labels' must have the same length")
    if len(texts) > max_batch:
        raise bad(f"batch of {len(texts)} is over the limit of {max_batch}")
    from_query = "completions" not in body
    completions: list[str] = []
    rows: list[dict[str, Any]] = []
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            raise bad(f"item {i}: the text must be a string of at most {MAX_TEXT_CHARS} characters")
        prompt = prompts[i] if prompts is not None else None
        if prompt is not None and not isinstance(prompt, str):
            raise bad(f"item {i}: prompts must be strings")
        try:
            rows.append(parse_label(label))
        except ProblemRefError as exc:
            raise bad(f"item {i}: {exc}") from None
        completions.append(response_of(text, prompt) if from_query else text)
    return completions, rows


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def serve(
    host: str = "127.0.0.1", port: int = 8100, problems: str | None = None, workers: int | None = None,
    ray: str | None = None, token: str | None = None, allow_no_token: bool = False, log_level: str = "info",
) -> int:
    """Run the reward server (uvicorn, one process: the grader's sandbox pool is the parallelism)."""
    import uvicorn

    if not token and host not in LOOPBACK and not allow_no_token:
        return -1  # the CLI turns this into a usage error naming the fix
    engine = RewardEngine(problems, workers=workers, ray=ray)
    engine.index  # load the problems now: a bad path fails before binding  # noqa: B018
    engine.executor  # noqa: B018  (start the sandbox now, not on the first request)
    try:
        uvicorn.run(create_reward_app(engine, token=token), host=host, port=port, log_level=log_level.lower(),
                    access_log=log_level.lower() == "debug")
    finally:
        engine.close()
    return 0
