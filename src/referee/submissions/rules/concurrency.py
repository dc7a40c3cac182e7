"""Side streams and background threads: work the timer does not wait for.

CUDA events on the default stream stop before work queued on another stream or done by another thread has
finished; the checker's later `synchronize()` still sees the right answer (Wafer: "stream injection takes three
lines of Python"; KernelBench PR #82). On CPU there is no stream to watch, so the static evidence matters.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls
from referee.submissions.rules.registry import Hit, rule

STREAM_MAKERS = frozenset({"torch.cuda.Stream", "torch.cuda.ExternalStream", "torch.Stream", "torch.cuda.stream",
                           "torch.cuda.set_stream", "torch.cuda.StreamContext", "torch.cuda.streams.Stream",
                           "cupy.cuda.Stream", "torch.cuda.graphs.graph_pool_handle"})
STREAM_STRINGS = ("cudaStreamCreate", "getStreamFromPool", "CUDAStreamGuard", "hipStreamCreate", "cuStreamCreate")
SYNC_METHODS = frozenset({"wait_stream", "wait_event", "synchronize", "record_stream", "wait"})
SYNC_FUNCS = frozenset({"torch.cuda.synchronize", "torch.cuda.current_stream().wait_stream",
                        "torch.accelerator.synchronize", "torch.synchronize"})
SYNC_STRINGS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaStreamWaitEvent", "cudaEventSynchronize",
                "hipStreamSynchronize", "hipDeviceSynchronize", "cuStreamSynchronize", ".synchronize()",
                "wait_stream", "hipStreamWaitEvent", "cuStreamWaitEvent")  # C++ `stream1.synchronize();` included
THREAD_MAKERS = frozenset({"threading.Thread", "threading.Timer", "_thread.start_new_thread",
                           "_thread.start_new", "concurrent.futures.ThreadPoolExecutor",
                           "concurrent.futures.ProcessPoolExecutor", "multiprocessing.Process", "multiprocessing.Pool",
                           "multiprocessing.get_context", "os.fork", "os.forkpty", "asyncio.create_task",
                           "asyncio.ensure_future", "asyncio.run_coroutine_threadsafe", "torch.multiprocessing.spawn",
                           "torch.multiprocessing.Process", "multiprocessing.dummy.Pool",
                           "concurrent.futures.thread.ThreadPoolExecutor"})
STARTERS = frozenset({"start", "submit", "apply_async", "map_async", "run_in_executor", "starmap_async"})
WAITERS = frozenset({"concurrent.futures.wait", "concurrent.futures.as_completed", "asyncio.gather", "asyncio.run",
                     "asyncio.wait"})
JOINERS = frozenset({"join", "result", "wait", "get", "shutdown", "exception", "gather", "as_completed"})


def _live(sub: Submission, node: ast.AST) -> bool:
    return not sub.main_guarded(node)


@rule("STR001", "Side stream without synchronisation", "concurrency", Verdict.FLAG,
      what="Checks for CUDA streams created or entered (`torch.cuda.Stream()`, `with torch.cuda.stream(s)`, "
           "`ExternalStream`, `cudaStreamCreate`/`getStreamFromPool` in inline sources) in a file with no "
           "synchronisation back to the current stream (`wait_stream`, `wait_event`, `synchronize`, "
           "`record_stream`, `cudaStreamSynchronize`/`cudaStreamWaitEvent`).",
      why="Work on a side stream is not covered by timing events on the default stream, so the measured time "
          "ends before the kernel does (kernelbot warns every submission that says 'stream'; KernelGuard "
          "UNSYNC_MULTISTREAM).",
      action="Review by hand; ask for `torch.cuda.current_stream().wait_stream(s)` before returning, and "
             "re-time with a host-side synchronize.",
      example="""
          import torch
          _s = torch.cuda.Stream()
          def custom_kernel(data):
              a, b = data
              out = torch.empty(a.shape[0], b.shape[1], device=a.device)
              with torch.cuda.stream(_s):
                  torch.matmul(a, b, out=out)
              return out
      """,
      use_instead="""
          import torch
          _s = torch.cuda.Stream()
          def custom_kernel(data):
              a, b = data
              with torch.cuda.stream(_s):
                  out = a @ b
              torch.cuda.current_stream().wait_stream(_s)
              return out
      """,
      known_problems="File-level: a synchronisation anywhere outside a `__main__` self-test counts, even in a "
                     "function that is not called.",
      kernelguard=["UNSYNC_MULTISTREAM"])
def unsynced_stream(sub: Submission) -> Iterator[Hit]:
    uses = [(c, n) for c, n in calls(sub, STREAM_MAKERS) if _live(sub, c)]
    text_uses = [(node, s) for node, text in sub.strings for s in STREAM_STRINGS if s in text]
    if not uses and not text_uses:
        return
    for node in sub.nodes(ast.Call):
        func = node.func
        if not _live(sub, node):
            continue
        if isinstance(func, ast.Attribute) and func.attr in SYNC_METHODS:
            return
        if sub.resolver.qualnames(func) & SYNC_FUNCS:
            return
    if any(s in text for _, text in sub.strings for s in SYNC_STRINGS):
        return
    node, name = (uses or text_uses)[0]
    yield Hit(node, f"Uses a side stream (`{name}`) and never synchronises it with the current stream.")


@rule("STR002", "Background threads or processes", "concurrency", Verdict.FLAG,
      what="Checks for threads, thread/process pools, forks and asyncio tasks (`threading.Thread`, `Timer`, "
           "`_thread.start_new_thread`, `concurrent.futures` executors, `multiprocessing`, `os.fork`, "
           "`asyncio.create_task`, classes deriving from `threading.Thread`) started at import time or in a "
           "function that never joins or waits for them.",
      why="Work done by another thread or process can finish after the timer stops, or keep running between "
          "calls to precompute, replay or tamper (KernelGuard THREAD_INJECTION).",
      action="Review by hand; confirm every background task is joined before the entry point returns.",
      example="""
          import threading
          def _warm():
              pass
          threading.Thread(target=_warm, daemon=True).start()
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import torch
          torch.set_num_threads(4)
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["THREAD_INJECTION"])
def background_work(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, THREAD_MAKERS):
        function = sub.function_of(call)
        if function is not None and _joins(sub, function):
            continue  # a worker joined in the same function finishes inside the call
        yield Hit(call, f"Starts concurrent work with `{name}`.")
    for cls in sub.nodes(ast.ClassDef):
        for base in cls.bases:
            if sub.resolver.qualnames(base) & {"threading.Thread", "multiprocessing.Process"}:
                yield Hit(cls, f"Class `{cls.name}` derives from a thread/process class.")


