// Civitas crew view, offline: keeps the page shell and today's itinerary, so the page opens without a connection.
// The page itself keeps the crew's actions until the connection returns (see civitas.js).
"use strict";
const CACHE = "civitas-crew-v2";
// The page's own files and the map's (Leaflet and its marker images), so the stops' map draws offline too.
const SHELL = ["/assets/civitas.css", "/assets/civitas.js", "/assets/leaflet/leaflet.js", "/assets/leaflet/leaflet.css"];
const KEPT = (path) => path === "/crew" || path === "/crew/stops.json" || path.startsWith("/assets/");

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => event.waitUntil(
  caches.keys().then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
    .then(() => self.clients.claim())));

// The crew page is kept under one key whatever its notice; the stops under their day.
const KEY = (url) => url.pathname === "/crew" ? "/crew" : url.pathname + url.search;

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "GET" && KEPT(url.pathname)) {
    // Network first, so the crew sees the latest plan; the last copy when there is no network.
    event.respondWith(fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(KEY(url), copy));
      }
      return response;
    }).catch(() => caches.open(CACHE).then((cache) => cache.match(KEY(url)))
      .then((cached) => cached || new Response("Offline, and this page was never loaded here.", { status: 503 }))));
    return;
  }
});
