"""An AST model of a kernel submission, built once and shared by every static rule.

- `Submission` (source.py): the parsed tree, node indexes, scopes, main-guard detection, snippets.
- `Scopes` (scopes.py): what each scope binds and how.
- `Resolver` (names.py): aliases and light obfuscation resolved to dotted names (`torch.cuda.Event`).
- `Folder` (consts.py): constant folding of strings, bytes and ints (concatenation, join, chr, decoders).
- `find_blobs` (blobs.py): base64/hex/zlib/gzip/bz2/lzma/marshal payloads, decoded and classified.
- `State` (state.py): containers that persist across calls and where they are written at run time.
- `Flow` (flow.py): entry points, taint from inputs, where returned values come from.
"""

from referee.submissions.analysis.blobs import Blob, find_blobs, looks_like_code, peel
from referee.submissions.analysis.consts import NOTHING, Folder
from referee.submissions.analysis.flow import Entry, Flow, Origin
from referee.submissions.analysis.names import Resolver, canonical
from referee.submissions.analysis.scopes import Binding, Scope, Scopes
from referee.submissions.analysis.source import Submission
from referee.submissions.analysis.state import Container, State

__all__ = [
    "NOTHING", "Binding", "Blob", "Container", "Entry", "Flow", "Folder", "Origin", "Resolver", "Scope", "Scopes",
    "State", "Submission", "canonical", "find_blobs", "looks_like_code", "peel",
]
