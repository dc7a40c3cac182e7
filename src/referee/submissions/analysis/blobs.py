"""Decoding of encoded blobs (base64, base32/85, hex, zlib/gzip/bz2/lzma, marshal) so hidden code is scanned.

A cheat that ships `exec(zlib.decompress(base64.b64decode("eJy...")))` hides its real code from any scanner
that reads only the visible source. Here every long string or bytes constant, and every argument handed to a
decoder, is peeled layer by layer. What comes out is classified: Python source (scanned like the submission
itself), a marshalled code object (never unmarshalled here, since `marshal` is not safe on hostile bytes: the
identifiers it contains are listed instead), other text, or binary data (a cubin, packed weights).

All decompression is capped (`MAX_OUTPUT`), so a decompression bomb costs at most a few megabytes.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import lzma
import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

MAX_OUTPUT = 4 << 20  # bytes produced by one decompression
MAX_CANDIDATES = 256  # blobs tried per submission
MAX_TOTAL = 8 << 20  # decoded bytes per submission, all blobs together (a file of many bombs stays cheap)
MAX_CODE = 1 << 20  # decoded text larger than this is not parsed as Python
MAX_LAYERS = 6
MIN_LENGTH = 24  # shorter strings are identifiers and messages, not payloads

_B64 = re.compile(rb"^[A-Za-z0-9+/\s]+={0,2}\s*$")
_B64URL = re.compile(rb"^[A-Za-z0-9_\-\s]+={0,2}\s*$")
_HEX = re.compile(rb"^(?:0x)?[0-9a-fA-F\s]+$")
_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")
_CODE_NODES = (ast.Import, ast.ImportFrom, ast.Call, ast.Assign, ast.AugAssign, ast.FunctionDef,
               ast.AsyncFunctionDef, ast.ClassDef, ast.Attribute, ast.Lambda, ast.For, ast.While, ast.With)


@dataclass(frozen=True)
class Blob:
    """One decoded payload: where it sits, which layers were peeled, and what came out."""

    node: ast.AST
    chain: tuple[str, ...]
    kind: str  # "python", "marshal", "text" or "binary"
    data: bytes
    text: str | None = None

    @property
    def line(self) -> int:
        return getattr(self.node, "lineno", 1)

    def describe(self) -> str:
        layers = " + ".join(self.chain) if self.chain else "plain"
        return f"{layers} blob at line {self.line} ({len(self.data)} bytes of {self.kind})"


def decompress(data: bytes) -> bytes:
    """Decompress zlib/gzip/bz2/lzma data by its magic bytes, capped at MAX_OUTPUT; raises ValueError."""
    return _decompress_once(data)[1]


def _decompress_once(data: bytes) -> tuple[str, bytes]:
    if data[:2] == b"\x1f\x8b":
        return "gzip", _capped(zlib.decompressobj(47), data)
    if data[:3] == b"BZh":
        decomp = bz2.BZ2Decompressor()
        return "bz2", decomp.decompress(data, max_length=MAX_OUTPUT)
    if data[:6] == b"\xfd7zXZ\x00":
        decomp2 = lzma.LZMADecompressor()
        return "lzma", decomp2.decompress(data, max_length=MAX_OUTPUT)
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        return "zlib", _capped(zlib.decompressobj(), data)
    try:
        return "deflate", _capped(zlib.decompressobj(-15), data)
    except zlib.error as exc:
        raise ValueError("not compressed") from exc


def _capped(decomp: Any, data: bytes) -> bytes:
    try:
        out = decomp.decompress(data, MAX_OUTPUT)
    except zlib.error as exc:
        raise ValueError(str(exc)) from exc
    if not out:
        raise ValueError("empty")
    return out


def _looks_compressed(data: bytes) -> bool:
    return (data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00"
            or (len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0))


def _looks_marshal(data: bytes) -> bool:
    """A marshalled code object (type byte 'c', with or without the reference flag), bare or behind a .pyc
    header; the control bytes that follow keep ordinary text starting with 'c' out."""
    if data[:1] in (b"c", b"\xe3") and not _printable(data[1:32]):
        return True
    return len(data) > 17 and data[2:4] == b"\r\n" and data[16:17] in (b"c", b"\xe3")


def _text_decode(data: bytes) -> bytes | None:
    """One text-to-bytes layer (base64, urlsafe base64, hex), or None."""
    stripped = b"".join(data.split())
    if len(stripped) < MIN_LENGTH:
        return None
    if _HEX.match(data) and len(stripped.removeprefix(b"0x")) % 2 == 0:
        try:
            return binascii.unhexlify(stripped.removeprefix(b"0x"))
        except (binascii.Error, ValueError):
            pass
    for pattern, decoder in ((_B64, base64.b64decode), (_B64URL, base64.urlsafe_b64decode)):
        if pattern.match(data):
            padded = stripped + b"=" * (-len(stripped) % 4)
            try:
                return decoder(padded)
            except (binascii.Error, ValueError):
                continue
    return None


def peel(payload: bytes | str) -> tuple[tuple[str, ...], bytes]:
    """Undo encoding layers until nothing decodes further; returns the layers and the innermost bytes."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)
    chain: list[str] = []
    for _ in range(MAX_LAYERS):
        if _looks_compressed(data):
            try:
                name, inflated = _decompress_once(data)
                chain.append(name)
                data = inflated
                continue
            except (ValueError, EOFError, lzma.LZMAError, OSError):
                pass
        if _looks_marshal(data):
            break
        decoded = _text_decode(data) if _printable(data) else None
        if decoded is None:
            break
        chain.append("hex" if _HEX.match(data) else "base64")
        data = decoded
    return tuple(chain), data


