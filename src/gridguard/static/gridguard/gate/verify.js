// The gate page's pass verifier: the JavaScript twin of gridguard/access/credential.py.
//
// A scanned "GG1:" text is base45 (RFC 9285) of zlib of a COSE_Sign1 (tag 18) whose payload
// is a CBOR map of CWT claims, signed with Ed25519 by a street's key (decision 0007). This
// module must give the same verdict as credential.verify for every input, so it follows the
// same checks in the same order: decoding and structure (malformed), key id (unknown_key),
// signature (forged), key's street vs issuer (wrong_issuer), validity window with the
// scanner's skew and the 30 s display rule (not_yet_valid / expired), revocation list,
// compound, gate. tests/browser/test_gate.py feeds both the same table of passes.
//
// Where the two could differ, this file copies what Python's cbor2 does on purpose:
// - the COSE message must be in its one canonical encoding (checked byte for byte, as
//   credential.py does); inside the signed protected header and payload, bytes after the
//   first CBOR item are ignored (cbor2.loads ignores them);
// - integers in a longer encoding than needed are accepted; a repeated map key keeps the
//   last value.
// It is stricter than cbor2 only where no GridGuard signer ever writes such CBOR (floats,
// true/false/null, indefinite lengths, tags other than 18 at the top): those are
// "malformed" here, and refused (as malformed, unknown_key or forged) by the server too,
// unless they sit inside content signed by a trusted key.
//
// verify() never throws and never rejects: any input gives {ok, reason, claims, detail}.

export const PREFIX = "GG1:";
export const REASONS = Object.freeze([
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
]);
export const DISPLAY_LIFETIME = 120;
export const DISPLAY_SKEW = 30;

const KINDS = new Set(["resident", "worker", "visitor"]);
const MAX_TEXT = 1024; // characters of input accepted at all
const MAX_INFLATED = 4096; // bytes of decompressed COSE (decompression-bomb guard)
const MAX_PASS_ID = 16;
const KID_LEN = 8;
const ALG_EDDSA = -8;
const COSE_SIGN1_TAG = 18;
const MAX_DEPTH = 32; // nesting of CBOR arrays/maps; real passes use 3

const ISS = 1;
const EXP = 4;
const NBF = 5;
const IAT = 6;
const PASS = -65537;
const CLAIM_KEYS = [ISS, EXP, NBF, IAT, PASS];
const PASS_KEYS = ["v", "id", "c", "g", "n", "k"];

// --------------------------------------------------------------------------- base45

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const DIGIT = new Map([...B45].map((ch, i) => [ch, i]));

/** Strict base45 decoding, or null: a character outside the alphabet (lower case too), a
 *  length of 1 modulo 3, or a chunk whose value does not fit its bytes. */
