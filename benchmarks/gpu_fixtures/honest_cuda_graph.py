"""expected: PASS -- a CUDA graph per input shape, replayed after copying the *current* inputs in.

Looks like a cache keyed by shape, but every call copies the new values into the graph's static inputs and returns
a fresh copy of the output, so reused buffers with new values get new answers.
"""
import torch
from task import input_t, output_t

_graphs = {}


def _capture(a: torch.Tensor, b: torch.Tensor):
    static_a, static_b = a.clone(), b.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        static_out = static_a + static_b  # warm-up outside the graph
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = static_a + static_b
    return graph, static_a, static_b, static_out


def custom_kernel(data: input_t) -> output_t:
    a, b = data
    key = (tuple(a.shape), a.dtype, a.device)
    if key not in _graphs:
        _graphs[key] = _capture(a, b)
    graph, static_a, static_b, static_out = _graphs[key]
    static_a.copy_(a)
    static_b.copy_(b)
    graph.replay()
    return static_out.clone()