def classify(data: bytes) -> tuple[str, str | None]:
    """Say what decoded bytes are: python source, marshal, text or binary."""
    if _looks_marshal(data):
        names = sorted({m.decode() for m in _IDENT.findall(data)})
        return "marshal", " ".join(names)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "binary", None
    if not _printable(data):
        return "binary", None
    if looks_like_code(text):
        return "python", text
    return "text", text


def looks_like_code(text: str) -> bool:
    """Parses as Python and does something (imports, calls, assigns, defines), not just a literal."""
    if len(text) > MAX_CODE or "\x00" in text:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(node, _CODE_NODES) for node in ast.walk(tree))


def _printable(data: bytes) -> bool:
    if not data:
        return False
    sample = data[:4096]
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return bad == 0


def find_blobs(sub: Submission) -> list[Blob]:
    """Every encoded payload in the submission that decodes to something, in source order."""
    from referee.submissions.analysis.consts import DECODER_NAMES

    candidates: list[tuple[ast.AST, bytes | str]] = []
    seen: set[int] = set()
    for call in sub.nodes(ast.Call):
        names = sub.resolver.qualnames(call.func)
        if call.args and names & DECODER_NAMES:
            value = sub.folder.fold(call.args[0])
            if isinstance(value, (str, bytes)) and len(value) >= 8:
                candidates.append((call, value))
                seen.add(id(call.args[0]))
    for const in sub.nodes(ast.Constant):
        if id(const) in seen or not isinstance(const.value, (str, bytes)) or len(const.value) < MIN_LENGTH:
            continue
        candidates.append((const, const.value))
    blobs: list[Blob] = []
    budget = MAX_TOTAL
    for node, payload in candidates[:MAX_CANDIDATES]:
        if budget <= 0:
            break
        chain, data = peel(payload)
        budget -= len(data)
        if not chain and not (isinstance(payload, bytes) and _looks_marshal(payload)):
            continue
        kind, text = classify(data)
        blobs.append(Blob(node=node, chain=chain, kind=kind, data=data, text=text))
    blobs.sort(key=lambda b: (b.line, getattr(b.node, "col_offset", 0)))
    return blobs


EXEC_FUNCS = frozenset({"builtins.exec", "builtins.eval", "builtins.compile", "code.InteractiveInterpreter.runsource",
                        "runpy.run_path", "runpy.run_module"})


@dataclass(frozen=True)
class Embedded:
    """Python source hidden inside the submission (decoded blob or string handed to exec/eval/compile)."""

    node: ast.AST
    description: str
    text: str


def embedded_code(sub: Submission, blobs: list[Blob] | None = None) -> list[Embedded]:
    """Hidden Python sources to scan like the submission itself, deduplicated by text, in source order."""
    found: list[Embedded] = []
    seen: set[str] = set()
    for blob in blobs if blobs is not None else find_blobs(sub):
        if blob.kind == "python" and blob.text and blob.text not in seen:
            seen.add(blob.text)
            found.append(Embedded(blob.node, blob.describe(), blob.text))
    for call in sub.nodes(ast.Call):
        if not call.args or not sub.resolver.qualnames(call.func) & EXEC_FUNCS:
            continue
        text = sub.folder.fold_str(call.args[0])
        if text and text not in seen and looks_like_code(text):
            seen.add(text)
            found.append(Embedded(call, f"string executed at line {call.lineno}", text))
    found.sort(key=lambda e: (getattr(e.node, "lineno", 0), getattr(e.node, "col_offset", 0)))
    return found
