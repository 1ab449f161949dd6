// The selection console follows its live stream (Server-Sent Events: ids and counts only) and re-fetches its
// figures from the staff JSON API; it also filters the registration table. No build step, no inline script.
// Without JavaScript (or without EventSource) the page stays as the server rendered it.
(function () {
  "use strict";
  var section = document.getElementById("fill");
  if (!section) { return; }
  var status = document.getElementById("live-status");
  var announcer = document.getElementById("live-announce");
  var newNote = document.getElementById("new-registrations");
  var labels = JSON.parse(section.getAttribute("data-group-labels") || "{}");
  var known = {}, newIds = {}, timer = null, busy = false, again = false;

  function setText(el, value) {
    if (el && el.textContent !== String(value)) { el.textContent = value; }
  }
  function one(selector) { return section.querySelector(selector); }
  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  // What the page shows now, so that only real changes are announced.
  each("[data-workshop]", function (box) {
    var id = box.getAttribute("data-workshop");
    known[id] = { accepted: Number(one('[data-accepted="' + id + '"]').textContent),
                  waitlist: Number(one('[data-waitlist-count="' + id + '"]').textContent) };
  });

  function showStatus(kind) {
    if (!status) { return; }
    status.hidden = false;
    status.className = "live-status live-status-" + kind;
    setText(status, status.getAttribute("data-" + kind));
  }

  function listItems(list, lines, empty) {
    list.textContent = "";
    (lines.length ? lines : (empty ? [empty] : [])).forEach(function (line) {
      var li = document.createElement("li");
      if (typeof line === "string") { li.textContent = line; } else { li.appendChild(line); }
      list.appendChild(li);
    });
  }

  function municipalityLine(name, n, total) {
    var frag = document.createDocumentFragment(), meter = document.createElement("meter");
    frag.appendChild(document.createTextNode(name + ": " + n + " "));
    meter.min = 0; meter.max = Math.max(1, total); meter.value = n;
    meter.textContent = n + "/" + total;
    frag.appendChild(meter);
    return frag;
  }

  function renderWorkshop(w, changes) {
    var box = one('[data-workshop="' + w.id + '"]');
    if (!box) { return; }
    setText(box.querySelector('[data-accepted="' + w.id + '"]'), w.accepted);
    Array.prototype.forEach.call(box.querySelectorAll("[data-group]"), function (cell) {
      var group = cell.getAttribute("data-group").split(":").pop(), n = w.by_group[group] || 0;
      setText(cell, n);
      var meter = box.querySelector('[data-meter="' + w.id + ":" + group + '"]');
      if (meter) { meter.value = n; setText(meter, n + "/" + meter.max); }
    });
    var towns = box.querySelector('[data-municipalities="' + w.id + '"]');
    if (towns) {
      listItems(towns, Object.keys(w.by_municipality).map(function (m) {
        return municipalityLine(m, w.by_municipality[m], w.accepted);
      }), "noch niemand");
    }
    setText(box.querySelector('[data-waitlist-count="' + w.id + '"]'), w.waitlist.length);
    listItems(box.querySelector('[data-waitlist="' + w.id + '"]'), w.waitlist.map(function (p) {
      return p.name + ", " + p.organisation + " (" + (labels[p.actor_group] || p.actor_group) + ")";
    }));
    var before = known[w.id] || {};
    if (before.accepted !== w.accepted || before.waitlist !== w.waitlist.length) {
      changes.push("Workshop " + box.getAttribute("data-number") + ": " + w.accepted + " von " +
                   box.getAttribute("data-open-seats") + " Plätzen vergeben, " + w.waitlist.length + " auf der Warteliste.");
    }
    known[w.id] = { accepted: w.accepted, waitlist: w.waitlist.length };
  }

  function render(view) {
    var changes = [], accepted = 0, waiting = 0;
    view.workshops.forEach(function (w) {
      renderWorkshop(w, changes);
      accepted += w.accepted;
      waiting += w.waitlist.length;
    });
    setText(one('[data-total="accepted"]'), accepted);
    setText(one('[data-total="waitlisted"]'), waiting);
    if (changes.length && announcer) { setText(announcer, changes.join(" ")); }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(section.getAttribute("data-overview"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (view) { if (view) { render(view); } })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  // Many events in a burst (a batch publish) make one re-fetch.
  function schedule() {
    if (timer === null) { timer = setTimeout(function () { timer = null; refresh(); }, 250); }
  }

  // The registration table is not redrawn (names are not on the stream); rows change status in place.
  function updateRow(item) {
    var row = document.querySelector('tr[data-registration="' + item.registration_id + '"]');
    if (row) {
      if (item.status) { setText(row.querySelector('[data-field="status"]'), item.status); }
      if (item.type !== "registration.submitted") { setText(row.querySelector('[data-field="workshop"]'), item.workshop_id || ""); }
    } else if (item.type === "registration.submitted" && newNote && !newIds[item.registration_id]) {
      newIds[item.registration_id] = true;
      newNote.hidden = false;
      setText(newNote.querySelector("[data-new-count]"), Object.keys(newIds).length);
    }
  }

  function onItem(message) {
    var item;
    try { item = JSON.parse(message.data); } catch (e) { return; }
    if (item.registration_id) { updateRow(item); }
    schedule();
  }

  var filter = document.querySelector("[data-filter]");
  if (filter) {
    filter.addEventListener("input", function () {
      var q = filter.value.toLowerCase();
      each("#" + filter.getAttribute("data-filter") + " tbody tr", function (row) {
        row.hidden = q && row.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }

  if (!window.EventSource || !window.fetch) { return; }
  var source = new EventSource(section.getAttribute("data-stream"));
  ["registration.submitted", "registration.cancelled", "selection.decided", "selection.overridden", "selection.finalized"]
    .forEach(function (type) { source.addEventListener(type, onItem); });
  source.addEventListener("stream.reset", schedule);
  // On every (re)connect: catch up on what happened while the stream was not open.
  source.onopen = function () { showStatus("live"); schedule(); };
  source.onerror = function () { showStatus(source.readyState === EventSource.CLOSED ? "closed" : "lost"); };
  section.setAttribute("data-live", "true");
})();
