// Civitas pages work without this file. Where it runs, it adds the map, address suggestions and the device's location.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function tiles(map, element) {
    var url = element.getAttribute("data-tiles");
    if (url) {
      L.tileLayer(url, { maxZoom: 19, attribution: element.getAttribute("data-attribution") || "" }).addTo(map);
    }
  }

  function setSpot(lat, long) {
    var latField = $("lat"), longField = $("long");
    if (latField && longField) {
      latField.value = lat.toFixed(6);
      longField.value = long.toFixed(6);
    }
  }

  // The map where a resident puts a pin.
  function pickerMap(element) {
    // Without this file the map and "use my location" cannot work, so they are shown only from here; the form says
    // so to the server, which words its messages for what the page offers.
    var field = element.closest(".map-field");
    if (field) { field.hidden = false; }
    if ($("js-flag")) { $("js-flag").value = "1"; }
    var map = L.map(element, { keyboard: true, maxZoom: 19 }).setView([+element.getAttribute("data-lat"), +element.getAttribute("data-long")], 15);
    tiles(map, element);
    var marker = null;
    var status = $("pin-status");
    function place(lat, long, announce) {
      if (marker) { marker.setLatLng([lat, long]); } else { marker = L.marker([lat, long], { keyboard: false, alt: "" }).addTo(map); }
      setSpot(lat, long);
      if (announce && status) { status.textContent = element.getAttribute("data-pin-set"); }
    }
    var lat = parseFloat(($("lat") || {}).value), long = parseFloat(($("long") || {}).value);
    if (!isNaN(lat) && !isNaN(long)) { place(lat, long, false); map.setView([lat, long], 17); }
    map.on("click", function (event) { place(event.latlng.lat, event.latlng.lng, true); });
    var device = $("use-device");
    if (device && navigator.geolocation) {
      device.hidden = false;
      device.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (position) {
          place(position.coords.latitude, position.coords.longitude, true);
          map.setView([position.coords.latitude, position.coords.longitude], 17);
        }, function () {
          if (status) { status.textContent = device.getAttribute("data-denied"); }
        }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
    return { place: function (lat, long) { place(lat, long, true); map.setView([lat, long], 17); } };
  }

  // A request's own spot.
  function markerMap(element) {
    var lat = +element.getAttribute("data-lat"), long = +element.getAttribute("data-long");
    var map = L.map(element, { keyboard: false, scrollWheelZoom: false, maxZoom: 19 }).setView([lat, long], 16);
    tiles(map, element);
    L.marker([lat, long], { keyboard: false, alt: "" }).addTo(map);
  }

  // Many requests, clustered, from a GeoJSON address; moving the map narrows the list to what is shown. With
  // data-live, the map redraws itself whenever a request changes on any server (Server-Sent Events).
  function listMap(element) {
    var map = L.map(element, { keyboard: true, maxZoom: 19 });
    tiles(map, element);
    var layer = L.markerClusterGroup ? L.markerClusterGroup() : L.layerGroup();
    map.addLayer(layer);
    var fitted = false;
    function load() {
      return fetch(element.getAttribute("data-source"), { credentials: "same-origin" }).then(function (response) { return response.json(); }).then(function (data) {
        layer.clearLayers();
        draw(data);
      });
    }
    var live = element.getAttribute("data-live");
    if (live && window.EventSource) {
      var status = $("live-status"), timer = null, source = new EventSource(live);
      source.addEventListener("request", function (event) {
        var change = JSON.parse(event.data);
        if (status) { status.textContent = status.getAttribute("data-changed").replace("{id}", change.id); }
        element.setAttribute("data-last-change", change.id + ":" + change.status);
        clearTimeout(timer);
        timer = setTimeout(load, 300);
      });
      // Too much happened while the page was away to replay it change by change: draw everything afresh.
      source.addEventListener("reload", function () {
        clearTimeout(timer);
        timer = setTimeout(load, 300);
      });
    }
    load();
    function draw(data) {
      var bounds = [];
      data.features.forEach(function (feature) {
        var c = feature.geometry.coordinates, p = feature.properties;
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = "#" + p.id + " " + p.service + " (" + p.status + ")" + (p.duplicates ? " +" + p.duplicates : "");
        if (p.sla) {
          // Staff maps colour each request by its service level; a request with merged duplicates shows their count.
          var icon = L.divIcon({ className: "pin pin-" + p.sla, html: p.duplicates ? String(p.duplicates + 1) : "", iconSize: [22, 22] });
          L.marker([c[1], c[0]], { keyboard: false, icon: icon, alt: "" }).bindPopup(link).addTo(layer);
        } else {
          L.marker([c[1], c[0]], { keyboard: false, alt: "" }).bindPopup(link).addTo(layer);
        }
        bounds.push([c[1], c[0]]);
      });
      if (!fitted) {
        fitted = true;
        if (bounds.length) { map.fitBounds(bounds, { maxZoom: 16 }); } else { map.setView([0, 0], 2); }
        map.on("moveend", function () {
          var b = map.getBounds(), box = $("bbox");
          if (box) { box.value = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (n) { return n.toFixed(5); }).join(","); }
        });
      }
    }
  }

  // Suggestions while typing an address, as a listbox the keyboard can use.
  function suggestions(input, picker) {
    var list = $(input.getAttribute("aria-controls"));
    var timer = null, items = [], active = -1, asked = 0;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-expanded", "false");
    function close() { list.hidden = true; list.innerHTML = ""; items = []; active = -1; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
    function choose(item) {
      input.value = item.address;
      setSpot(item.lat, item.long);
      if (picker) { picker.place(item.lat, item.long); }
      close();
    }
    function highlight(index) {
      var nodes = list.querySelectorAll("li");
      nodes.forEach(function (node, i) { node.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (nodes[index]) { input.setAttribute("aria-activedescendant", nodes[index].id); }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2) { close(); return; }
      timer = setTimeout(function () {
        var mine = ++asked;
        fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(text)).then(function (r) { return r.json(); }).then(function (found) {
          // Only the answer to the latest text counts; an earlier, slower one must not replace it.
          if (mine !== asked || input.value.trim() !== text) { return; }
          close();
          items = found;
          found.forEach(function (item, i) {
            var li = document.createElement("li");
            li.id = "suggestion-" + i;
            li.setAttribute("role", "option");
            li.textContent = item.address + (item.zipcode ? " " + item.zipcode : "");
            li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
            list.appendChild(li);
          });
          if (found.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        });
      }, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (!items.length) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(items[active]); }
      else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  var map = $("map"), picker = null;
  if (map && window.L) {
    if (map.getAttribute("data-pick")) { picker = pickerMap(map); }
    else if (map.getAttribute("data-marker")) { markerMap(map); }
    else if (map.getAttribute("data-source")) { listMap(map); }
  }
  var address = document.querySelector("input[data-suggest]");
  if (address) { suggestions(address, picker); }

  // The crew view keeps working without a connection: a service worker keeps the page and today's stops, and the
  // crew's actions are kept on the device while there is no connection, then sent (each once, by the idempotency
  // key its form was drawn with) when the connection returns.
  var offline = $("crew-offline");
  if (offline && "serviceWorker" in navigator && window.indexedDB && window.fetch) {
    navigator.serviceWorker.register("/crew-sw.js", { scope: "/crew" });
    var store = function (mode, work) {
      return new Promise(function (resolve, reject) {
        var open = indexedDB.open("civitas-crew", 1);
        open.onupgradeneeded = function () { open.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true }); };
        open.onerror = function () { reject(open.error); };
        open.onsuccess = function () {
          var transaction = open.result.transaction("outbox", mode);
          var request = work(transaction.objectStore("outbox"));
          transaction.oncomplete = function () { resolve(request && request.result); };
          transaction.onerror = function () { reject(transaction.error); };
        };
      });
    };
    var show = function () {
      return store("readonly", function (s) { return s.count(); }).then(function (count) {
        offline.setAttribute("data-pending", String(count));
        offline.textContent = count > 0 ? offline.getAttribute("data-waiting").replace("{n}", count) : "";
      });
    };
    // An action is kept as its form's fields, a photo among them as a file: IndexedDB keeps files as they are.
    var post = function (path, fields) {
      if (typeof fields === "string") {
        // Kept by an earlier version of this page, as an encoded form.
        return fetch(path, { method: "POST", body: fields, credentials: "same-origin", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      }
      var body = new FormData();
      fields.forEach(function (field) { body.append(field[0], field[1]); });
      return fetch(path, { method: "POST", body: body, credentials: "same-origin" });
    };
    var sending = false;
    var send = function () {
      if (sending || !navigator.onLine) { return; }
      sending = true;
      store("readonly", function (s) { return s.getAll(); }).then(function (items) {
        var notices = [];
        var next = function (index) {
          if (index >= items.length) {
            sending = false;
            if (notices.length) { window.location.replace("/crew?notice=" + encodeURIComponent(notices.join(" "))); }
            return show();
          }
          return post(items[index].path, items[index].fields || items[index].body).then(function (response) {
            notices.push(new URL(response.url).searchParams.get("notice") || ("sent (" + response.status + ")"));
            return store("readwrite", function (s) { return s.delete(items[index].id); }).then(function () { return next(index + 1); });
          }, function () { sending = false; return show(); });
        };
        return next(0);
      });
    };
    // One step at a time: once "Arrived" is recorded (or kept on the device), the card offers what was done there.
    var onSite = function (stop, focus) {
      var arrive = document.querySelector("form[data-arrive='" + stop + "']");
      var next = $("on-site-" + stop);
      if (!arrive || !next) { return; }
      arrive.parentNode.removeChild(arrive);
      next.hidden = false;
      if (focus) { $("done-" + stop).focus(); }
    };
    store("readonly", function (s) { return s.getAll(); }).then(function (items) {
      (items || []).forEach(function (item) {
        var action = (item.fields || []).filter(function (field) { return field[0] === "action"; })[0];
        if (action && action[1] === "arrive") { onSite(item.path.split("/").pop(), false); }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[action^='/crew/stops/']"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        // A note of spaces only is no note: asked for again here, offline too, not refused later by the server.
        var note = form.querySelector("input[name=note][required]");
        if (note && !note.value.trim()) { note.value = ""; form.reportValidity(); return; }
        var fields = [];
        new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
        var keep = function () {
          var arrive = form.getAttribute("data-arrive");
          return store("readwrite", function (s) { return s.add({ path: form.getAttribute("action"), fields: fields, at: Date.now() }); })
            .then(function () { if (arrive) { onSite(arrive, true); } }).then(show);
        };
        if (!navigator.onLine) { keep(); return; }
        post(form.getAttribute("action"), fields).then(function (response) { window.location.href = response.url; }, keep);
      });
    });
    window.addEventListener("online", send);
    show().then(send);
  }
})();
