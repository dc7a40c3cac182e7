"""An AST model of a kernel submission, built once and shared by every static rule.

- `Submission` (source.py): the parsed tree, node indexes, scopes of nodes, main-guard detection, snippets, and
  lazily built analyses (`scopes`, `resolver`, `folder`, `flow`, `writes`, `blobs`, `embedded`, `strings`).
- `Scopes` (scopes.py): what each scope binds and how.
- `Resolver` (names.py): aliases and light obfuscation resolved to dotted names (`torch.cuda.Event`).
- `Folder` (consts.py): constant folding of strings, bytes and ints (concatenation, join, chr, decoders).
- `find_blobs`, `embedded_code` (blobs.py): base64/hex/zlib/gzip/bz2/lzma/marshal payloads, decoded and
  classified, plus strings handed to exec/eval/compile.
- `collect_writes` (writes.py): writes to objects the submission does not own, with resolved targets.
- `State` (state.py): containers that persist across calls and where they are written.
- `EntryPoints` (entry.py), `Taint` (taint.py), `Coverage` (cover.py), `Flow` (flow.py): which function the
  harness calls, what is computed from its inputs, where returned values come from, and whether a stored or
  uninitialised buffer is rewritten before it is returned.

Nothing here imports or runs the submission; decoding is size-capped and marshal data is never unmarshalled.
"""

from referee.submissions.analysis.blobs import Blob, Embedded, embedded_code, find_blobs, looks_like_code, peel
from referee.submissions.analysis.consts import NOTHING, Folder
from referee.submissions.analysis.cover import Coverage
from referee.submissions.analysis.entry import Entry, EntryPoints
from referee.submissions.analysis.flow import Flow, Origin
from referee.submissions.analysis.names import Resolver, canonical
from referee.submissions.analysis.scopes import Binding, Scope, Scopes
from referee.submissions.analysis.source import Submission
from referee.submissions.analysis.state import Container, State
from referee.submissions.analysis.taint import Taint
from referee.submissions.analysis.writes import Write, collect_writes

__all__ = [
    "NOTHING", "Binding", "Blob", "Container", "Coverage", "Embedded", "Entry", "EntryPoints", "Flow", "Folder",
    "Origin", "Resolver", "Scope", "Scopes", "State", "Submission", "Taint", "Write", "canonical", "collect_writes",
    "embedded_code", "find_blobs", "looks_like_code", "peel",
]
