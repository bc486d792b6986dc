"""Signed entry-pass credentials, verifiable offline at the gate (A1).

The format follows the EU Digital COVID Certificate: CWT-style claims in CBOR, signed as a
COSE_Sign1 message (RFC 9052) with Ed25519, zlib-compressed, base45-encoded (RFC 9285) and
prefixed ``GG1:`` so that the text fits an alphanumeric QR code (version 10, level M).

Claims (CBOR map with integer keys)::

    1: issuer (the street's area code)   6: issued-at   5: not-before   4: expiry
    -65537: {"v": 1, "id": pass id, "c": compound code, "g": [gate codes], "n": masked name,
             "k": "resident" | "worker" | "visitor"}

No identity numbers and no health data ever go into a pass.

COSE_Sign1 = tag 18 ``[protected, unprotected, payload, signature]`` with
``protected = bstr({1: -8, 4: kid})``, ``unprotected = {}``, the claims as payload, and an
Ed25519 signature over ``["Signature1", protected, b"", payload]``. The key id is the first
8 bytes of SHA-256 of the raw 32-byte public key (:func:`key_id`).

:func:`verify` never raises on any input: it returns a :class:`Verdict` whose ``reason`` is
one of :data:`REASONS`. It is written for speed (a gate phone or a turnstile scans many passes
a second): base45 is decoded with a precomputed table, CBOR with the C-accelerated ``cbor2``,
and public key objects are loaded once per :class:`TrustList`, so that everything except the
Ed25519 check costs a few microseconds. This module imports nothing from Django.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "DISPLAY_LIFETIME",
    "DISPLAY_SKEW",
    "KINDS",
    "PREFIX",
    "QR_CAPACITY",
    "REASONS",
    "PassClaims",
    "TrustList",
    "Verdict",
    "b45decode",
    "decode_unverified",
    "key_id",
    "sign",
    "verify",
]

PREFIX = "GG1:"
KINDS = frozenset({"resident", "worker", "visitor"})
REASONS = (
    "ok",
    "malformed",
    "unknown_key",
    "forged",
    "wrong_issuer",
    "not_yet_valid",
    "expired",
    "revoked",
    "wrong_compound",
    "wrong_gate",
)

QR_CAPACITY = 311  # alphanumeric characters in a QR code of version 10 at level M
MAX_TEXT = 1024  # characters of input accepted at all
MAX_INFLATED = 4096  # bytes of decompressed COSE accepted (decompression-bomb guard)
MAX_PASS_ID = 16
KID_LEN = 8
ALG_EDDSA = -8
# A phone shows its pass as a credential that lives DISPLAY_LIFETIME seconds and is re-signed
# every 30 s, so that a screenshot stops working soon. Such short-lived credentials get at most
# DISPLAY_SKEW seconds of clock tolerance past their expiry (scanners sync their clock with
# the server when online), where a printed card gets the scanner's full `skew`.
DISPLAY_LIFETIME = 120
DISPLAY_SKEW = 30
COSE_SIGN1_TAG = 18

_ISS, _EXP, _NBF, _IAT, _PASS = 1, 4, 5, 6, -65537
_CLAIM_KEYS = frozenset({_ISS, _EXP, _NBF, _IAT, _PASS})
_PASS_KEYS = frozenset({"v", "id", "c", "g", "n", "k"})
_new = object.__new__
_SIG1_HEAD = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"
_FROZENDICT = type(cbor2.loads(b"\xd2\xa0").value)  # a map inside a tag: cbor2.frozendict


# --------------------------------------------------------------------------- base45


_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# byte → its base45 digit; 0xFF for every byte outside the alphabet (lower case included)
_DIGIT = bytes(_B45.index(chr(i)) if chr(i) in _B45 else 0xFF for i in range(256))
# 2-character tail → its byte (only values ≤ 255)
_TAIL = {
    a + b: bytes((i + 45 * j,))
    for i, a in enumerate(_B45)
    for j, b in enumerate(_B45)
    if i + 45 * j < 256
}


# masks over the longest accepted text: the low byte / the top byte of every 3-byte limb
_LOW = int.from_bytes(b"\0\0\xff" * 400, "big")
_TOP = int.from_bytes(b"\xff\0\0" * 400, "big")


def _b45(body: str) -> bytes | None:
    """Strict base45 decoding (RFC 9285), or ``None`` if ``body`` is not valid base45.

    Pure Python, but with no per-chunk Python loop (a loop or a chunk table costs 40 ns a
    character): one ``bytes.translate`` gives the digits, read as one big integer whose
    3-byte limbs are the chunks ``[c, d, e]``. Masks and shifts pick c, d and e of every
    limb at once and ``c + 45·d + 2025·e`` is evaluated for all limbs in one big-integer
    expression (at most 91,124 < 2²⁴, so no carry crosses limbs). A chunk above 65,535 shows
    as a non-zero top byte of its limb; the two low bytes of every limb are the output.
    """
    n = len(body)
    r = n % 3
    if r == 1 or n > 1200:
        return None
    try:
        digits = body.encode("ascii").translate(_DIGIT)
    except UnicodeEncodeError:
        return None
    if 0xFF in digits:
        return None
    n3 = n - r
    x = int.from_bytes(digits[:n3] if r else digits, "big")
    values = ((x >> 16) & _LOW) + 45 * ((x >> 8) & _LOW) + 2025 * (x & _LOW)
    if values & _TOP:
        return None
    limbs = values.to_bytes(n3, "big")
    out = bytearray(n3 // 3 * 2)
    out[0::2] = limbs[1::3]
    out[1::2] = limbs[2::3]
    if r:
        tail = _TAIL.get(body[n3:])
        if tail is None:
            return None
        out += tail
    return bytes(out)


def b45decode(s: str) -> bytes:
    """Strict base45 decoding (RFC 9285), fast (see :func:`_b45`).

    Raises ``ValueError`` on a character outside the alphabet (lower case included), a
    length of 1 modulo 3, or a chunk whose value does not fit its bytes.
    """
    out = _b45(s) if type(s) is str else None
    if out is None:
        raise ValueError("invalid base45 text")
    return out


# --------------------------------------------------------------------------- keys & claims


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey | bytes) -> bytes:
    """The key id: the first 8 bytes of SHA-256 of the raw 32-byte Ed25519 public key."""
    raw = public_key if isinstance(public_key, bytes) else _raw_public(public_key)
    return hashlib.sha256(raw).digest()[:KID_LEN]


@dataclass(frozen=True)
class PassClaims:
    """What a pass says: who may enter which compound through which gates, and when.

    ``gates`` empty means every gate of the compound. ``masked_name`` is already masked
    (e.g. ``"王*芳"``). Times are Unix seconds; ``expires_at`` is exclusive.
    """

    pass_id: str
    compound: str
    gates: tuple[str, ...]
    masked_name: str
    kind: str
    issuer: str
    issued_at: int
    not_before: int
    expires_at: int

    def to_cbor_map(self) -> dict[int, Any]:
        """The CWT claims map that goes into the signed payload."""
        return {
            _ISS: self.issuer,
            _IAT: self.issued_at,
            _NBF: self.not_before,
            _EXP: self.expires_at,
            _PASS: {
                "v": 1,
                "id": self.pass_id,
                "c": self.compound,
                "g": list(self.gates),
                "n": self.masked_name,
                "k": self.kind,
            },
        }


def _claims_from_map(m: Any) -> PassClaims | str:
    """PassClaims from a decoded claims map, or a short reason why it is not one."""
    if type(m) is not dict:
        return "claims are not a map"
    if m.keys() != _CLAIM_KEYS:
        return "claims keys are not exactly 1, 4, 5, 6, -65537"
    iss, iat, nbf, exp, p = m[_ISS], m[_IAT], m[_NBF], m[_EXP], m[_PASS]
    if type(iss) is not str or type(iat) is not int or type(nbf) is not int:
        return "issuer, iat or nbf ill-typed"
    if type(exp) is not int:
        return "exp ill-typed"
    if type(p) is not dict or p.keys() != _PASS_KEYS:
        return "pass claim is not a map of v, id, c, g, n, k"
    pid, comp, gates, name, kind = p["id"], p["c"], p["g"], p["n"], p["k"]
    if type(p["v"]) is not int or p["v"] != 1:
        return "pass claim version is not 1"
    if type(pid) is not str or not 0 < len(pid) <= MAX_PASS_ID:
        return "pass id ill-typed or too long"
    if type(comp) is not str or type(name) is not str:
        return "compound or name ill-typed"
    if type(kind) is not str or kind not in KINDS:
        return "kind ill-typed or unknown"
    if type(gates) is not list:
        return "gates are not a list"
    for g in gates:
        if type(g) is not str:
            return "gate code ill-typed"
    # Same object as PassClaims(pid, comp, ...), built without the frozen dataclass's
    # nine object.__setattr__ calls (0.7 µs of a 10 µs budget per scan).
    claims = _new(PassClaims)
    d = claims.__dict__
    d["pass_id"] = pid
    d["compound"] = comp
    d["gates"] = tuple(gates)
    d["masked_name"] = name
    d["kind"] = kind
    d["issuer"] = iss
    d["issued_at"] = iat
    d["not_before"] = nbf
    d["expires_at"] = exp
    return claims


def _bstr_head(n: int) -> bytes:
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    return b"\x5a" + n.to_bytes(4, "big")


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """CBOR of ``["Signature1", protected, b"", payload]``, built without a CBOR call."""
    return b"".join(
        (
            _SIG1_HEAD,
            _bstr_head(len(protected)),
            protected,
            b"\x40",
            _bstr_head(len(payload)),
            payload,
        )
    )


def _check_claims(claims: PassClaims) -> None:
    problem = _claims_from_map(claims.to_cbor_map())
    if isinstance(problem, str):
        raise ValueError(f"cannot sign: {problem}")
    if problem != claims:
        raise ValueError("cannot sign: claims do not round-trip")


def sign(claims: PassClaims, private_key: Ed25519PrivateKey) -> str:
    """Sign ``claims`` and return the ``GG1:…`` text to put into an alphanumeric QR code.

    Raises ``ValueError`` when the claims are not a valid pass (pass id empty or longer than
    16 characters, unknown kind, ill-typed field).
    """
    _check_claims(claims)
    kid = key_id(private_key.public_key())
    protected = cbor2.dumps({1: ALG_EDDSA, 4: kid})
    payload = cbor2.dumps(claims.to_cbor_map())
    signature = private_key.sign(_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


# --------------------------------------------------------------------------- trust list


@dataclass
class TrustList:
    """The public keys a scanner trusts, by key id, and optionally each key's street.

    A key bound to a street (``streets[kid]``) may only sign passes whose issuer is that
    street; a key without one may sign for any issuer.
    """

    keys: dict[bytes, Ed25519PublicKey] = field(default_factory=dict)
    streets: dict[bytes, str] = field(default_factory=dict)

    def add(self, public_key: Ed25519PublicKey, street: str | None = None) -> bytes:
        """Trust ``public_key`` (for ``street`` only, if given); return its key id."""
        kid = key_id(public_key)
        self.keys[kid] = public_key
        if street is not None:
            self.streets[kid] = street
        else:
            self.streets.pop(kid, None)
        return kid

    @classmethod
    def of(cls, *public_keys: Ed25519PublicKey, street: str | None = None) -> TrustList:
        """A trust list of these keys (all bound to ``street`` when given)."""
        trust = cls()
        for key in public_keys:
            trust.add(key, street)
        return trust

    @classmethod
    def from_raw(
        cls, raw: Mapping[bytes, bytes], streets: Mapping[bytes, str] | None = None
    ) -> TrustList:
        """A trust list from ``{kid: raw 32-byte public key}`` (as published by the server).

        Raises ``ValueError`` if a key is not 32 bytes or its kid is not :func:`key_id` of it.
        """
        trust = cls()
        for kid, raw_key in raw.items():
            if len(raw_key) != 32 or key_id(bytes(raw_key)) != kid:
                raise ValueError(f"trust list entry {kid.hex()} does not match its key")
            trust.keys[kid] = Ed25519PublicKey.from_public_bytes(bytes(raw_key))
        for kid, street in (streets or {}).items():
            if kid not in trust.keys:
                raise ValueError(f"street for unknown key {kid.hex()}")
            trust.streets[kid] = street
        return trust

    def to_raw(self) -> dict[bytes, bytes]:
        """``{kid: raw 32-byte public key}``, the inverse of :meth:`from_raw`."""
        return {kid: _raw_public(key) for kid, key in self.keys.items()}


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`.

    ``reason`` is one of :data:`REASONS`; ``claims`` is set whenever the signature verified
    (so also for ``expired``, ``revoked``, …); ``detail`` is a short English note for logs.
    """

    ok: bool
    reason: str
    claims: PassClaims | None = None
    detail: str = ""