@rule("STR003", "Entry point returns before its background work is joined", "concurrency", Verdict.FAIL,
      what="Checks for an entry point that starts a thread, submits to an executor or creates a task, and "
           "returns without joining it (`join()`, `result()`, `wait()`, a `with` executor block).",
      why="The harness stops its timer when the call returns; work that is still running in the background is "
          "not measured, yet finishes in time for the untimed correctness check.",
      action="Disqualify the run (FAIL).",
      example="""
          import threading, torch
          def custom_kernel(data):
              out = torch.empty_like(data)
              threading.Thread(target=torch.cumsum, args=(data, 0), kwargs={"out": out}).start()
              return out
      """,
      use_instead="""
          import threading, torch
          def custom_kernel(data):
              out = torch.empty_like(data)
              worker = threading.Thread(target=torch.cumsum, args=(data, 0), kwargs={"out": out})
              worker.start()
              worker.join()
              return out
      """,
      kernelguard=["THREAD_INJECTION"])
def unjoined_work(sub: Submission) -> Iterator[Hit]:
    for entry in sub.flow.entries:
        function = entry.function
        if isinstance(function, ast.Lambda):
            continue
        starts, joined = [], False
        managed: set[str] = set()
        for node in sub.own_nodes(function):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        managed.add(item.optional_vars.id)
            if isinstance(node, ast.Await):
                joined = True
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            names = sub.resolver.qualnames(func)
            if (isinstance(func, ast.Attribute) and func.attr in JOINERS) or names & WAITERS:
                joined = True
            elif isinstance(func, ast.Attribute) and func.attr in STARTERS:
                receiver = func.value
                if isinstance(receiver, ast.Name) and receiver.id in managed:
                    continue
                if func.attr == "start" and not _thread_like(sub, receiver, function):
                    continue
                starts.append(node)
            elif names & {"_thread.start_new_thread", "_thread.start_new", "asyncio.create_task",
                          "asyncio.ensure_future"}:
                starts.append(node)
        if starts and not joined:
            yield Hit(starts[0], f"`{getattr(function, 'name', '?')}` starts background work and returns without "
                                 "joining it.")


def _joins(sub: Submission, function: ast.AST) -> bool:
    """`function` joins, waits for or manages (with-block) the concurrent work it starts."""
    for node in sub.own_nodes(function):
        if isinstance(node, (ast.With, ast.AsyncWith, ast.Await)):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in ("join", "result", "wait", "shutdown")) or (
                    sub.resolver.qualnames(func) & WAITERS):
                return True
    return False


def _thread_like(sub: Submission, receiver: ast.AST, function: ast.AST) -> bool:
    """`threading.Thread(...)` itself, or a local name bound to one."""
    makers = {"threading.Thread", "threading.Timer", "multiprocessing.Process", "torch.multiprocessing.Process"}
    if isinstance(receiver, ast.Call):
        return bool(sub.resolver.qualnames(receiver.func) & makers) or _subclass_call(sub, receiver)
    if isinstance(receiver, ast.Name):
        for value in sub.flow.local_values(receiver.id, function):
            if isinstance(value, ast.Call) and (sub.resolver.qualnames(value.func) & makers
                                                or _subclass_call(sub, value)):
                return True
    return False


def _subclass_call(sub: Submission, call: ast.Call) -> bool:
    for name in sub.resolver.qualnames(call.func):
        if name.startswith("__submission__."):
            cls = sub.module_class(name.split(".", 1)[1])
            if cls is not None and any(sub.resolver.qualnames(b) & {"threading.Thread", "multiprocessing.Process"}
                                       for b in cls.bases):
                return True
    return False
