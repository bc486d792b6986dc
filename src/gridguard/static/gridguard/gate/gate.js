// The gate volunteer's phone page (decision 0008): scan a pass, see the verdict, take a
// temperature, log it with one tap. It keeps working when the network drops:
// - the gate bundle (trust list, revocation list, non-green pass ids, the server's clock) is
//   cached in localStorage, and passes are verified in the browser by verify.js;
// - a scan that cannot be posted is queued in IndexedDB with the event id chosen when it was
//   scanned, and uploaded in batches when the phone is back online. The server keeps one row
//   per event id, so an upload sent twice, or a scan posted and then re-sent, counts once.

import { trustFromBundle, verify } from "./verify.js";

const app = document.getElementById("gate-app");
const T = JSON.parse(document.getElementById("gate-strings").textContent);
const GATE = app.dataset.gate;
const API = app.dataset.api; // "/api/v1/"
const BUNDLE_KEY = `gridguard.gate.bundle.${GATE}`;
const BATCH = 500; // events per upload (the endpoint takes up to 5,000)
const TICK_MS = 15000; // status refresh and upload retry
const FETCH_TIMEOUT_MS = 10000;
const STALE_MS = 24 * 3600 * 1000; // older gate data than this gets a warning
const SAME_CODE_MS = 4000; // the camera sees one code many times a second
const $ = (id) => document.getElementById(id);

const state = {
  bundle: null,
  fetchedAt: 0, // local ms when the bundle arrived
  offsetMs: 0, // server clock minus this phone's clock
  trust: { keys: new Map(), streets: new Map() },
  revoked: new Set(),
  current: null, // the scan on screen
  uploading: false,
  uploadNote: "",
  camera: "off", // off | looking | paused
  stream: null,
  lastCode: { text: "", at: 0 },
};

const fmt = (template, values) =>
  template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
const serverNowMs = () => Date.now() + state.offsetMs;

function newEventId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http (not localhost) have no randomUUID: build a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// --------------------------------------------------------------------------- network

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : app.dataset.csrf;
}

/** fetch against the API with the session cookie, the CSRF header and a timeout. */
async function api(path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const init = {
      credentials: "same-origin",
      signal: controller.signal,
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(body);
    }
    return await fetch(API + path, init);
  } finally {
    clearTimeout(timer);
  }
}

async function errorMessage(resp) {
  try {
    const body = await resp.json();
    const first = body.errors && body.errors[0];
    if (first) return { field: first.field, message: first.message };
  } catch {
    /* not JSON */
  }
  return { field: null, message: `HTTP ${resp.status}` };
}

// --------------------------------------------------------------------------- gate bundle

async function useBundle(record) {
  state.bundle = record.bundle;
  state.fetchedAt = record.fetched_at;
  state.offsetMs = record.offset_ms;
  state.revoked = new Set(record.bundle.revoked || []);
  state.trust = await trustFromBundle(record.bundle.keys);
  renderTempHint();
}

function cachedBundle() {
  try {
    const record = JSON.parse(localStorage.getItem(BUNDLE_KEY));
    return record && record.bundle ? record : null;
  } catch {
    return null;
  }
}

async function refreshBundle() {
  if (!navigator.onLine) return false;
  const t0 = Date.now();
  try {
    const resp = await api(`access/bundle/${encodeURIComponent(GATE)}`);
    if (!resp.ok) {
      state.uploadNote = (await errorMessage(resp)).message;
      return false;
    }
    const bundle = await resp.json();
    const t1 = Date.now();
    // The server's second falls somewhere during the request: take the midpoint.
    const record = { bundle, fetched_at: t1, offset_ms: bundle.server_time * 1000 - (t0 + t1) / 2 };
    try {
      localStorage.setItem(BUNDLE_KEY, JSON.stringify(record));
    } catch {
      /* storage full: the bundle still serves this page */
    }
    await useBundle(record);
    return true;
  } catch {
    return false;
  } finally {
    renderStatus();
  }
}