def _malformed(detail: str) -> Verdict:
    return Verdict(False, "malformed", None, detail)


_MALFORMED_PREFIX = _malformed("missing GG1: prefix")
_MALFORMED_LONG = _malformed(f"text longer than {MAX_TEXT} characters")


def _decode(text: object) -> tuple[bytes, bytes, bytes, bytes, PassClaims] | Verdict:
    """Text → (kid, protected, payload, signature, claims), or a ``malformed`` verdict."""
    if type(text) is not str:
        return _malformed("not a string")
    if len(text) > MAX_TEXT:
        return _MALFORMED_LONG
    if not text.startswith(PREFIX):
        return _MALFORMED_PREFIX
    raw = _b45(text[4:])
    if raw is None:
        return _malformed("invalid base45")
    try:
        inflater = zlib.decompressobj()
        cose = inflater.decompress(raw, MAX_INFLATED)
    except zlib.error:
        return _malformed("invalid zlib")
    if inflater.unconsumed_tail:
        return _malformed(f"decompresses to more than {MAX_INFLATED} bytes")
    if not inflater.eof or inflater.unused_data:
        return _malformed("truncated zlib or data after it")
    try:
        msg = cbor2.loads(cose)
    except Exception:  # cbor2 raises several kinds on bad input
        return _malformed("COSE is not CBOR")
    if type(msg) is not cbor2.CBORTag or msg.tag != COSE_SIGN1_TAG:
        return _malformed("not a COSE_Sign1 (tag 18)")
    parts = msg.value  # cbor2 gives tag contents as immutable tuple / frozendict
    if type(parts) is not tuple or len(parts) != 4:
        return _malformed("COSE_Sign1 is not an array of 4")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(payload) is not bytes:
        return _malformed("protected header or payload is not a byte string")
    if type(signature) is not bytes or len(signature) != 64:
        return _malformed("signature is not 64 bytes")
    if type(unprotected) is not _FROZENDICT or unprotected:
        return _malformed("unprotected header is not an empty map")
    # The one encoding a signer writes, byte for byte: cbor2 would also take trailing bytes,
    # longer-than-needed lengths or indefinite lengths, which the gate's JavaScript refuses.
    canonical = b"".join(
        (
            b"\xd2\x84",
            _bstr_head(len(protected)),
            protected,
            b"\xa0",
            _bstr_head(len(payload)),
            payload,
            b"\x58\x40",
            signature,
        )
    )
    if cose != canonical:
        return _malformed("COSE_Sign1 not in its canonical encoding")
    kid = _protected_kid(protected)
    if type(kid) is str:
        return _malformed(kid)
    try:
        claims_map = cbor2.loads(payload)
    except Exception:
        return _malformed("payload is not CBOR")
    claims = _claims_from_map(claims_map)
    if type(claims) is str:
        return _malformed(claims)
    return kid, protected, payload, signature, claims  # type: ignore[return-value]