export function b45decode(text) {
  const n = text.length;
  if (n % 3 === 1) return null;
  const out = new Uint8Array(Math.floor(n / 3) * 2 + (n % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < n; i += 3) {
    const c = DIGIT.get(text[i]);
    const d = DIGIT.get(text[i + 1]);
    if (c === undefined || d === undefined) return null;
    if (i + 2 < n) {
      const e = DIGIT.get(text[i + 2]);
      if (e === undefined) return null;
      const v = c + 45 * d + 2025 * e;
      if (v > 0xffff) return null;
      out[o++] = v >> 8;
      out[o++] = v & 0xff;
    } else {
      const v = c + 45 * d;
      if (v > 0xff) return null;
      out[o++] = v;
    }
  }
  return out;
}

// --------------------------------------------------------------------------- zlib

/** zlib (RFC 1950) inflate with the browser's DecompressionStream, or a reason string.
 *  Refuses output over MAX_INFLATED bytes, truncated streams and data after the end,
 *  like Python's decompressobj checks (unconsumed_tail, eof, unused_data). */
async function inflate(bytes) {
  if (bytes.length === 0) return "truncated zlib or data after it";
  let stream;
  try {
    stream = new DecompressionStream("deflate");
  } catch {
    return "this browser cannot inflate zlib";
  }
  const writer = stream.writable.getWriter();
  // Errors surface on the reading side; keep these promises from going unhandled.
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_INFLATED) {
        reader.cancel().catch(() => {});
        return `decompresses to more than ${MAX_INFLATED} bytes`;
      }
      chunks.push(value);
    }
  } catch {
    // Chromium reports bad data, a truncated stream and junk after the end all this way.
    return "invalid zlib, truncated, or data after it";
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

// --------------------------------------------------------------------------- CBOR

class CborError extends Error {}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A tag-18 value: the only tag a pass uses. */
class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

/** Decode the first CBOR item of `bytes` (bytes after it are ignored, as cbor2.loads does).
 *  Integers are numbers (BigInt beyond 2**53), byte strings Uint8Array, text strings
 *  string, arrays Array, maps Map (int or text keys). Throws CborError on anything else. */
export function cborDecode(bytes, { allowTag = false } = {}) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  function need(n) {
    if (n > bytes.length - pos) throw new CborError("premature end");
  }

  function argument(info) {
    if (info < 24) return info;
    if (info === 24) {
      need(1);
      return bytes[pos++];
    }
    if (info === 25) {
      need(2);
      const v = view.getUint16(pos);
      pos += 2;
      return v;
    }
    if (info === 26) {
      need(4);
      const v = view.getUint32(pos);
      pos += 4;
      return v;
    }
    if (info === 27) {
      need(8);
      const v = view.getBigUint64(pos);
      pos += 8;
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    // 28-30 reserved, 31 indefinite length: never written by a GridGuard signer.
    throw new CborError("unsupported length encoding");
  }

  function length(info) {
    const n = argument(info);
    if (typeof n !== "number") throw new CborError("length too large");
    return n;
  }

  function item(depth, topLevel) {
    if (depth > MAX_DEPTH) throw new CborError("nested too deeply");
    need(1);
    const initial = bytes[pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return argument(info);
      case 1: {
        const n = argument(info);
        if (typeof n === "number" && n < Number.MAX_SAFE_INTEGER) return -1 - n;
        const v = -1n - BigInt(n);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
      case 2: {
        const n = length(info);
        need(n);
        const v = bytes.slice(pos, pos + n);
        pos += n;
        return v;
      }
      case 3: {
        const n = length(info);
        need(n);
        let v;
        try {
          v = UTF8.decode(bytes.subarray(pos, pos + n));
        } catch {
          throw new CborError("invalid UTF-8 in text string");
        }
        pos += n;
        return v;
      }
      case 4: {
        const n = length(info);
        need(n); // each item takes at least one byte: bounds the allocation
        const arr = [];
        for (let i = 0; i < n; i++) arr.push(item(depth + 1, false));
        return arr;
      }
      case 5: {
        const n = length(info);
        need(2 * n);
        const map = new Map();
        for (let i = 0; i < n; i++) {
          const key = item(depth + 1, false);
          if (typeof key !== "number" && typeof key !== "string") {
            throw new CborError("map key is neither an integer nor text");
          }
          map.set(key, item(depth + 1, false)); // a repeated key keeps the last value
        }
        return map;
      }
      case 6: {
        const tag = argument(info);
        if (!(allowTag && topLevel && tag === COSE_SIGN1_TAG)) {
          throw new CborError(`unsupported tag ${tag}`);
        }
        return new Tagged(tag, item(depth + 1, false));
      }
      default:
        // floats, true/false/null/undefined, simple values
        throw new CborError("unsupported simple or float value");
    }
  }

  return item(0, true);
}

// --------------------------------------------------------------------------- helpers

const isInt = (x) => (typeof x === "number" && Number.isInteger(x)) || typeof x === "bigint";
const isBytes = (x) => x instanceof Uint8Array;
const isMap = (x) => x instanceof Map;

function hasExactKeys(map, keys) {
  if (map.size !== keys.length) return false;
  return keys.every((k) => map.has(k));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bstrHead(n) {
  if (n < 24) return [0x40 | n];
  if (n < 0x100) return [0x58, n];
  if (n < 0x10000) return [0x59, n >> 8, n & 0xff];
  return [0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

const SIG1_HEAD = [0x84, 0x6a, ...new TextEncoder().encode("Signature1")];

/** CBOR of ["Signature1", protected, b"", payload], byte for byte as credential._sig_structure. */
export function sigStructure(protectedBytes, payload) {
  const parts = [
    SIG1_HEAD,
    bstrHead(protectedBytes.length),
    protectedBytes,
    [0x40],
    bstrHead(payload.length),
    payload,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** PassClaims from the decoded claims map, or a reason string (credential._claims_from_map). */
function claimsFromMap(m) {
  if (!isMap(m)) return "claims are not a map";
  if (!hasExactKeys(m, CLAIM_KEYS)) return "claims keys are not exactly 1, 4, 5, 6, -65537";
  const iss = m.get(ISS);
  const iat = m.get(IAT);
  const nbf = m.get(NBF);
  const exp = m.get(EXP);
  const p = m.get(PASS);
  if (typeof iss !== "string" || !isInt(iat) || !isInt(nbf)) return "issuer, iat or nbf ill-typed";
  if (!isInt(exp)) return "exp ill-typed";
  if (!isMap(p) || !hasExactKeys(p, PASS_KEYS)) {
    return "pass claim is not a map of v, id, c, g, n, k";
  }
  const pid = p.get("id");
  const comp = p.get("c");
  const gates = p.get("g");
  const name = p.get("n");
  const kind = p.get("k");
  const v = p.get("v");
  if (!isInt(v) || v !== 1) return "pass claim version is not 1";
  // Python's len() counts code points, not UTF-16 units.
  if (typeof pid !== "string" || !(pid.length > 0 && [...pid].length <= MAX_PASS_ID)) {
    return "pass id ill-typed or too long";
  }
  if (typeof comp !== "string" || typeof name !== "string") return "compound or name ill-typed";
  if (typeof kind !== "string" || !KINDS.has(kind)) return "kind ill-typed or unknown";
  if (!Array.isArray(gates)) return "gates are not a list";
  for (const g of gates) if (typeof g !== "string") return "gate code ill-typed";
  return {
    pass_id: pid,
    compound: comp,
    gates: gates.slice(),
    masked_name: name,
    kind,
    issuer: iss,
    issued_at: iat,
    not_before: nbf,
    expires_at: exp,
  };
}

function protectedKid(protectedBytes) {
  let header;
  try {
    header = cborDecode(protectedBytes);
  } catch {
    return "protected header is not CBOR";
  }
  if (!isMap(header) || !hasExactKeys(header, [1, 4])) {
    return "protected header is not exactly {1: alg, 4: kid}";
  }
  const alg = header.get(1);
  const kid = header.get(4);
  if (!isInt(alg) || alg !== ALG_EDDSA) return "algorithm is not EdDSA (-8)";
  if (!isBytes(kid) || kid.length !== KID_LEN) return "kid is not 8 bytes";
  return kid;
}

const malformed = (detail) => ({ ok: false, reason: "malformed", claims: null, detail });

/** Text → {kid, protected, payload, signature, claims}, or a malformed verdict. */
async function decode(text) {
  if (typeof text !== "string") return malformed("not a string");
  if (text.length > MAX_TEXT) return malformed(`text longer than ${MAX_TEXT} characters`);
  if (!text.startsWith(PREFIX)) return malformed("missing GG1: prefix");
  const raw = b45decode(text.slice(PREFIX.length));
  if (raw === null) return malformed("invalid base45");
  const cose = await inflate(raw);
  if (typeof cose === "string") return malformed(cose);
  let msg;
  try {
    msg = cborDecode(cose, { allowTag: true });
  } catch {
    return malformed("COSE is not CBOR");
  }
  if (!(msg instanceof Tagged) || msg.tag !== COSE_SIGN1_TAG) {
    return malformed("not a COSE_Sign1 (tag 18)");
  }
  const parts = msg.value;
  if (!Array.isArray(parts) || parts.length !== 4) {
    return malformed("COSE_Sign1 is not an array of 4");
  }
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!isBytes(protectedBytes) || !isBytes(payload)) {
    return malformed("protected header or payload is not a byte string");
  }
  if (!isBytes(signature) || signature.length !== 64) {
    return malformed("signature is not 64 bytes");
  }
  if (!isMap(unprotected) || unprotected.size !== 0) {
    return malformed("unprotected header is not an empty map");
  }
  // The one encoding a signer writes, byte for byte (as credential.py checks): no trailing
  // bytes, no longer-than-needed lengths.
  const canonical = [
    0xd2,
    0x84,
    ...bstrHead(protectedBytes.length),
    ...protectedBytes,
    0xa0,
    ...bstrHead(payload.length),
    ...payload,
    0x58,
    0x40,
    ...signature,
  ];
  if (canonical.length !== cose.length || canonical.some((b, i) => b !== cose[i])) {
    return malformed("COSE_Sign1 not in its canonical encoding");
  }
  const kid = protectedKid(protectedBytes);
  if (typeof kid === "string") return malformed(kid);
  let claimsMap;
  try {
    claimsMap = cborDecode(payload);
  } catch {
    return malformed("payload is not CBOR");
  }
  const claims = claimsFromMap(claimsMap);
  if (typeof claims === "string") return malformed(claims);
  return { kid, protectedBytes, payload, signature, claims };
}

// --------------------------------------------------------------------------- trust list

function fromBase64(text) {
  const bin = atob(text);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

/** The trust list from a gate bundle's `keys`: {keys: Map(kid hex → CryptoKey),
 *  streets: Map(kid hex → street)}. An entry whose kid is not the first 8 bytes of SHA-256
 *  of its key, or that is not a 32-byte Ed25519 key, is left out (it could verify nothing). */
export async function trustFromBundle(entries) {
  const trust = { keys: new Map(), streets: new Map(), skipped: [] };
  for (const entry of entries || []) {
    try {
      const raw = fromBase64(entry.public_key);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
      const kid = hex(digest.subarray(0, KID_LEN));
      if (raw.length !== 32 || kid !== String(entry.kid).toLowerCase()) {
        trust.skipped.push(entry.kid);
        continue;
      }
      const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, [
        "verify",
      ]);
      trust.keys.set(kid, key);
      if (entry.street) trust.streets.set(kid, entry.street);
    } catch {
      trust.skipped.push(entry && entry.kid);
    }
  }
  return trust;
}

// --------------------------------------------------------------------------- verification

/** Check a scanned pass, as credential.verify does; never throws, never rejects.
 *
 *  options: now (Unix seconds, the server's clock), revoked (Set or array of pass ids),
 *  compound and gate (codes; null or absent to skip that check), skew (seconds, 300).
 *  Returns {ok, reason, claims, detail}; claims are set whenever the signature verified. */
export async function verify(text, trust, options = {}) {
  const refuse = (reason, claims, detail) => ({ ok: false, reason, claims, detail });
  try {
    const { now, compound = null, gate = null } = options;
    const skew = options.skew ?? 300;
    const revoked = new Set(options.revoked || []);
    const decoded = await decode(text);
    if ("reason" in decoded) return decoded; // malformed
    const { kid, protectedBytes, payload, signature, claims } = decoded;
    const kidHex = hex(kid);
    const key = trust.keys.get(kidHex);
    if (key === undefined) return refuse("unknown_key", null, `kid ${kidHex} not in trust list`);
    const signed = sigStructure(protectedBytes, payload);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed))) {
      return refuse("forged", null, "signature does not verify");
    }
    const street = trust.streets.get(kidHex);
    if (street !== undefined && street !== claims.issuer) {
      return refuse("wrong_issuer", claims, `key of ${street} signed for ${claims.issuer}`);
    }
    // BigInt arithmetic: exact for every integer the CBOR may carry, as Python's ints are.
    const big = BigInt;
    const t = typeof now === "bigint" ? now : big(Math.floor(now));
    if (t < big(claims.not_before) - big(skew)) {
      return refuse("not_yet_valid", claims, `valid from ${claims.not_before}`);
    }
    // A short-lived display credential (re-signed every 30 s on the holder's phone) gets at
    // most DISPLAY_SKEW of grace past its end, so that a screenshot stops working soon.
    const lifetime = big(claims.expires_at) - big(claims.issued_at);
    const late = lifetime <= big(DISPLAY_LIFETIME) && skew > DISPLAY_SKEW ? DISPLAY_SKEW : skew;
    if (t >= big(claims.expires_at) + big(late)) {
      return refuse("expired", claims, `expired at ${claims.expires_at}`);
    }
    if (revoked.has(claims.pass_id)) {
      return refuse("revoked", claims, `pass ${claims.pass_id} revoked`);
    }
    if (compound !== null && claims.compound !== compound) {
      return refuse("wrong_compound", claims, `pass is for ${claims.compound}`);
    }
    // A pass without gates admits at every gate of its compound.
    if (gate !== null && claims.gates.length && !claims.gates.includes(gate)) {
      return refuse("wrong_gate", claims, `gate ${gate} not on the pass`);
    }
    return { ok: true, reason: "ok", claims, detail: "" };
  } catch (exc) {
    return malformed(`unexpected ${exc && exc.name ? exc.name : "error"}`);
  }
}
