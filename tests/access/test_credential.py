"""Signed entry-pass credentials (gridguard.access.credential): format, verdicts, fuzzing.

Pure functions: no database is used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zlib
from typing import Any

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gridguard.access import credential as cred
from gridguard.access.credential import PassClaims, TrustList, Verdict, key_id, sign, verify

NOW = 1_780_000_000
DAY = 86_400
STREET = "310106001"
OTHER_STREET = "310106002"
COMPOUND = "310106001001C0012001"
GATES = ("310106001001C0012001"[:18] + "G1", "310106001001C0012001"[:18] + "G2")


def private_key(n: int) -> Ed25519PrivateKey:
    """A deterministic key (Ed25519 signatures are deterministic too)."""
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


KEY = private_key(1)
OTHER = private_key(2)
TRUST = TrustList.of(KEY.public_key(), street=STREET)


def claims(**changes: Any) -> PassClaims:
    base = PassClaims(
        pass_id="K7QX2M9RT4HB8ZNC",
        compound=COMPOUND,
        gates=GATES,
        masked_name="王*芳",
        kind="resident",
        issuer=STREET,
        issued_at=NOW - DAY,
        not_before=NOW - DAY,
        expires_at=NOW + 30 * DAY,
    )
    return dataclasses.replace(base, **changes)


VALID = sign(claims(), KEY)
VALID_COSE = zlib.decompress(base45.b45decode(VALID[4:]))


def check(text: str, trust: TrustList = TRUST, **kwargs: Any) -> Verdict:
    kwargs.setdefault("now", NOW)
    return verify(text, trust, **kwargs)


def wrap(obj: Any) -> str:
    """CBOR → zlib → base45 → prefix, for hand-built (possibly broken) structures."""
    return wrap_bytes(zlib.compress(cbor2.dumps(obj), 9))


def wrap_bytes(data: bytes) -> str:
    return "GG1:" + base45.b45encode(data).decode()


def unwrap(text: str) -> tuple[bytes, Any, bytes, bytes]:
    msg = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    assert msg.tag == 18
    protected, unprotected, payload, signature = msg.value
    return protected, unprotected, payload, signature


def build(
    payload: Any,
    key: Ed25519PrivateKey = KEY,
    *,
    protected: Any = None,
    unprotected: Any = None,
    raw_payload: bytes | None = None,
) -> str:
    """A correctly signed COSE_Sign1 around any payload and protected header."""
    if protected is None:
        protected = {1: -8, 4: key_id(key.public_key())}
    prot = cbor2.dumps(protected)
    body = raw_payload if raw_payload is not None else cbor2.dumps(payload)
    sig = key.sign(cbor2.dumps(["Signature1", prot, b"", body]))
    return wrap(cbor2.CBORTag(18, [prot, {} if unprotected is None else unprotected, body, sig]))


# --------------------------------------------------------------------------- round trip


def test_round_trip() -> None:
    verdict = check(VALID, compound=COMPOUND, gate=GATES[1])
    assert verdict == Verdict(True, "ok", claims(), "")
    assert verdict.ok and verdict.reason == "ok" and verdict.claims == claims()
    assert hash(verdict.claims) == hash(claims())
    assert VALID.startswith("GG1:")
    assert cred.decode_unverified(VALID) == (key_id(KEY.public_key()), claims())


def test_format_is_cose_sign1_over_cwt_claims() -> None:
    protected, unprotected, payload, signature = unwrap(VALID)
    kid = hashlib.sha256(KEY.public_key().public_bytes_raw()).digest()[:8]
    assert cbor2.loads(protected) == {1: -8, 4: kid}
    assert unprotected == {}
    assert len(signature) == 64
    assert cbor2.loads(payload) == {
        1: STREET,
        6: NOW - DAY,
        5: NOW - DAY,
        4: NOW + 30 * DAY,
        -65537: {
            "v": 1,
            "id": "K7QX2M9RT4HB8ZNC",
            "c": COMPOUND,
            "g": list(GATES),
            "n": "王*芳",
            "k": "resident",
        },
    }
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    assert cred._sig_structure(protected, payload) == sig_structure
    KEY.public_key().verify(signature, sig_structure)  # raises if wrong
    assert zlib.decompress(base45.b45decode(VALID[4:]))[:1] == b"\xd2"  # tag 18


@pytest.mark.parametrize("n", [0, 23, 24, 255, 256, 65535, 65536])
def test_sig_structure_lengths(n: int) -> None:
    assert cred._sig_structure(b"p", b"x" * n) == cbor2.dumps(["Signature1", b"p", b"", b"x" * n])


def test_key_id_and_trust_list() -> None:
    public = KEY.public_key()
    raw = public.public_bytes_raw()
    assert key_id(public) == key_id(raw) == hashlib.sha256(raw).digest()[:8]
    trust = TrustList.from_raw({key_id(public): raw}, {key_id(public): STREET})
    assert trust.to_raw() == {key_id(public): raw}
    assert check(VALID, trust).ok
    assert check(VALID, TrustList.of(OTHER.public_key(), public)).ok  # no street: any issuer
    with pytest.raises(ValueError):
        TrustList.from_raw({b"12345678": raw})
    with pytest.raises(ValueError):
        TrustList.from_raw({key_id(public): raw[:31]})
    with pytest.raises(ValueError):
        TrustList.from_raw({key_id(public): raw}, {b"12345678": STREET})


def test_sign_rejects_invalid_claims() -> None:
    with pytest.raises(ValueError):
        sign(claims(pass_id="X" * 17), KEY)
    with pytest.raises(ValueError):
        sign(claims(pass_id=""), KEY)
    with pytest.raises(ValueError):
        sign(claims(kind="tourist"), KEY)
    with pytest.raises(ValueError):
        sign(claims(issued_at="yesterday"), KEY)


# --------------------------------------------------------------------------- verdicts


def test_forged_signature_byte_flipped() -> None:
    protected, _, payload, signature = unwrap(VALID)
    bad = bytes([signature[0] ^ 1]) + signature[1:]
    verdict = check(wrap(cbor2.CBORTag(18, [protected, {}, payload, bad])))
    assert (verdict.ok, verdict.reason, verdict.claims) == (False, "forged", None)


def test_forged_payload_changed() -> None:
    protected, _, _, signature = unwrap(VALID)
    other = sign(claims(expires_at=NOW + 365 * DAY), KEY)
    payload2 = unwrap(other)[2]
    assert check(wrap(cbor2.CBORTag(18, [protected, {}, payload2, signature]))).reason == "forged"


def test_forged_by_another_key_under_the_same_kid() -> None:
    text = build(claims().to_cbor_map(), OTHER, protected={1: -8, 4: key_id(KEY.public_key())})
    assert check(text).reason == "forged"


def test_unknown_key() -> None:
    verdict = check(sign(claims(), OTHER))
    assert (verdict.reason, verdict.claims) == ("unknown_key", None)
    assert key_id(OTHER.public_key()).hex() in verdict.detail


def test_wrong_issuer() -> None:
    verdict = check(sign(claims(issuer=OTHER_STREET), KEY))
    assert verdict.reason == "wrong_issuer"
    assert verdict.claims is not None and verdict.claims.issuer == OTHER_STREET


@pytest.mark.parametrize(
    ("now", "skew", "reason"),
    [
        (NOW, 300, "ok"),
        (NOW - DAY - 300, 300, "ok"),  # scanner clock 5 min behind: still accepted
        (NOW - DAY - 301, 300, "not_yet_valid"),
        (NOW - DAY - 1, 0, "not_yet_valid"),
        (NOW - DAY, 0, "ok"),
        (NOW + 30 * DAY + 299, 300, "ok"),  # scanner clock ahead: still accepted
        (NOW + 30 * DAY + 300, 300, "expired"),
        (NOW + 30 * DAY - 1, 0, "ok"),
        (NOW + 30 * DAY, 0, "expired"),
        (NOW + 365 * DAY, 300, "expired"),
    ],
)
def test_validity_window_with_skew(now: int, skew: int, reason: str) -> None:
    verdict = check(VALID, now=now, skew=skew)
    assert verdict.reason == reason
    assert verdict.claims == claims()


def test_revoked() -> None:
    revoked = {f"R{i:015d}" for i in range(1000)} | {"K7QX2M9RT4HB8ZNC"}
    verdict = check(VALID, revoked=revoked)
    assert (verdict.ok, verdict.reason, verdict.claims) == (False, "revoked", claims())
    assert check(VALID, revoked=["OTHER"]).ok


def test_wrong_compound_and_gate() -> None:
    assert check(VALID, compound="310106001001C0099999").reason == "wrong_compound"
    assert check(VALID, compound=COMPOUND, gate="310106001001C001G9").reason == "wrong_gate"
    assert check(VALID, compound=COMPOUND, gate=GATES[0]).ok
    assert check(VALID, gate=GATES[1]).ok  # no compound given: gate alone checked


def test_no_gates_means_every_gate() -> None:
    text = sign(claims(gates=()), KEY)
    assert check(text, compound=COMPOUND, gate="anything").ok
    assert check(text, compound="elsewhere", gate="anything").reason == "wrong_compound"


def test_order_of_checks() -> None:
    expired_revoked = sign(claims(expires_at=NOW - DAY), KEY)
    assert check(expired_revoked, revoked={"K7QX2M9RT4HB8ZNC"}).reason == "expired"
    assert check(VALID, revoked={"K7QX2M9RT4HB8ZNC"}, compound="x").reason == "revoked"
    assert check(VALID, compound="x", gate="y").reason == "wrong_compound"
    wrong_both = sign(claims(issuer=OTHER_STREET, expires_at=NOW - DAY), KEY)
    assert check(wrong_both).reason == "wrong_issuer"


# --------------------------------------------------------------------------- malformed


def cbor_pass(**changes: Any) -> dict[Any, Any]:
    m = claims().to_cbor_map()
    inner = dict(m[-65537])
    for k, v in changes.items():
        if k in inner:
            inner[k] = v
    m[-65537] = inner
    return m


BOMB = wrap_bytes(zlib.compress(b"\0" * 600_000, 9))  # 600 kB from 600 bytes


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("HC1:" + VALID[4:], id="wrong prefix"),
        pytest.param("gg1:" + VALID[4:], id="lower-case prefix"),
        pytest.param(VALID.lower(), id="lower-case"),
        pytest.param(VALID[:-1], id="truncated by one"),
        pytest.param(VALID[:-3], id="truncated by a chunk"),
        pytest.param(VALID[:40], id="truncated"),
        pytest.param("", id="empty"),
        pytest.param("GG1:", id="prefix only"),
        pytest.param("garbage", id="garbage"),
        pytest.param("GG1:GGW", id="base45 chunk over 65535"),
        pytest.param("GG1:ZZ", id="base45 tail over 255"),
        pytest.param("GG1:AB!", id="base45 invalid character"),
        pytest.param("GG1:AB\u00e9", id="non-ASCII"),
        pytest.param(VALID + "\n", id="trailing newline"),
        pytest.param("GG1:" + "0" * 2000, id="over-long"),
        pytest.param(wrap_bytes(b"hello, world"), id="base45 of non-zlib"),
        pytest.param(wrap_bytes(zlib.compress(b"\xff\xfe\xfd")), id="zlib of non-CBOR"),
        pytest.param(
            wrap_bytes(zlib.compress(cbor2.dumps({}))[:-2]), id="zlib without its checksum"
        ),
        pytest.param(wrap_bytes(zlib.compress(cbor2.dumps({})) + b"x"), id="data after zlib"),
        pytest.param(BOMB, id="decompression bomb"),
        pytest.param(wrap([b"a", {}, b"b", b"c" * 64]), id="CBOR but not tag 18"),
        pytest.param(wrap(cbor2.CBORTag(98, [b"", {}, b"", b""])), id="COSE_Sign (tag 98)"),
        pytest.param(wrap(cbor2.CBORTag(18, [b"", {}, b""])), id="array of 3"),
        pytest.param(wrap(cbor2.CBORTag(18, {"a": 1})), id="tag 18 of a map"),
        pytest.param(build(claims().to_cbor_map(), protected={1: -7, 4: b"12345678"}), id="ES256"),
        pytest.param(
            build(claims().to_cbor_map(), protected={1: "EdDSA", 4: b"12345678"}), id="alg text"
        ),
        pytest.param(build(claims().to_cbor_map(), protected={1: -8}), id="no kid"),
        pytest.param(
            build(claims().to_cbor_map(), protected={1: -8, 4: b"1234567"}), id="kid 7 bytes"
        ),
        pytest.param(
            build(claims().to_cbor_map(), unprotected={4: b"12345678"}), id="unprotected kid"
        ),
        pytest.param(build(None, raw_payload=b"\xff\xff"), id="payload not CBOR"),
        pytest.param(build([1, 2, 3]), id="payload not a map"),
    ],
)
def test_malformed(text: str) -> None:
    verdict = check(text)
    assert (verdict.ok, verdict.reason, verdict.claims) == (False, "malformed", None)
    assert verdict.detail


def test_decompression_bomb_is_cheap() -> None:
    assert len(BOMB) < 1024
    assert "more than 4096" in check(BOMB).detail


def _drop(key: Any) -> dict[Any, Any]:
    m = claims().to_cbor_map()
    del m[key]
    return m


def _drop_inner(key: str) -> dict[Any, Any]:
    m = claims().to_cbor_map()
    del m[-65537][key]
    return m


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_drop(1), id="no issuer"),
        pytest.param(_drop(4), id="no exp"),
        pytest.param(_drop(5), id="no nbf"),
        pytest.param(_drop(6), id="no iat"),
        pytest.param(_drop(-65537), id="no pass claim"),
        pytest.param(_drop_inner("id"), id="no pass id"),
        pytest.param(_drop_inner("g"), id="no gates"),
        pytest.param(_drop_inner("v"), id="no version"),
        pytest.param({**claims().to_cbor_map(), 4: "2026-06-01"}, id="exp text"),
        pytest.param({**claims().to_cbor_map(), 6: 1.5}, id="iat float"),
        pytest.param({**claims().to_cbor_map(), 5: True}, id="nbf bool"),
        pytest.param({**claims().to_cbor_map(), 1: 310106001}, id="issuer int"),
        pytest.param({**claims().to_cbor_map(), 7: b"cti"}, id="extra claim"),
        pytest.param(cbor_pass(v=2), id="version 2"),
        pytest.param(cbor_pass(id="X" * 17), id="pass id too long"),
        pytest.param(cbor_pass(id=""), id="pass id empty"),
        pytest.param(cbor_pass(c=12), id="compound int"),
        pytest.param(cbor_pass(g="G1"), id="gates text"),
        pytest.param(cbor_pass(g=["G1", 2]), id="gate int"),
        pytest.param(cbor_pass(n=None), id="name null"),
        pytest.param(cbor_pass(k="tourist"), id="unknown kind"),
        pytest.param(
            {
                **claims().to_cbor_map(),
                -65537: {**cbor_pass()[-65537], "idno": "110101199003077777"},
            },
            id="an ID number smuggled in",
        ),
    ],
)
def test_malformed_claims_even_when_signed(payload: dict[Any, Any]) -> None:
    verdict = check(build(payload))
    assert (verdict.reason, verdict.claims) == ("malformed", None), verdict


@pytest.mark.parametrize("value", [None, 12, b"GG1:", ["GG1:"]])
def test_non_string_input(value: Any) -> None:
    assert check(value).reason == "malformed"


def test_decode_unverified_raises_value_error() -> None:
    with pytest.raises(ValueError):
        cred.decode_unverified("HC1:xyz")


# --------------------------------------------------------------------------- size & privacy


def maximal_claims(n: int) -> PassClaims:
    """Realistic maximal fields: a 16-char pass id, 20-char compound and gate codes extending
    the street's 9-digit code as the territory tree does (numbered sequentially, so they
    share prefixes and runs of zeros), 3 gates, a 4-char masked name."""
    compound = f"310106001001C00{n:05d}"
    return claims(
        pass_id=f"K7QX2M9RT4HB{n:04d}",
        compound=compound,
        gates=tuple(compound[:18] + f"G{g}" for g in (1, 2, 3)),
        masked_name="欧阳*娜",
        kind="resident",
        issued_at=NOW + n,
        not_before=NOW + n,
        expires_at=NOW + n + 60 * DAY,
    )


@pytest.mark.parametrize("n", range(8))
def test_fits_qr_version_10_m(n: int) -> None:
    c = maximal_claims(n)
    assert len(c.pass_id) == 16 and len(c.compound) == 20 and len(c.masked_name) == 4
    assert len(c.gates) == 3 and all(len(g) == 20 for g in c.gates)
    text = sign(c, private_key(10 + n))
    assert len(text) <= cred.QR_CAPACITY == 311
    version = segno.make(text, error="m", mode="alphanumeric").version
    assert isinstance(version, int) and version <= 10
    segno.make_qr(text, error="m", version=10, boost_error=False)  # raises if it does not fit


def test_limit_of_the_format() -> None:
    """Documents the limit: maximal fields with incompressible contents do not fit version 10-M.

    With unrelated 20-char codes a pass takes about 355 characters (version 11-M holds 366);
    with random digits in hierarchical codes and a random pass id, about 315.
    """
    c = claims(
        pass_id="K7QX2M9RT4HB8ZNC",
        issuer="84720193847561029384",
        compound="19283746501928374650",
        gates=("55555123498765432101", "93847561029384756102", "10293847561029384756"),
        masked_name="欧阳*娜",
    )
    text = sign(c, private_key(3))
    assert 311 < len(text) <= 366
    assert segno.make(text, error="m", mode="alphanumeric").version == 11


def test_pass_holds_no_id_number_or_health_data() -> None:
    text = sign(maximal_claims(1), KEY)
    payload = cbor2.loads(unwrap(text)[2])
    assert set(payload) == {1, 4, 5, 6, -65537}
    assert set(payload[-65537]) == {"v", "id", "c", "g", "n", "k"}
    assert {f.name for f in dataclasses.fields(PassClaims)} == {
        "pass_id",
        "compound",
        "gates",
        "masked_name",
        "kind",
        "issuer",
        "issued_at",
        "not_before",
        "expires_at",
    }
    assert not re.search(r"\d{17}[\dX]", repr(payload))


# --------------------------------------------------------------------------- base45


B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@given(st.binary(max_size=700))
@settings(max_examples=300)
def test_base45_round_trip_against_package(data: bytes) -> None:
    text = base45.b45encode(data).decode()
    assert cred.b45decode(text) == data == base45.b45decode(text)


@given(st.text(alphabet=B45_ALPHABET + "a~é", max_size=40))
@settings(max_examples=400)
@example("GGW")
@example("FGW")
@example("ZZ")
@example("U5")
@example("A")
def test_base45_agrees_with_package_on_any_text(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        got: bytes | None = cred.b45decode(text)
    except ValueError:
        got = None
    assert got == expected


# --------------------------------------------------------------------------- fuzzing


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(st.text(max_size=400))
@FUZZ
def test_verify_never_raises_on_any_text(text: str) -> None:
    verdict = check(text)
    assert verdict.reason in cred.REASONS and not verdict.ok


@given(st.binary(max_size=400))
@FUZZ
def test_verify_never_raises_on_any_base45_bytes(data: bytes) -> None:
    assert check(wrap_bytes(data)).reason == "malformed"
    assert check(wrap_bytes(zlib.compress(data))).reason == "malformed"


@st.composite
def mutations(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "truncate", "insert", "delete"]))
        i = draw(st.integers(0, len(text) - 1)) if text else 0
        if kind == "replace" and text:
            ch = draw(st.sampled_from(B45_ALPHABET + "a:"))
            text = text[:i] + ch + text[i + 1 :]
        elif kind == "truncate":
            text = text[:i]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(B45_ALPHABET)) + text[i:]
        elif text:
            text = text[:i] + text[i + 1 :]
    return text


@given(mutations())
@FUZZ
def test_mutations_of_a_valid_pass_never_verify(text: str) -> None:
    verdict = check(text)
    assert verdict.reason in cred.REASONS
    if text == VALID:
        assert verdict.ok
    elif verdict.ok:  # only a different zlib encoding of the very same signed message
        assert same_message(text)


def same_message(text: str) -> bool:
    """Whether ``text`` carries the very bytes of VALID's COSE message.

    zlib leaves a few bits without meaning (the padding after the last block, the level
    hint in the header), so a text can differ from VALID and still hold the same signed
    message; that is not a forgery: claims and signature are the ones issued."""
    try:
        return zlib.decompress(base45.b45decode(text[4:])) == VALID_COSE
    except (ValueError, zlib.error):
        return False


@given(st.integers(0, 10_000), st.integers(0, 7))
@FUZZ
def test_bit_flips_in_the_compressed_bytes_never_verify(pos: int, bit: int) -> None:
    raw = bytearray(base45.b45decode(VALID[4:]))
    raw[pos % len(raw)] ^= 1 << bit
    text = wrap_bytes(bytes(raw))
    verdict = check(text)
    assert verdict.reason in {"malformed", "forged", "unknown_key"} or same_message(text)


def test_a_padding_bit_flip_keeps_the_same_message() -> None:
    """The known zlib malleability: a flipped padding bit still inflates to the same bytes."""
    raw = bytearray(base45.b45decode(VALID[4:]))
    raw[-5] ^= 0x80  # the last deflate byte, its top bit is padding after end-of-block
    text = wrap_bytes(bytes(raw))
    assert text != VALID
    assert same_message(text)
    verdict = check(text)
    assert verdict.ok and verdict.claims == claims()


@pytest.mark.parametrize(
    ("lifetime", "after_end", "reason"),
    [
        # A display credential (re-signed every 30 s on the phone): 30 s of grace, not 300.
        (cred.DISPLAY_LIFETIME, cred.DISPLAY_SKEW - 1, "ok"),
        (cred.DISPLAY_LIFETIME, cred.DISPLAY_SKEW, "expired"),
        (60, 200, "expired"),
        # A longer-lived credential (a printed card) keeps the scanner's full skew.
        (cred.DISPLAY_LIFETIME + 1, 200, "ok"),
        (cred.DISPLAY_LIFETIME + 1, 300, "expired"),
    ],
)
def test_short_lived_display_credentials_get_little_grace(
    lifetime: int, after_end: int, reason: str
) -> None:
    text = sign(claims(issued_at=NOW, not_before=NOW, expires_at=NOW + lifetime), KEY)
    assert check(text, now=NOW + lifetime + after_end, skew=300).reason == reason


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: c + b"\x00", id="a byte after the message"),
        pytest.param(lambda c: c[:-66] + b"\x59\x00\x40" + c[-64:], id="a longer length"),
        pytest.param(lambda c: b"\xd2\x9f" + c[2:] + b"\xff", id="an indefinite-length array"),
    ],
)
def test_only_the_canonical_encoding_of_the_message_is_accepted(change: Any) -> None:
    # The signature still verifies over the same protected header and payload, but the gate's
    # JavaScript decoder refuses such encodings: both sides must give the same verdict.
    text = wrap_bytes(zlib.compress(change(VALID_COSE), 9))
    verdict = check(text)
    assert verdict.reason == "malformed" and "canonical" in verdict.detail
