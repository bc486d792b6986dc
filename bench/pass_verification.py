"""Benchmark: offline verification of signed entry passes at the gate (A1).

It signs 20,000 distinct passes (5,000 with --quick) with realistic fields (16-char pass ids,
12-to-20-char area codes extending the street's, 0 to 3 gates, masked Chinese names; random
digits, so some exceed the 311 characters of a version-10-M QR code) under 5 street keys,
builds a trust list binding each key to its street and a revocation set of 100,000 pass ids,
then times `gridguard.access.credential.verify` over all of them (prefix, base45, zlib,
COSE_Sign1 and claims decoding, key lookup, Ed25519 signature, issuer, validity window,
revocation, compound and gate checks); every pass must come out "ok".

Reference, measured in the same process with the same `cryptography` library: the raw
Ed25519 verification alone (`Ed25519PublicKey.verify`) over the very same Sig_structure
bytes and signatures. The two measurements are interleaved for several rounds and the best
round of each is kept, to reduce noise from other load on the machine.
ratio = verifications/s / raw Ed25519 verifications/s (target ≥ 0.8).

The human line (stderr) also gives the per-pass cost of the decoding steps alone: base45
(and the `base45` package's pure-Python decoder for comparison), zlib, CBOR + claims.

Run: `.venv/bin/python bench/pass_verification.py [--quick]`. The last line is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import base45  # noqa: E402
import cbor2  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gridguard.access import credential as cred  # noqa: E402

KEYS = 5
REVOKED = 100_000
ROUNDS = 7
NOW = 1_780_000_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def area_code(rng: random.Random, length: int) -> str:
    """A numeric area code of ``length`` digits (the street/compound codes are 12 to 20)."""
    return "".join(rng.choice("0123456789") for _ in range(length))


def make_passes(
    n: int, rng: random.Random
) -> tuple[
    list[tuple[str, str, str | None]], cred.TrustList, list[tuple[Ed25519PublicKey, bytes, bytes]]
]:
    """``n`` signed passes as (text, compound, gate to scan at), the trust list, and the
    raw (public key, signature, Sig_structure) triples for the reference."""
    private = [Ed25519PrivateKey.generate() for _ in range(KEYS)]
    streets = [area_code(rng, 12) for _ in range(KEYS)]
    trust = cred.TrustList()
    for key, street in zip(private, streets, strict=True):
        trust.add(key.public_key(), street)
    passes: list[tuple[str, str, str | None]] = []
    raw: list[tuple[Ed25519PublicKey, bytes, bytes]] = []
    for i in range(n):
        k = i % KEYS
        compound = streets[k] + area_code(rng, rng.randint(0, 8))
        gates = tuple(compound[:18] + f"G{g}" for g in rng.sample(range(1, 9), rng.randint(0, 3)))
        name = rng.choice(SURNAMES) + "*" + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        issued = NOW - rng.randint(0, 30 * 86_400)
        claims = cred.PassClaims(
            pass_id="P" + "".join(rng.choices(ALNUM, k=15)),
            compound=compound,
            gates=gates,
            masked_name=name,
            kind=rng.choice(("resident", "resident", "worker", "visitor")),
            issuer=streets[k],
            issued_at=issued,
            not_before=issued,
            expires_at=issued + 60 * 86_400,
        )
        text = cred.sign(claims, private[k])
        passes.append((text, compound, gates[0] if gates else None))
        kid, _claims = cred.decode_unverified(text)
        cose = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
        protected, _, payload, signature = cose.value
        raw.append((trust.keys[kid], signature, cred._sig_structure(protected, payload)))
    return passes, trust, raw


def result_over(lengths: list[int]) -> int:
    """How many passes are longer than a version-10-M QR code holds."""
    return sum(length > cred.QR_CAPACITY for length in lengths)


def best(fn: Callable[[], float], rounds: int) -> float:
    return min(fn() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 passes instead of 20,000")
    args = parser.parse_args()
    n = 5_000 if args.quick else 20_000
    rng = random.Random(20_200_123)
    passes, trust, raw = make_passes(n, rng)
    revoked = {"R" + "".join(rng.choices(ALNUM, k=15)) for _ in range(REVOKED)}
    verify = cred.verify

    def run_verify() -> float:
        t = time.perf_counter()
        for text, compound, gate in passes:
            verify(text, trust, now=NOW, revoked=revoked, compound=compound, gate=gate)
        return time.perf_counter() - t

    def run_raw() -> float:
        t = time.perf_counter()
        for key, signature, message in raw:
            key.verify(signature, message)
        return time.perf_counter() - t

    verdicts = [
        verify(text, trust, now=NOW, revoked=revoked, compound=c, gate=g) for text, c, g in passes
    ]
    correct = all(v.ok for v in verdicts)
    lengths = [len(text) for text, _, _ in passes]

    bodies = [text[4:] for text, _, _ in passes]
    compressed = [base45.b45decode(b) for b in bodies]
    coses = [zlib.decompress(c) for c in compressed]
    payloads = [cbor2.loads(c).value[2] for c in coses]

    def step(fn: Callable[[Any], object], items: list[Any]) -> Callable[[], float]:
        def timed() -> float:
            t = time.perf_counter()
            for item in items:
                fn(item)
            return time.perf_counter() - t

        return timed

    def inflate(data: bytes) -> bytes:
        return zlib.decompressobj().decompress(data, cred.MAX_INFLATED)

    def cbor_cose(cose: bytes) -> object:
        return cbor2.loads(cose)

    steps = {
        "base45": step(cred._b45, bodies),
        "base45 package": step(base45.b45decode, bodies[: n // 10]),
        "zlib": step(inflate, compressed),
        "CBOR COSE": step(cbor_cose, coses),
        "CBOR claims": step(lambda p: cred._claims_from_map(cbor2.loads(p)), payloads),
    }

    t_verify = t_raw = float("inf")
    for _ in range(ROUNDS):
        t_verify = min(t_verify, run_verify())
        t_raw = min(t_raw, run_raw())
    step_us = {}
    for name, fn in steps.items():
        count = n // 10 if name == "base45 package" else n
        step_us[name] = round(best(fn, ROUNDS) / count * 1e6, 2)

    value = n / t_verify
    reference = n / t_raw
    print(
        f"{n} passes ({min(lengths)} to {max(lengths)} chars, "
        f"{result_over(lengths)} over {cred.QR_CAPACITY}), {KEYS} keys, {REVOKED} revoked: "
        f"verify {value:,.0f}/s ({t_verify / n * 1e6:.1f} µs), raw Ed25519 {reference:,.0f}/s "
        f"({t_raw / n * 1e6:.1f} µs), ratio {value / reference:.3f}; per pass: "
        + ", ".join(f"{k} {v} µs" for k, v in step_us.items()),
        file=sys.stderr,
    )
    result = {
        "bench": "pass_verification",
        "value": round(value),
        "unit": "verifications/s",
        "passes": n,
        "max_chars": max(lengths),
        "over_qr_v10m": result_over(lengths),
        "correct": correct,
        "verify_us": round(t_verify / n * 1e6, 2),
        "raw_us": round(t_raw / n * 1e6, 2),
        "step_us": step_us,
        "reference": round(reference),
        "reference_name": "raw Ed25519PublicKey.verify over the same Sig_structure (cryptography)",
        "ratio": round(value / reference, 3),
        "target": "≥ 0.8 of raw Ed25519 verification rate",
        "command": "bench/pass_verification.py" + (" --quick" if args.quick else ""),
    }
    from report import save

    save(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
