"""Encoded payloads: peeled layer by layer, classified, capped, and embedded code collected for scanning."""

from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import marshal
import zlib

import pytest

from referee.submissions.analysis import Submission, find_blobs, looks_like_code, peel
from referee.submissions.analysis.blobs import MAX_OUTPUT, classify, embedded_code

CODE = b"import torch\ntorch.cuda.synchronize = lambda: None\n"


@pytest.mark.parametrize("encode, chain", [
    (lambda b: base64.b64encode(b), ("base64",)),
    (lambda b: base64.urlsafe_b64encode(zlib.compress(b)), ("base64", "zlib")),
    (lambda b: base64.b64encode(gzip.compress(b)), ("base64", "gzip")),
    (lambda b: base64.b64encode(bz2.compress(b)), ("base64", "bz2")),
    (lambda b: base64.b64encode(lzma.compress(b)), ("base64", "lzma")),
    (lambda b: zlib.compress(b).hex().encode(), ("hex", "zlib")),
    (lambda b: base64.b64encode(base64.b64encode(zlib.compress(b))), ("base64", "base64", "zlib")),
    (lambda b: zlib.compress(b), ("zlib",)),
])
def test_peel_undoes_layers(encode, chain):
    found_chain, data = peel(encode(CODE))
    assert found_chain == chain and data == CODE
    assert classify(data) == ("python", CODE.decode())


def test_classify_other_payloads():
    assert classify(b"\x7fELF\x02\x01\x01\x00" + bytes(64))[0] == "binary"
    assert classify(b".version 8.0\n.target sm_90\n")[0] == "text"
    assert classify(b'{"block": 128, "warps": 4}')[0] == "text"  # JSON parses but does nothing
    kind, names = classify(marshal.dumps(compile("import gc\ngc.get_objects()", "<x>", "exec")))
    assert kind == "marshal" and "get_objects" in names.split()


def test_looks_like_code():
    assert looks_like_code("import os\nos.system('x')")
    assert not looks_like_code("hello world")
    assert not looks_like_code("[1, 2, 3]")
    assert not looks_like_code("x = 1\x00")


def test_decompression_is_capped():
    bomb = zlib.compress(b"\0" * (MAX_OUTPUT * 8))
    chain, data = peel(base64.b64encode(bomb))
    assert chain == ("base64", "zlib") and len(data) <= MAX_OUTPUT


def test_find_blobs_in_a_submission():
    payload = base64.b64encode(zlib.compress(CODE)).decode()
    text = f'''import base64, zlib
A = "{payload}"
B = zlib.decompress(base64.b64decode("{payload}"))
C = "just a long human sentence with spaces, not base64 at all!"
'''
    sub = Submission(text)
    blobs = find_blobs(sub)
    python = [b for b in blobs if b.kind == "python"]
    assert python and all(b.text == CODE.decode() for b in python)
    assert {b.line for b in python} == {2, 3}
    assert "blob at line 2" in python[0].describe()


def test_embedded_code_collects_blobs_and_exec_strings_once():
    payload = base64.b64encode(CODE).decode()
    sub = Submission(f'P = "{payload}"\nexec("import gc\\ngc.collect()")\nexec("import gc\\ngc.collect()")\n')
    found = embedded_code(sub)
    assert [e.text for e in found] == [CODE.decode(), "import gc\ngc.collect()"]
    assert found[1].description == "string executed at line 2"