_KID_CACHE: dict[bytes, bytes | str] = {}


def _protected_kid(protected: bytes) -> bytes | str:
    """The kid from the protected header, or why it is unusable (cached: few distinct)."""
    hit = _KID_CACHE.get(protected)
    if hit is not None:
        return hit
    try:
        header = cbor2.loads(protected)
    except Exception:
        return "protected header is not CBOR"
    result: bytes | str
    if type(header) is not dict or header.keys() != {1, 4}:
        result = "protected header is not exactly {1: alg, 4: kid}"
    elif type(header[1]) is not int or header[1] != ALG_EDDSA:
        result = "algorithm is not EdDSA (-8)"
    elif type(header[4]) is not bytes or len(header[4]) != KID_LEN:
        result = "kid is not 8 bytes"
    else:
        result = header[4]
    if len(_KID_CACHE) < 4096 and len(protected) <= 64:
        _KID_CACHE[protected] = result
    return result


def decode_unverified(text: str) -> tuple[bytes, PassClaims]:
    """The kid and claims of a pass, WITHOUT checking the signature (for logs only).

    Raises ``ValueError`` (with the reason) when the text is malformed.
    """
    decoded = _decode(text)
    if isinstance(decoded, Verdict):
        raise ValueError(decoded.detail)
    return decoded[0], decoded[4]


