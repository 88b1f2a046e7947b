// Civitas crew view, offline: keeps the page shell and today's itinerary, so the page opens without a connection.
// The page itself keeps the crew's actions until the connection returns (see civitas.js).
"use strict";
const CACHE = "civitas-crew-v1";
const SHELL = ["/assets/civitas.css", "/assets/civitas.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "GET" && (url.pathname === "/crew" || SHELL.includes(url.pathname))) {
    // Network first, so the crew sees the latest plan; the last copy when there is no network.
    event.respondWith(fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(url.pathname === "/crew" ? "/crew" : request, copy));
      }
      return response;
    }).catch(() => caches.open(CACHE).then((cache) => cache.match(url.pathname === "/crew" ? "/crew" : request))
      .then((cached) => cached || new Response("Offline, and this page was never loaded here.", { status: 503 }))));
    return;
  }
});
