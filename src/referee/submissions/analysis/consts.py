"""Constant folding of the small expressions that hide names: `"elap" + "sed_time"`, `"".join([...])`,
`chr(101) + ...`, `bytes.fromhex(...)`, `base64.b64decode(...)`, `s[::-1]`, f-strings of constants.

Only pure, bounded operations are evaluated (nothing from the submission is imported or called), with a size
cap so that `"x" * 10**9` cannot exhaust memory. Anything else folds to `NOTHING`.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
from typing import TYPE_CHECKING, Any

from referee.submissions.analysis.blobs import decompress

if TYPE_CHECKING:
    from referee.submissions.analysis.source import Submission

NOTHING: Any = object()
MAX_SIZE = 1 << 20  # biggest folded string/bytes/sequence
MAX_INT_BITS = 256

_STR_METHODS = {"upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold"}
_DECODERS = {
    "base64.b64decode": base64.b64decode, "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode, "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode, "base64.b85decode": base64.b85decode,
    "base64.a85decode": base64.a85decode, "base64.decodebytes": base64.decodebytes,
    "binascii.unhexlify": binascii.unhexlify, "binascii.a2b_hex": binascii.a2b_hex,
    "binascii.a2b_base64": binascii.a2b_base64, "bytes.fromhex": bytes.fromhex,
    "builtins.bytes.fromhex": bytes.fromhex, "builtins.bytearray.fromhex": bytes.fromhex,
}
DECODER_NAMES = frozenset(_DECODERS) | {
    "codecs.decode", "codecs.encode", "zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress",
    "marshal.loads", "pickle.loads",
}


class Folder:
    """Folds expressions of one submission to Python constants, memoised per node."""

    def __init__(self, sub: Submission) -> None:
        self.sub = sub
        self._memo: dict[ast.AST, Any] = {}
        self._busy: set[ast.AST] = set()

    def fold(self, node: ast.AST | None, env: dict[str, Any] | None = None) -> Any:
        """The constant value of `node`, or NOTHING."""
        if node is None:
            return NOTHING
        if env:
            return self._fold(node, env)
        if node in self._memo:
            return self._memo[node]
        if node in self._busy:
            return NOTHING
        self.sub.tick()
        self._busy.add(node)
        try:
            value = self._fold(node, None)
        except (ValueError, TypeError, OverflowError, IndexError, KeyError, UnicodeError, binascii.Error,
                ZeroDivisionError, LookupError, MemoryError):
            value = NOTHING
        finally:
            self._busy.discard(node)
        if not _small(value):
            value = NOTHING
        self._memo[node] = value
        return value

    def fold_str(self, node: ast.AST | None) -> str | None:
        value = self.fold(node)
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return value if isinstance(value, str) else None

    def fold_int(self, node: ast.AST | None) -> int | None:
        value = self.fold(node)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # -- evaluation -----------------------------------------------------------------------------------------
    def _fold(self, node: ast.AST, env: dict[str, Any] | None) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if env and node.id in env:
                return env[node.id]
            return self._fold_name(node)
        if isinstance(node, ast.BinOp):
            return self._fold_binop(node, env)
        if isinstance(node, ast.UnaryOp):
            operand = self._sub(node.operand, env)
            if isinstance(operand, (int, float)) and isinstance(node.op, ast.USub):
                return -operand
            if isinstance(operand, (int, float)) and isinstance(node.op, ast.UAdd):
                return operand
            return NOTHING
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self._sub(e, env) for e in node.elts]
            if any(i is NOTHING for i in items):
                return NOTHING
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                part = self._sub(value.value if isinstance(value, ast.FormattedValue) else value, env)
                if part is NOTHING or (isinstance(value, ast.FormattedValue) and value.format_spec is not None):
                    return NOTHING
                parts.append(part if isinstance(part, str) else str(part))
            return "".join(parts)
        if isinstance(node, ast.Subscript):
            return self._fold_subscript(node, env)
        if isinstance(node, ast.Call):
            return self._fold_call(node, env)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self._fold_comprehension(node, env)
        return NOTHING

    def _sub(self, node: ast.AST, env: dict[str, Any] | None) -> Any:
        return self._fold(node, env) if env else self.fold(node)

    def _fold_name(self, node: ast.Name) -> Any:
        scope, bindings = self.sub.scopes.bindings(node.id, node)
        if scope is None or not bindings or node.id in scope.params:
            return NOTHING
        values = []
        for binding in bindings:
            if binding.kind != "assign" or binding.value is None:
                return NOTHING
            values.append(self.fold(binding.value))
        first = values[0]
        if first is NOTHING or any(v is NOTHING or v != first for v in values[1:]):
            return NOTHING
        return first

    def _fold_binop(self, node: ast.BinOp, env: dict[str, Any] | None) -> Any:
        # Flatten left-deep chains of `+` so that 2,000 concatenated string pieces do not recurse 2,000 deep.
        if isinstance(node.op, ast.Add):
            operands: list[ast.AST] = []
            current: ast.AST = node
            while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
                operands.append(current.right)
                current = current.left
            operands.append(current)
            values = [self._sub(o, env) for o in reversed(operands)]
            if any(v is NOTHING for v in values):
                return NOTHING
            result = values[0]
            for value in values[1:]:
                result = result + value
                if not _small(result):
                    return NOTHING
            return result
        left, right = self._sub(node.left, env), self._sub(node.right, env)
        if left is NOTHING or right is NOTHING:
            return NOTHING
        if isinstance(node.op, ast.Mult):
            count = right if isinstance(right, int) else left if isinstance(left, int) else None
            seq = left if isinstance(right, int) else right
            if count is not None and isinstance(seq, (str, bytes, list, tuple)) and len(seq) * count > MAX_SIZE:
                return NOTHING
            if (isinstance(left, int) and isinstance(right, int)
                    and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS):
                return NOTHING
            return left * right
        if isinstance(node.op, ast.Mod) and isinstance(left, (str, bytes)):
            return left % right
        if isinstance(left, int) and isinstance(right, int) and not isinstance(node.op, ast.Pow):
            ops = {ast.Sub: int.__sub__, ast.FloorDiv: int.__floordiv__, ast.Mod: int.__mod__,
                   ast.BitXor: int.__xor__, ast.BitAnd: int.__and__, ast.BitOr: int.__or__,
                   ast.LShift: lambda a, b: a << b if b < MAX_INT_BITS else NOTHING, ast.RShift: int.__rshift__}
            fn = ops.get(type(node.op))
            return fn(left, right) if fn else NOTHING
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            ops2 = {ast.Sub: float.__sub__, ast.Div: float.__truediv__}
            fn2 = ops2.get(type(node.op))
            return fn2(float(left), float(right)) if fn2 else NOTHING
        return NOTHING

    def _fold_subscript(self, node: ast.Subscript, env: dict[str, Any] | None) -> Any:
        value = self._sub(node.value, env)
        if value is NOTHING or not isinstance(value, (str, bytes, tuple, list)):
            return NOTHING
        if isinstance(node.slice, ast.Slice):
            parts = [None if p is None else self._sub(p, env) for p in (node.slice.lower, node.slice.upper,
                                                                        node.slice.step)]
            if any(p is NOTHING for p in parts):
                return NOTHING
            return value[slice(*parts)]
        index = self._sub(node.slice, env)
        return value[index] if isinstance(index, int) else NOTHING

    def _fold_call(self, node: ast.Call, env: dict[str, Any] | None) -> Any:
        func = node.func
        args = [self._sub(a, env) for a in node.args]
        if any(a is NOTHING for a in args) or any(isinstance(a, ast.Starred) for a in node.args):
            return NOTHING
        kwargs = {k.arg: self._sub(k.value, env) for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute):
            receiver = self._sub(func.value, env)
            if receiver is not NOTHING:
                return _fold_method(receiver, func.attr, args, kwargs)
        names = self.sub.resolver.qualnames(func)
        for name in names:
            result = self._fold_function(name, args, kwargs, node, env)
            if result is not NOTHING:
                return result
        return NOTHING

    def _fold_function(self, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call,
                       env: dict[str, Any] | None) -> Any:
        if name in _DECODERS and args and isinstance(args[0], (str, bytes)):
            return _DECODERS[name](args[0])
        if name in ("codecs.decode", "codecs.encode") and args:
            encoding = args[1] if len(args) > 1 else kwargs.get("encoding", "utf-8")
            if isinstance(encoding, str) and isinstance(args[0], (str, bytes)):
                compressed = encoding.replace("-", "_").lower() in ("zlib", "zlib_codec", "zip", "bz2", "bz2_codec")
                if name == "codecs.encode":
                    return NOTHING if compressed else codecs.encode(args[0], encoding)
                if compressed:
                    return decompress(args[0]) if isinstance(args[0], bytes) else NOTHING
                return codecs.decode(args[0], encoding)
            return NOTHING
        if name in ("zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress") and args:
            return decompress(args[0]) if isinstance(args[0], bytes) else NOTHING
        if name == "builtins.chr" and len(args) == 1 and isinstance(args[0], int):
            return chr(args[0])
        if name == "builtins.ord" and len(args) == 1 and isinstance(args[0], str) and len(args[0]) == 1:
            return ord(args[0])
        if name == "builtins.str" and len(args) == 1 and isinstance(args[0], (str, int, float)):
            return str(args[0])
        if name == "builtins.int" and args and isinstance(args[0], (str, int, float)):
            return int(args[0], args[1]) if len(args) == 2 and isinstance(args[0], str) else int(args[0])
        if name in ("builtins.bytes", "builtins.bytearray") and len(args) == 1 and isinstance(args[0], (list, tuple)):
            return bytes(args[0])
        if name in ("builtins.bytes", "builtins.bytearray") and len(args) == 2 and isinstance(args[0], str):
            return args[0].encode(args[1])
        if name in ("builtins.reversed", "builtins.list", "builtins.tuple", "builtins.sorted") and len(args) == 1:
            seq = args[0]
            if isinstance(seq, (str, bytes, list, tuple)):
                items = list(seq)
                if name == "builtins.reversed":
                    items.reverse()
                elif name == "builtins.sorted":
                    items.sort()
                return tuple(items) if name == "builtins.tuple" else items
        return NOTHING

    def _fold_comprehension(self, node: ast.ListComp | ast.GeneratorExp, env: dict[str, Any] | None) -> Any:
        if len(node.generators) != 1 or node.generators[0].ifs or node.generators[0].is_async:
            return NOTHING
        gen = node.generators[0]
        iterable = self._sub(gen.iter, env)
        if iterable is NOTHING or not isinstance(iterable, (str, bytes, list, tuple)) or len(iterable) > 100_000:
            return NOTHING
        if not isinstance(gen.target, ast.Name):
            return NOTHING
        out = []
        for item in iterable:
            scope = dict(env or {})
            scope[gen.target.id] = item
            value = self._fold(node.elt, scope)
            if value is NOTHING:
                return NOTHING
            out.append(value)
        return out


def _fold_method(receiver: Any, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if isinstance(receiver, str):
        if method == "join" and len(args) == 1 and isinstance(args[0], (list, tuple, str)):
            items = list(args[0])
            return receiver.join(items) if all(isinstance(i, str) for i in items) else NOTHING
        if method in _STR_METHODS and not args:
            return getattr(receiver, method)()
        if method == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args):
            return receiver.replace(*args)
        if method == "encode":
            return receiver.encode(*(a for a in args if isinstance(a, str)))
        if method == "format" and all(isinstance(a, (str, int, float)) for a in args):
            return receiver.format(*args, **kwargs)
        if method == "split" and len(args) <= 1:
            return receiver.split(*args)
        if method == "translate":
            return NOTHING
    if isinstance(receiver, (bytes, bytearray)):
        if method == "decode":
            encoding = args[0] if args else kwargs.get("encoding", "utf-8")
            return bytes(receiver).decode(encoding) if isinstance(encoding, str) else NOTHING
        if method == "join" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            return bytes(receiver).join(args[0])
        if method == "hex" and not args:
            return bytes(receiver).hex()
    if receiver is bytes and method == "fromhex" and len(args) == 1 and isinstance(args[0], str):
        return bytes.fromhex(args[0])
    return NOTHING


def _small(value: Any) -> bool:
    if isinstance(value, (str, bytes, bytearray, list, tuple)):
        return len(value) <= MAX_SIZE
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() <= MAX_INT_BITS * 4
    return True