def verify(
    text: str,
    trust: TrustList,
    *,
    now: int,
    revoked: Collection[str] = (),
    compound: str | None = None,
    gate: str | None = None,
    skew: int = 300,
) -> Verdict:
    """Check a scanned pass; never raises.

    Checks, in order: decoding and structure (``malformed``), the key id against ``trust``
    (``unknown_key``), the signature (``forged``), the key's street against the issuer
    (``wrong_issuer``), the validity window ``not_before - skew <= now < expires_at + skew``
    (``DISPLAY_SKEW`` instead of a larger ``skew`` past the end of a short-lived display
    credential, one whose ``expires_at - issued_at <= DISPLAY_LIFETIME``)
    (``not_yet_valid`` / ``expired``), ``revoked`` pass ids (pass a set: it is tested with
    ``in``), the ``compound`` and the ``gate`` being scanned at (a pass without gates admits
    at every gate of its compound).
    """
    try:
        decoded = _decode(text)
        if type(decoded) is Verdict:
            return decoded
        kid, protected, payload, signature, claims = decoded  # type: ignore[misc]
        key = trust.keys.get(kid)
        if key is None:
            return Verdict(False, "unknown_key", None, f"kid {kid.hex()} not in trust list")
        try:
            key.verify(signature, _sig_structure(protected, payload))
        except InvalidSignature:
            return Verdict(False, "forged", None, "signature does not verify")
        street = trust.streets.get(kid)
        if street is not None and street != claims.issuer:
            return Verdict(
                False, "wrong_issuer", claims, f"key of {street} signed for {claims.issuer}"
            )
        if now < claims.not_before - skew:
            return Verdict(False, "not_yet_valid", claims, f"valid from {claims.not_before}")
        late = skew
        if claims.expires_at - claims.issued_at <= DISPLAY_LIFETIME and skew > DISPLAY_SKEW:
            late = DISPLAY_SKEW
        if now >= claims.expires_at + late:
            return Verdict(False, "expired", claims, f"expired at {claims.expires_at}")
        if claims.pass_id in revoked:
            return Verdict(False, "revoked", claims, f"pass {claims.pass_id} revoked")
        if compound is not None and claims.compound != compound:
            return Verdict(False, "wrong_compound", claims, f"pass is for {claims.compound}")
        if gate is not None and claims.gates and gate not in claims.gates:
            return Verdict(False, "wrong_gate", claims, f"gate {gate} not on the pass")
        ok = _new(Verdict)  # Verdict(True, "ok", claims, ""), without frozen __setattr__s
        d = ok.__dict__
        d["ok"] = True
        d["reason"] = "ok"
        d["claims"] = claims
        d["detail"] = ""
        return ok
    except Exception as exc:  # verify must never raise on any input
        return _malformed(f"unexpected {type(exc).__name__}")
