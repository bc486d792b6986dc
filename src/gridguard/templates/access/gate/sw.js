{% load static %}// The gate page's service worker: it lets a volunteer reopen the gate page with no network
// (a phone often closes a tab in the background). Network first, so that online the page and
// its scripts are always fresh; the copy in the cache serves only when the network fails.
// The API is not touched here: gate.js itself queues what it cannot send (decision 0008).
"use strict";

const CACHE = "gridguard-gate-v1";
const SCOPE = "{{ scope|escapejs }}";
const STATIC = "{{ static_root|escapejs }}";
const ASSETS = [
  "{% static 'gridguard/app.css' %}",
  "{% static 'gridguard/gate/gate.css' %}",
  "{% static 'gridguard/gate/gate.js' %}",
  "{% static 'gridguard/gate/verify.js' %}",
  "{% static 'vendor/jsQR.js' %}",
  "{% static 'vendor/htmx.min.js' %}",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("gridguard-gate-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
      // The gate pages already open loaded before this worker existed: keep a copy of them.
      const cache = await caches.open(CACHE);
      for (const client of await self.clients.matchAll({ type: "window" })) {
        const url = new URL(client.url);
        if (url.pathname.startsWith(SCOPE)) await cache.add(url.pathname).catch(() => {});
      }
    })(),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // Not a redirect (to the login page, when the session ended) nor an error page.
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (err) {
    // ignoreVary: the page varies on Cookie and Accept-Language, which a navigation
    // request made offline may carry differently from the request that filled the cache.
    const hit = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const page = request.mode === "navigate" && url.pathname.startsWith(SCOPE);
  if (page || url.pathname.startsWith(STATIC)) event.respondWith(networkFirst(request));
});
