"""Helpers shared by the example tasks (the reference-kernels layout keeps them in ../utils.py)."""

import torch


def set_seed(seed: int) -> torch.Generator:
    """A private generator so input generation never touches the global RNG."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


def verbose_allclose(received, expected, rtol: float, atol: float, max_print: int = 5) -> list[str]:
    """Mismatch descriptions (empty when the tensors agree within rtol/atol)."""
    if not isinstance(received, torch.Tensor) or type(received) is not torch.Tensor:
        return [f"output is {type(received).__name__}, expected torch.Tensor"]
    if received.shape != expected.shape:
        return [f"shape mismatch: got {tuple(received.shape)}, expected {tuple(expected.shape)}"]
    if received.dtype != expected.dtype:
        return [f"dtype mismatch: got {received.dtype}, expected {expected.dtype}"]
    diff = (received.double() - expected.double()).abs()
    bad = ~(diff <= atol + rtol * expected.double().abs())
    bad |= torch.isnan(received) & ~torch.isnan(expected)
    count = int(bad.sum().item())
    if count == 0:
        return []
    lines = [f"{count} of {received.numel()} elements differ (rtol={rtol}, atol={atol})"]
    for idx in bad.nonzero()[:max_print].tolist():
        pos = tuple(idx)
        lines.append(f"  at {pos}: got {received[pos].item():.6g}, expected {expected[pos].item():.6g}")
    return lines


def make_match_reference(reference, rtol: float, atol: float):
    """check_implementation(data, output) -> (ok, message), comparing against reference(data)."""

    def check_implementation(data, output):
        expected = reference(data)
        problems = verbose_allclose(output, expected, rtol=rtol, atol=atol)
        if problems:
            return False, "mismatch found! custom implementation doesn't match reference: " + "; ".join(problems)
        return True, ""

    return check_implementation