function bundleDue() {
  const every = ((state.bundle && state.bundle.refresh_s) || 300) * 1000;
  return !state.bundle || Date.now() - state.fetchedAt >= every;
}

// --------------------------------------------------------------------------- offline queue

let dbPromise = null;

function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open("gridguard-gate", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "event_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function queueAll() {
  const store = (await db()).transaction("queue").objectStore("queue");
  const rows = await done(store.getAll());
  return rows.sort((a, b) => a.queued_at - b.queued_at);
}

async function queueWrite(change) {
  const t = (await db()).transaction("queue", "readwrite");
  change(t.objectStore("queue"));
  return new Promise((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

let queueSeq = 0;

async function enqueue(event) {
  // queued_at orders uploads; the counter keeps two events of one millisecond in order.
  const row = { ...event, queued_at: Date.now() * 1000 + (queueSeq++ % 1000), rejected: null };
  await queueWrite((store) => store.put(row));
}

/** What the events endpoint takes: the six fields of decision 0008, nothing of ours. */
const eventBody = (e) => ({
  event_id: e.event_id,
  gate: e.gate,
  pass_id: e.pass_id,
  verdict: e.verdict,
  temperature: e.temperature,
  scanned_at: e.scanned_at,
});

async function uploadBatches() {
  for (;;) {
    const pending = (await queueAll()).filter((e) => !e.rejected);
    if (!pending.length) return;
    const batch = pending.slice(0, BATCH);
    const resp = await api("access/events", { events: batch.map(eventBody) });
    if (resp.status === 401 || resp.status === 403) {
      state.uploadNote = T.log_in_again;
      return;
    }
    if (!resp.ok) {
      state.uploadNote = fmt(T.upload_failed, { why: (await errorMessage(resp)).message });
      return;
    }
    const body = await resp.json();
    const rejected = new Map();
    for (const r of body.rejected || []) {
      const ev = batch.find((e) => e.event_id === r.event_id) || batch[r.index];
      if (ev) rejected.set(ev.event_id, [r.field, r.message].filter(Boolean).join(": "));
    }
    // Every event sent was accepted, a duplicate (already on the server) or rejected: the
    // first two leave the queue, the rejected stay with the server's message. So the queue
    // shrinks each round and the loop ends.
    await queueWrite((store) => {
      for (const e of batch) {
        if (rejected.has(e.event_id)) store.put({ ...e, rejected: rejected.get(e.event_id) });
        else store.delete(e.event_id);
      }
    });
    state.uploadNote = "";
    await renderQueue();
  }
}

async function upload() {
  if (state.uploading || !navigator.onLine) return;
  state.uploading = true; // before any await: a second call while this one runs returns
  try {
    if (!(await queueAll()).some((e) => !e.rejected)) return; // the usual case: quiet
    state.uploadNote = T.uploading;
    await renderQueue();
    // One tab at a time uploads (two would only send duplicates, but no need).
    if (navigator.locks) {
      await navigator.locks.request("gridguard-gate-upload", { ifAvailable: true }, (lock) =>
        lock ? uploadBatches() : null,
      );
    } else {
      await uploadBatches();
    }
  } catch {
    state.uploadNote = fmt(T.upload_failed, { why: T.no_network });
  } finally {
    state.uploading = false;
    if (state.uploadNote === T.uploading) state.uploadNote = "";
    await renderQueue();
  }
}

// --------------------------------------------------------------------------- verdicts

/** The holder's verdict: the pass checks, then the health code, then the temperature. */
function localVerdict(scan, temperature) {
  const pass = scan.pass;
  if (!pass.ok) return pass.reason;
  const colour = ((state.bundle && state.bundle.not_green) || {})[pass.claims.pass_id];
  if (colour === "red") return "code_red";
  if (colour) return "code_yellow";
  const feverFrom = (state.bundle && state.bundle.fever_from) || 37.3;
  if (temperature !== null && temperature >= feverFrom) return "fever";
  return "ok";
}

const colourOf = (verdict) =>
  verdict === "ok" ? "green" : verdict === "code_yellow" ? "yellow" : "red";

/** The temperature typed: a number rounded to 0.1, null when empty, undefined when invalid. */
function readTemperature() {
  const input = $("gate-temp");
  // A number field holds "" for text it cannot read: that is a typing slip, not "not taken".
  if (input.validity && input.validity.badInput) return undefined;
  const raw = input.value.trim().replace(",", ".");
  if (!raw) return null;
  const t = Number(raw);
  // The server's range (health.services.registration.check_temperature): a reading outside
  // it is a misreading, and would be refused on upload.
  if (!Number.isFinite(t) || t < 34 || t > 42.5) return undefined;
  return Math.round(t * 10) / 10;
}

async function onScanned(rawText) {
  // Pasted text often ends with a line break; spaces are base45 digits, so they stay.
  const text = String(rawText).replace(/[\r\n\t]+/g, "");
  const scan = {
    event_id: newEventId(),
    text,
    scanned_at: new Date(serverNowMs()).toISOString(),
    pass: null,
    server: null,
    logged: false,
  };
  state.current = scan;
  $("gate-temp").value = "";
  note("");
  render();
  await state.ready;
  const bundle = state.bundle || {};
  scan.pass = await verify(text, state.trust, {
    now: Math.floor(serverNowMs() / 1000),
    revoked: state.revoked,
    compound: bundle.compound || app.dataset.compound || null,
    gate: GATE,
    skew: bundle.skew ?? 300,
  });
  if (state.current === scan) render();
}

async function logCurrent() {
  const scan = state.current;
  if (!scan || !scan.pass || scan.logged) return;
  const temperature = readTemperature();
  if (temperature === undefined) {
    note(T.temp_invalid, "error");
    return;
  }
  scan.logged = true;
  scan.temperature = temperature;
  render();
  const verdict = localVerdict(scan, temperature);
  if (navigator.onLine) {
    try {
      const resp = await api("access/scan", {
        gate: GATE,
        qr: scan.text,
        temperature,
        event_id: scan.event_id,
        scanned_at: scan.scanned_at,
      });
      if (resp.ok) {
        scan.server = await resp.json();
        $("gate-text").value = "";
        note(T.logged, "ok");
        render();
        afterLog();
        return;
      }
      const problem = await errorMessage(resp);
      if (resp.status === 422 && problem.field && problem.field.includes("temperature")) {
        scan.logged = false; // let the volunteer correct it
        note(problem.message, "error");
        render();
        return;
      }
      // Anything else (session gone, server error, text the server will not take): keep the
      // scan on the phone with the local verdict, so that it is not lost.
    } catch {
      /* network down or timed out: the queued copy has the same event id */
    }
  }
  await enqueue({
    event_id: scan.event_id,
    gate: GATE,
    pass_id: scan.pass.claims ? scan.pass.claims.pass_id : null,
    verdict,
    temperature,
    scanned_at: scan.scanned_at,
  });
  $("gate-text").value = "";
  note(T.saved_offline, "queued");
  render();
  await renderQueue();
  afterLog();
  if (navigator.onLine) upload();
}

function afterLog() {
  if (state.camera === "paused") startLooking();
}

// --------------------------------------------------------------------------- camera

async function startCamera() {
  if (state.stream) return startLooking();
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch {
    note(T.camera_failed, "error");
    return;
  }
  const video = $("gate-video");
  video.srcObject = state.stream;
  await video.play().catch(() => {});
  startLooking();
}

function stopCamera() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  state.camera = "off";
  $("gate-video").srcObject = null;
  render();
}

let lookRound = 0;

function startLooking() {
  state.camera = "looking";
  render();
  const round = ++lookRound; // a stop and a quick restart must not leave two loops running
  requestAnimationFrame(() => lookOnce(round));
}

const canvas = document.createElement("canvas");
const ctx2d = canvas.getContext("2d", { willReadFrequently: true });

/** Read one video frame with jsQR; again ~6 times a second until a code is seen. */
function lookOnce(round) {
  if (state.camera !== "looking" || round !== lookRound) return;
  const video = $("gate-video");
  if (video.readyState >= 2 && video.videoWidth && window.jsQR) {
    // jsQR's time grows with the pixels: 640 px across is plenty for a pass at arm's length.
    const scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    ctx2d.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = ctx2d.getImageData(0, 0, canvas.width, canvas.height);
    const code = window.jsQR(image.data, image.width, image.height, {
      inversionAttempts: "dontInvert",
    });
    const now = Date.now();
    const last = state.lastCode;
    const repeat = code && code.data === last.text && now - last.at < SAME_CODE_MS;
    if (code && code.data && !repeat) {
      state.lastCode = { text: code.data, at: now };
      state.camera = "paused";
      if (navigator.vibrate) navigator.vibrate(80);
      onScanned(code.data);
      return;
    }
    if (code) state.lastCode.at = now;
  }
  setTimeout(() => requestAnimationFrame(() => lookOnce(round)), 160);
}

// --------------------------------------------------------------------------- rendering

function note(text, kind = "") {
  const el = $("gate-note");
  el.textContent = text;
  el.dataset.kind = kind;
}

function human(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return fmt(T.seconds, { n: s });
  if (s < 90 * 60) return fmt(T.minutes, { n: Math.round(s / 60) });
  return fmt(T.hours, { n: Math.round(s / 3600) });
}

/** "2026-03-01 18:00" in Shanghai time (UTC+8 all year), as the other pages show times. */
function shanghai(ms) {
  try {
    return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 16).replace("T", " ");
  } catch {
    return "";
  }
}

const validUntil = (claims) => shanghai(Number(claims.expires_at) * 1000);

function render() {
  const scan = state.current;
  const stage = $("gate-stage");
  const looking = state.camera === "looking";
  $("gate-video").hidden = !looking;
  $("gate-result").hidden = looking && !scan;
  $("gate-camera").textContent =
    state.camera === "off" ? T.camera_off : looking ? T.camera_stop : T.scan_next;
  if (!scan) {
    stage.dataset.colour = "idle";
    stage.dataset.verdict = "";
    $("gate-log").disabled = true;
    return;
  }
  if (!scan.pass) {
    stage.dataset.colour = "idle";
    stage.dataset.verdict = "";
    $("gate-headline").textContent = T.checking;
    $("gate-reason").textContent = "";
    $("gate-holder").textContent = "";
    $("gate-server").textContent = "";
    $("gate-log").disabled = true;
    return;
  }
  const temperature = scan.logged ? scan.temperature : readTemperature();
  const server = scan.server;
  const verdict = server ? server.verdict : localVerdict(scan, temperature ?? null);
  // Not the server's `colour`: that is the holder's health code, green even for a fever.
  const colour = colourOf(verdict);
  stage.dataset.verdict = verdict;
  stage.dataset.colour = colour;
  stage.dataset.source = server ? "server" : "phone";
  $("gate-headline").textContent = verdict === "ok" ? T.headline.ok : T.headline.refuse;
  $("gate-reason").textContent = verdict === "ok" ? T.reasons.ok : T.reasons[verdict] || verdict;
  const claims = scan.pass.claims || (server && server.pass && {
    masked_name: server.pass.masked_name,
    kind: server.pass.kind,
    pass_id: server.pass.pass_id,
    expires_at: Date.parse(server.pass.valid_until) / 1000,
  });
  $("gate-holder").textContent = claims
    ? [
        claims.masked_name,
        T.kinds[claims.kind] || claims.kind,
        claims.pass_id,
        `${T.valid_until} ${validUntil(claims)}`,
      ].join(" · ")
    : "";
  const extra = [];
  // The server's words are the verdict's label: shown only when they add something.
  if (server && server.message && server.message !== T.reasons[verdict]) {
    extra.push(`${T.server_said}: ${server.message}`);
  }
  if (server && server.flagged === "two_gates") extra.push(T.flagged_two_gates);
  $("gate-server").textContent = extra.join(" ");
  $("gate-log").disabled = scan.logged;
}

function renderTempHint() {
  const feverFrom = (state.bundle && state.bundle.fever_from) || 37.3;
  $("gate-temp-hint").textContent = fmt(T.fever_from, { t: feverFrom.toFixed(1) });
}

function renderStatus() {
  const online = navigator.onLine;
  const net = $("gate-net");
  net.dataset.online = online ? "1" : "0";
  net.textContent = online ? T.online : T.offline;
  const age = $("gate-age");
  if (!state.bundle) {
    age.textContent = T.no_bundle;
    age.dataset.stale = "1";
  } else {
    const ms = Date.now() - state.fetchedAt;
    age.textContent = ms > STALE_MS ? T.bundle_stale : fmt(T.bundle_age, { age: human(ms) });
    age.dataset.stale = ms > STALE_MS ? "1" : "0";
  }
}

async function renderQueue() {
  let rows = [];
  try {
    rows = await queueAll();
  } catch {
    /* IndexedDB unavailable: nothing can be queued either */
  }
  const pending = rows.filter((e) => !e.rejected);
  const q = $("gate-queue");
  q.dataset.count = String(pending.length);
  q.textContent = pending.length ? fmt(T.queued, { n: pending.length }) : T.queue_empty;
  $("gate-upload").hidden = !pending.length;
  $("gate-upload-note").textContent = state.uploadNote;
  const list = $("gate-rejected");
  list.replaceChildren();
  for (const e of rows.filter((r) => r.rejected)) {
    const li = document.createElement("li");
    li.dataset.event = e.event_id;
    const when = shanghai(Date.parse(e.scanned_at));
    const verdict = T.reasons[e.verdict] || e.verdict;
    li.textContent = `${T.rejected}: ${e.pass_id || "—"} · ${verdict} · ${when} · ${e.rejected} `;
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "link";
    drop.textContent = T.discard;
    drop.addEventListener("click", async () => {
      await queueWrite((store) => store.delete(e.event_id));
      renderQueue();
    });
    li.append(drop);
    list.append(li);
  }
}

// --------------------------------------------------------------------------- wiring

$("gate-camera").addEventListener("click", () => {
  if (state.camera === "looking") stopCamera();
  else startCamera();
});
$("gate-check").addEventListener("click", () => onScanned($("gate-text").value));
$("gate-log").addEventListener("click", logCurrent);
$("gate-temp").addEventListener("input", () => {
  if (state.current && !state.current.logged) render();
});
$("gate-upload").addEventListener("click", upload);
window.addEventListener("online", async () => {
  renderStatus();
  await refreshBundle();
  upload();
});
window.addEventListener("offline", renderStatus);
setInterval(() => {
  renderStatus();
  if (!navigator.onLine) return;
  if (bundleDue()) refreshBundle();
  upload();
}, TICK_MS);

state.ready = (async () => {
  // WebCrypto and the camera exist only on https (or localhost) pages.
  if (!window.isSecureContext) note(T.insecure, "error");
  const cached = cachedBundle();
  if (cached) {
    await useBundle(cached);
    refreshBundle(); // in the background: the cached lists serve until it answers
  } else {
    await refreshBundle();
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
})();

// The service worker keeps a copy of this page and its scripts, to reopen it offline.
if ("serviceWorker" in navigator && app.dataset.sw) {
  navigator.serviceWorker.register(app.dataset.sw).catch(() => {});
}

renderTempHint();
renderStatus();
render();
renderQueue();
state.ready.then(() => {
  app.dataset.ready = "1";
  renderStatus();
  upload();
});

// For the browser tests and for support staff at a gate with a broken camera.
window.gridguardGate = { scan: onScanned, upload, queue: queueAll, state };
