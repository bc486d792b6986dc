"""Real browser: the gate volunteer's phone page (A2, decision 0008).

The JavaScript verifier (static/gridguard/gate/verify.js) must give credential.verify's
verdict for every pass; the page logs scans online, queues them offline and uploads each
exactly once; the camera path reads a QR from a fake camera fed with a generated video.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent
from gridguard.access.services import keys, passes, scanning
from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import HealthCode
from tests import factories
from tests.browser.conftest import ARGS, CHROMIUM
from tests.browser.pages import log_in
from tests.conftest import City, build_city, reseed_reference_data

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}  # the small phone the gate page is laid out for
WAIT_MS = 15_000


@pytest.fixture
def town(transactional_db: Any) -> City:
    # A transactional test's flush also empties the rows the data migration seeded.
    reseed_reference_data()
    scanning.forget_cached()  # the live server's thread shares this process's caches
    return build_city()


def _issue(town: City, name: str = "王小芳", compound: str = "compound_a1") -> EntryPass:
    now = clock.now()
    area = town[compound]
    return passes.issue_pass(
        SYSTEM,
        factories.person(area, name),
        area,
        kind="resident",
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=30),
    )


def _make_code(entry_pass: EntryPass, colour: str) -> None:
    HealthCode.objects.update_or_create(
        person=entry_pass.person,
        defaults={
            "colour": colour,
            "reasons": [],
            "computed_at": clock.now(),
            "expires_at": clock.now() + dt.timedelta(days=1),
        },
    )


def _open_gate(browser: Any, base: str, town: City, username: str = "volunteer_a1") -> Any:
    page = log_in(browser, base, username, viewport=PHONE, lang="en-GB")
    page.goto(f"{base}/gate/{town['gate_a1'].code}/")
    page.wait_for_selector("#gate-app[data-ready='1']", timeout=WAIT_MS)
    return page


def _scan_text(page: Any, text: str, temperature: str = "") -> None:
    """Type the pass text (the camera's stand-in) and wait for the phone's verdict."""
    if page.locator("#gate-manual").get_attribute("open") is None:
        page.click("#gate-manual summary")
    page.fill("#gate-text", text)
    page.click("#gate-check")
    page.wait_for_function(
        """(text) => {
          const c = window.gridguardGate.state.current;
          return c && c.text === text && c.pass !== null
            && document.getElementById('gate-stage').dataset.verdict !== '';
        }""",
        arg=text.strip("\r\n\t"),
        timeout=WAIT_MS,
    )
    if temperature:
        page.fill("#gate-temp", temperature)


def _close_manual(page: Any) -> None:
    """Fold the typed-text box away before a screenshot: volunteers use the camera."""
    page.evaluate("document.getElementById('gate-manual').open = false")


def _verdict(page: Any) -> str:
    return str(page.locator("#gate-stage").get_attribute("data-verdict"))


def _queued(page: Any) -> int:
    return int(page.locator("#gate-queue").get_attribute("data-count") or 0)


# --------------------------------------------------------------------------- the verifier


def _cose(claims: dict[int, Any], kid: bytes, key: Ed25519PrivateKey, tail: bytes = b"") -> str:
    """A COSE_Sign1 pass around any claims and kid, signed by any key (forgeries)."""
    protected = cbor2.dumps({1: -8, 4: kid})
    payload = cbor2.dumps(claims)
    signature = key.sign(credential._sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])) + tail
    return "GG1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def _recompress(text: str, change: Any) -> str:
    cose = zlib.decompress(base45.b45decode(text[4:]))
    return "GG1:" + base45.b45encode(zlib.compress(change(cose), 9)).decode()


def _cases(town: City, good: EntryPass, revoked: EntryPass, now: int) -> dict[str, Any]:
    """Name → input: every verdict of credential.verify, and inputs that break each layer."""
    key_row = keys.active_key(town["compound_a1"])
    street_key = keys.private_key(key_row)
    kid = bytes.fromhex(key_row.kid)
    foreign = Ed25519PrivateKey.generate()
    _, base = credential.decode_unverified(good.credential)
    gate = town["gate_a1"].code

    def signed(**changes: Any) -> str:
        return credential.sign(dataclasses.replace(base, **changes), street_key)

    valid_body = good.credential[4:]
    tampered = base.to_cbor_map()
    tampered[credential._EXP] = now + 10**7
    raw = base45.b45decode(valid_body)
    return {
        "ok": good.credential,
        "ok_gate_listed": signed(gates=(gate, gate[:-1] + "2")),
        "ok_printed_within_skew": signed(issued_at=now - 86_400, expires_at=now - 200),
        "ok_display_within_grace": signed(
            issued_at=now - 100, not_before=now - 100, expires_at=now - 20
        ),
        "display_past_grace": signed(
            issued_at=now - 150, not_before=now - 150, expires_at=now - 31
        ),
        "display_at_grace_edge": signed(
            issued_at=now - 150, not_before=now - 150, expires_at=now - 30
        ),
        "forged_signature": _recompress(good.credential, lambda c: c[:-1] + bytes([c[-1] ^ 1])),
        "forged_claims": _cose(tampered, kid, foreign),
        "unknown_key": credential.sign(base, foreign),
        "wrong_issuer": signed(issuer=town["street_b"].code),
        "expired": signed(issued_at=now - 86_400, expires_at=now - 301),
        "not_yet_valid": signed(not_before=now + 301, expires_at=now + 86_400),
        "not_yet_valid_within_skew": signed(not_before=now + 299, expires_at=now + 86_400),
        # Times beyond 2**53 (JavaScript's exact integers) still compare exactly.
        "ok_far_future_u64": signed(expires_at=2**64 - 1),
        "expired_far_past_negative": signed(
            issued_at=-(2**63), not_before=-(2**63), expires_at=-(2**62)
        ),
        "revoked": revoked.credential,
        "wrong_compound": signed(compound=town["compound_a2"].code),
        "wrong_gate": signed(gates=(gate[:-1] + "7",)),
        "trailing_cbor": _recompress(good.credential, lambda c: c + b"\x00"),
        # The same message with a needlessly long length for the signature (0x59 00 40).
        "long_length": _recompress(good.credential, lambda c: c[:-66] + b"\x59\x00\x40" + c[-64:]),
        "garbage": "hello, gate",
        "empty": "",
        "prefix_only": "GG1:",
        "wrong_prefix": "GG2:" + valid_body,
        "lower_case": "GG1:" + valid_body.lower(),
        "truncated_text": good.credential[:-3],
        "truncated_zlib": "GG1:" + base45.b45encode(raw[:-4]).decode(),
        "data_after_zlib": "GG1:" + base45.b45encode(raw + b"\x00\x01").decode(),
        "bad_base45_chunk": "GG1:" + valid_body[:-3] + ":::",
        "too_long": "GG1:" + "A" * 1100,
        "not_cose": "GG1:" + base45.b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))).decode(),
        "float_in_claims": _cose({**tampered, credential._IAT: 1.5}, kid, street_key),
        "kid_too_short": _cose(base.to_cbor_map(), kid[:4], street_key),
        "not_a_string": 42,
    }


VERIFY_IN_PAGE = """
async ([cases, entries, options]) => {
  const v = await import("/static/gridguard/gate/verify.js");
  const trust = await v.trustFromBundle(entries);
  const out = {};
  for (const [name, text] of Object.entries(cases)) {
    const r = await v.verify(text, trust, {...options, revoked: new Set(options.revoked)});
    const c = r.claims;  // times as text: they may be BigInts
    out[name] = {ok: r.ok, reason: r.reason, detail: r.detail, claims: c && {...c,
      issued_at: String(c.issued_at), not_before: String(c.not_before),
      expires_at: String(c.expires_at)}};
  }
  return out;
}
"""


def test_the_javascript_verifier_agrees_with_python(
    browser: Any, live_server: Any, town: City
) -> None:
    good = _issue(town, "王小芳")
    revoked = _issue(town, "李四")
    passes.revoke_pass(SYSTEM, revoked, "lost")
    now = int(time.time())
    cases = _cases(town, good, revoked, now)
    trust = keys.trust_list()
    options: dict[str, Any] = {
        "now": now,
        "revoked": [revoked.pass_id],
        "compound": town["compound_a1"].code,
        "gate": town["gate_a1"].code,
        "skew": 300,
    }
    entries = [
        {
            "kid": kid.hex(),
            "street": trust.streets.get(kid),
            "public_key": base64.b64encode(raw).decode(),
        }
        for kid, raw in trust.to_raw().items()
    ]
    page = _open_gate(browser, live_server.url, town)
    js = page.evaluate(VERIFY_IN_PAGE, [cases, entries, options])
    if os.environ.get("GATE_DEBUG"):
        for name in cases:
            print(name, js[name]["reason"], js[name]["detail"])
    expected_reasons = set(credential.REASONS)
    seen: set[str] = set()
    for name, text in cases.items():
        py = credential.verify(text, trust, **{**options, "revoked": {revoked.pass_id}})
        got = js[name]
        assert (got["ok"], got["reason"]) == (py.ok, py.reason), (name, got, py)
        want = None if py.claims is None else {**dataclasses.asdict(py.claims)}
        if want is not None:
            want["gates"] = list(want["gates"])
            for t in ("issued_at", "not_before", "expires_at"):
                want[t] = str(want[t])
        assert got["claims"] == want, name
        seen.add(py.reason)
    # The table reaches every verdict credential.verify can give.
    assert seen == expected_reasons
    assert js["display_past_grace"]["reason"] == "expired"
    assert js["ok_display_within_grace"]["reason"] == "ok"
    page.context.close()


# --------------------------------------------------------------------------- online


def test_online_scan_logs_the_event_and_shows_green(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    good = _issue(town)
    page = _open_gate(browser, live_server.url, town)
    assert page.locator("#gate-net").get_attribute("data-online") == "1"
    _scan_text(page, good.credential + "\n", temperature="36.6")
    assert _verdict(page) == "ok"
    assert page.locator("#gate-stage").get_attribute("data-colour") == "green"
    event_id = page.evaluate("window.gridguardGate.state.current.event_id")
    page.click("#gate-log")
    page.wait_for_selector("#gate-stage[data-source='server']", timeout=WAIT_MS)
    assert _verdict(page) == "ok"
    assert page.locator("#gate-note").get_attribute("data-kind") == "ok"
    event = GateEvent.objects.get(event_id=uuid.UUID(event_id))
    assert (event.verdict, event.offline, str(event.temperature)) == ("ok", False, "36.6")
    assert event.entry_pass_id == good.pk and event.area_id == town["gate_a1"].pk
    assert good.pass_id in page.locator("#gate-holder").inner_text()
    assert page.locator("#gate-log").is_disabled()  # one tap logs once
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # One screen: the verdict and the log button without scrolling.
    box = page.locator("#gate-log").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]
    stage = page.locator("#gate-stage").bounding_box()
    assert stage is not None and stage["width"] >= 300
    _close_manual(page)
    shot(page, "gate-pass")
    page.context.close()


def test_a_fever_and_a_refusal_online(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    good = _issue(town)
    other = _issue(town, "赵六", compound="compound_a2")
    page = _open_gate(browser, live_server.url, town)
    _scan_text(page, good.credential, temperature="51")
    page.click("#gate-log")  # a misreading is not logged: the volunteer measures again
    assert page.locator("#gate-note").get_attribute("data-kind") == "error"
    assert "34.0" in page.locator("#gate-note").inner_text()
    assert GateEvent.objects.count() == 0 and not page.locator("#gate-log").is_disabled()
    page.fill("#gate-temp", "38.2")
    assert _verdict(page) == "fever"  # decided on the phone as the temperature is typed
    page.click("#gate-log")
    page.wait_for_selector("#gate-stage[data-source='server']", timeout=WAIT_MS)
    assert _verdict(page) == "fever"
    assert GateEvent.objects.get(entry_pass=good).verdict == "fever"

    _scan_text(page, other.credential)
    assert _verdict(page) == "wrong_compound"
    assert page.locator("#gate-stage").get_attribute("data-colour") == "red"
    assert "Another compound" in page.locator("#gate-reason").inner_text()
    page.click("#gate-log")
    page.wait_for_selector("#gate-stage[data-source='server']", timeout=WAIT_MS)
    assert GateEvent.objects.get(entry_pass=other).verdict == "wrong_compound"
    assert "Refuse" in page.locator("#gate-headline").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _close_manual(page)
    shot(page, "gate-refused")
    page.context.close()


# --------------------------------------------------------------------------- offline


def test_offline_scans_queue_and_upload_once(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    good = _issue(town, "王小芳")
    revoked = _issue(town, "李四")
    yellow = _issue(town, "张三")
    passes.revoke_pass(SYSTEM, revoked, "lost")
    _make_code(yellow, "yellow")
    page = _open_gate(browser, live_server.url, town)
    bundle = page.evaluate("window.gridguardGate.state.bundle")
    assert revoked.pass_id in bundle["revoked"] and bundle["not_green"] == {
        yellow.pass_id: "yellow"
    }

    page.context.set_offline(True)
    page.wait_for_selector("#gate-net[data-online='0']", timeout=WAIT_MS)
    expected = {}
    for entry_pass, verdict, temp in (
        (good, "ok", "36.5"),
        (revoked, "revoked", ""),
        (yellow, "code_yellow", "36.8"),
    ):
        _scan_text(page, entry_pass.credential, temperature=temp)
        assert _verdict(page) == verdict, entry_pass.pass_id
        page.click("#gate-log")
        page.wait_for_selector("#gate-note[data-kind='queued']", timeout=WAIT_MS)
        expected[entry_pass.pk] = verdict
        page.evaluate("document.getElementById('gate-note').dataset.kind = ''")
    page.wait_for_function("document.getElementById('gate-queue').dataset.count === '3'")
    assert "3" in page.locator("#gate-queue").inner_text()
    assert GateEvent.objects.count() == 0
    queued = page.evaluate("window.gridguardGate.queue()")
    assert sorted(e["verdict"] for e in queued) == ["code_yellow", "ok", "revoked"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _close_manual(page)
    shot(page, "gate-offline-queue")

    page.context.set_offline(False)  # the 'online' event starts the upload
    page.wait_for_function(
        "document.getElementById('gate-queue').dataset.count === '0'", timeout=WAIT_MS
    )
    events = list(GateEvent.objects.all())
    assert len(events) == 3
    assert all(e.offline for e in events)
    assert {e.entry_pass_id: e.verdict for e in events} == expected
    assert {str(e.event_id) for e in events} == {e["event_id"] for e in queued}

    # Upload again: the queue is empty, and the same events sent once more are duplicates.
    again = page.evaluate(
        """async (events) => {
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const resp = await fetch("/api/v1/access/events", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token},
            body: JSON.stringify({events: events.map(({event_id, gate, pass_id, verdict,
              temperature, scanned_at}) => ({event_id, gate, pass_id, verdict, temperature,
              scanned_at}))})});
          return await resp.json();
        }""",
        queued,
    )
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, [])
    page.evaluate("window.gridguardGate.upload()")
    assert GateEvent.objects.count() == 3
    page.context.close()


def test_a_scan_posted_online_then_resent_from_the_queue_is_one_event(
    browser: Any, live_server: Any, town: City
) -> None:
    good = _issue(town)
    page = _open_gate(browser, live_server.url, town)
    _scan_text(page, good.credential)
    page.click("#gate-log")
    page.wait_for_selector("#gate-stage[data-source='server']", timeout=WAIT_MS)
    current = page.evaluate(
        """() => {const s = window.gridguardGate.state.current;
           return {event_id: s.event_id, scanned_at: s.scanned_at}}"""
    )
    # As if the answer had been lost on the way back: the phone queued its own copy.
    page.evaluate(
        """async ([ev, gate, pid]) => {
          const open = indexedDB.open("gridguard-gate", 1);
          const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
          const t = db.transaction("queue", "readwrite");
          t.objectStore("queue").put({...ev, gate, pass_id: pid, verdict: "ok",
            temperature: null, queued_at: 1, rejected: null});
          await new Promise((ok) => { t.oncomplete = ok; });
        }""",
        [current, town["gate_a1"].code, good.pass_id],
    )
    page.evaluate("window.gridguardGate.upload()")
    page.wait_for_function(
        "document.getElementById('gate-queue').dataset.count === '0'", timeout=WAIT_MS
    )
    assert GateEvent.objects.filter(event_id=uuid.UUID(current["event_id"])).count() == 1
    assert GateEvent.objects.count() == 1
    page.context.close()


def test_a_rejected_event_stays_with_the_servers_message(
    browser: Any, live_server: Any, town: City
) -> None:
    page = _open_gate(browser, live_server.url, town)
    old = (clock.now() - dt.timedelta(days=40)).isoformat()
    page.evaluate(
        """async ([gate, old]) => {
          const open = indexedDB.open("gridguard-gate", 1);
          const db = await new Promise((ok) => { open.onsuccess = () => ok(open.result); });
          const t = db.transaction("queue", "readwrite");
          t.objectStore("queue").put({event_id: crypto.randomUUID(), gate, pass_id: null,
            verdict: "malformed", temperature: null, scanned_at: old, queued_at: 1,
            rejected: null});
          await new Promise((ok) => { t.oncomplete = ok; });
        }""",
        [town["gate_a1"].code, old],
    )
    page.evaluate("window.gridguardGate.upload()")
    page.wait_for_selector("#gate-rejected li", timeout=WAIT_MS)
    assert "30 days" in page.locator("#gate-rejected li").inner_text()
    assert _queued(page) == 0 and GateEvent.objects.count() == 0
    page.click("#gate-rejected li button")
    page.wait_for_selector("#gate-rejected li", state="detached", timeout=WAIT_MS)
    page.context.close()


def test_the_cached_bundle_serves_when_the_server_cannot_be_reached(
    browser: Any, live_server: Any, town: City
) -> None:
    good = _issue(town)
    page = _open_gate(browser, live_server.url, town)
    page.route("**/api/v1/access/bundle/**", lambda route: route.abort())
    page.reload()
    page.wait_for_selector("#gate-app[data-ready='1']", timeout=WAIT_MS)
    assert page.evaluate("window.gridguardGate.state.bundle.gate") == town["gate_a1"].code
    assert "Gate data from" in page.locator("#gate-age").inner_text()
    _scan_text(page, good.credential)
    assert _verdict(page) == "ok"
    page.context.close()


def test_the_page_reopens_offline_from_the_service_worker(
    browser: Any, live_server: Any, town: City
) -> None:
    good = _issue(town)
    page = _open_gate(browser, live_server.url, town)
    check = """async () => !!navigator.serviceWorker.controller
        && !!(await caches.match(location.pathname))
        && !!(await caches.match("/static/gridguard/gate/verify.js"))"""
    deadline = time.monotonic() + 15
    while not page.evaluate(check):
        assert time.monotonic() < deadline, "the service worker did not take the page"
        time.sleep(0.2)
    page.context.set_offline(True)
    page.reload()  # as when the phone closed the tab in the background
    page.wait_for_selector("#gate-app[data-ready='1']", timeout=WAIT_MS)
    assert page.locator("#gate-net").get_attribute("data-online") == "0"
    _scan_text(page, good.credential)
    assert _verdict(page) == "ok"
    page.click("#gate-log")
    page.wait_for_selector("#gate-note[data-kind='queued']", timeout=WAIT_MS)
    assert _queued(page) == 1 and GateEvent.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_function(
        "document.getElementById('gate-queue').dataset.count === '0'", timeout=WAIT_MS
    )
    assert GateEvent.objects.get(entry_pass=good).offline
    page.context.close()


# --------------------------------------------------------------------------- camera


def _write_y4m(path: Path, text: str, frames: int = 10) -> None:
    """A tiny YUV4MPEG2 video: 640x480, 4:2:0, the QR of `text` black on white in luma."""
    width, height = 640, 480
    rows = list(segno.make(text, error="m", micro=False).matrix_iter(scale=5, border=4))
    size = len(rows)
    assert size <= height, size
    luma = bytearray(b"\xff" * (width * height))
    top, left = (height - size) // 2, (width - size) // 2
    for y, row in enumerate(rows):
        start = (top + y) * width + left
        luma[start : start + size] = bytes(0 if dark else 255 for dark in row)
    chroma = b"\x80" * (width // 2 * height // 2)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def test_the_camera_reads_a_pass(
    browser: Any, live_server: Any, town: City, tmp_path: Path
) -> None:
    good = _issue(town)
    video = tmp_path / "pass.y4m"
    _write_y4m(video, good.credential)
    # A browser of its own: the fake camera is chosen when the browser starts.
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        page = log_in(camera_browser, live_server.url, "volunteer_a1", viewport=PHONE, lang="en-GB")
        page.context.grant_permissions(["camera"], origin=live_server.url)
        page.goto(f"{live_server.url}/gate/{town['gate_a1'].code}/")
        page.wait_for_selector("#gate-app[data-ready='1']", timeout=WAIT_MS)
        page.click("#gate-camera")
        page.wait_for_selector("#gate-stage[data-verdict='ok']", timeout=30_000)
        assert good.pass_id in page.locator("#gate-holder").inner_text()
        assert page.evaluate("window.gridguardGate.state.current.text") == good.credential
        page.click("#gate-log")
        page.wait_for_selector("#gate-stage[data-source='server']", timeout=WAIT_MS)
        assert GateEvent.objects.filter(entry_pass=good, verdict="ok").count() == 1
        page.context.close()
    finally:
        camera_browser.close()
