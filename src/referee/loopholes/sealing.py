"""Expected values released to a child travel sealed, so the fork server never holds them in the clear.

In eq_override mode the verdict service sends the child the expected values of its non-plain outputs (after its
outputs are committed). Everything on the way passes through the fork server, and whatever the server held -
freed or not - is inherited by every later child it forks: a later completion that scans its own memory with
ctypes (no audit event) found those values and was accepted by the oracle (session 3, LeetCode problem 3361).

So the child and the verdict service agree on a key the server never sees (Diffie-Hellman over the 2048-bit
MODP group of RFC 3526, 256-bit exponents): the child puts `A = g^a` in its oracle frame (only when one of its
outputs is non-plain), the service answers with `B = g^b` and the values XORed with SHAKE-256 of `g^ab`.
The server, and any later child reading what it left, sees A, B and ciphertext only; `a` dies with the child,
`b` never leaves the grading process. Cost: two modular exponentiations (~2 ms each) on each side, only for
eq_override runs that returned a non-plain output. Standard library only (the fork server preloads this).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

#: RFC 3526 group 14 (2048-bit MODP), generator 2
PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD"
    "3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F"
    "24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552"
    "BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF0"
    "6F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
GENERATOR = 2
_EXPONENT_BYTES = 32
_CONTEXT = b"referee-eq-release-v1"


def child_keypair(_urandom: Any = os.urandom, _from: Any = int.from_bytes, _pow: Any = pow,
                  _format: Any = format) -> tuple[int, str]:
    """(secret exponent, public value as hex) for one run; made in the child, after its outputs exist."""
    secret = _from(_urandom(_EXPONENT_BYTES), "big") | 1
    return secret, _format(_pow(GENERATOR, secret, PRIME), "x")


# The child's side runs after the completion loaded: every builtin it uses is bound here, at import, so a
# completion that rebinds `dict`, `str` or `int` cannot make its own released values unreadable.
def _public(text: object, _type: Any = type, _str: Any = str, _len: Any = len, _int: Any = int) -> int | None:
    """A peer's public value, or None when it is not one (frames are untrusted)."""
    if _type(text) is not _str or not 0 < _len(text) <= 600:
        return None
    try:
        value = _int(text, 16)
    except ValueError:
        return None
    return value if 1 < value < PRIME - 1 else None


def _keystream(shared: int, size: int, _shake: Any = hashlib.shake_256, _to_bytes: Any = int.to_bytes) -> bytes:
    return _shake(_CONTEXT + _to_bytes(shared, 256, "big")).digest(size)


def _xor(data: bytes, key: bytes, _from: Any = int.from_bytes, _to: Any = int.to_bytes, _len: Any = len) -> bytes:
    return _to(_from(data, "big") ^ _from(key, "big"), _len(data), "big")


def seal(child_public: object, plaintext: bytes) -> dict[str, str] | None:
    """In the grading process: {"b": B, "c": ciphertext} for the child's A, or None when A is not valid."""
    peer = _public(child_public)
    if peer is None:
        return None
    secret = secrets.randbits(_EXPONENT_BYTES * 8) | 1
    shared = pow(peer, secret, PRIME)
    return {"b": format(pow(GENERATOR, secret, PRIME), "x"),
            "c": _xor(plaintext, _keystream(shared, len(plaintext))).hex()}


def unseal(secret: int, sealed: object, _type: Any = type, _dict: Any = dict, _str: Any = str,
           _get: Any = dict.get, _fromhex: Any = bytes.fromhex, _pow: Any = pow, _len: Any = len) -> bytes | None:
    """In the child: the plaintext of `seal`'s answer, or None when the answer is malformed."""
    if _type(sealed) is not _dict:
        return None
    peer = _public(_get(sealed, "b"))
    cipher = _get(sealed, "c")
    if peer is None or _type(cipher) is not _str:
        return None
    try:
        data = _fromhex(cipher)
    except ValueError:
        return None
    return _xor(data, _keystream(_pow(peer, secret, PRIME), _len(data)))
