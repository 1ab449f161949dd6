/* Live dashboard: follows GET /api/v1/stream (SSE) and refreshes its figures. No build step, no inline script. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var forum = root.getAttribute("data-forum");
  var feed = document.getElementById("feed");
  var connection = document.getElementById("connection");
  var personal = document.getElementById("personal");
  var source = null, timer = null, later = null, groupLabels = {};
  var STATUS = { accepted: "zugelassen", waitlisted: "Warteliste", rejected: "abgelehnt", cancelled: "storniert" };
  var LABELS = {
    "registration.submitted": "Neue Anmeldung", "registration.cancelled": "Abmeldung", "selection.decided": "Auswahlentscheidung",
    "selection.overridden": "Entscheidung geändert", "agenda.published": "Tagesordnung veröffentlicht", "agenda.updated": "Tagesordnung geändert",
    "agenda.conflict_detected": "Konflikt in der Tagesordnung", "result.idea_captured": "Idee erfasst", "result.sketch_submitted": "Projektskizze",
    "result.vote_cast": "Punkt vergeben", "result.finalized": "Ergebnisse festgeschrieben", "notification.sent": "E-Mail zugestellt",
    "notification.failed": "E-Mail fehlgeschlagen"
  };

  function text(el, value) { el.textContent = value; }
  function item(list, content, max) {
    var li = document.createElement("li");
    li.textContent = content;
    list.insertBefore(li, list.firstChild);
    while (list.children.length > max) { list.removeChild(list.lastChild); }
  }

  function describe(ev) {
    var d = ev.data || {}, parts = [LABELS[ev.type] || ev.type];
    if (d.title) { parts.push("„" + d.title + "“"); }
    if (d.status) { parts.push((STATUS[d.status] || d.status) + (d.workshop_id ? " (" + d.workshop_id + ")" : "")); }
    if (d.first_name) { parts.push(d.first_name + " " + (d.last_name || "")); }
    if (d.actor_group) { parts.push(groupLabels[d.actor_group] || d.actor_group); }
    if (d.dots) { parts.push(d.dots + " Punkt(e)"); }
    var time = ev.time ? new Date(ev.time).toLocaleTimeString("de-DE") : "";
    return time + " · " + parts.join(" · ");
  }

  function render(s) {
    var c = s.counters;
    groupLabels = s.groups;
    text(document.getElementById("c-registrations"), c.registrations);
    text(document.getElementById("c-accepted"), c.accepted);
    text(document.getElementById("c-waitlisted"), c.waitlisted);
    text(document.getElementById("c-ideas"), c.ideas);
    text(document.getElementById("c-sketches"), c.sketches);
    text(document.getElementById("c-dots"), c.dots);
    text(document.getElementById("c-failures"), c.failures);
    text(document.getElementById("c-conflicts"), c.conflicts);
    s.workshops.forEach(function (w) {
      var box = root.querySelector('[data-workshop="' + w.id + '"]');
      if (!box) { return; }
      box.querySelector(".bar span").style.width = Math.min(100, Math.round(100 * w.accepted / Math.max(1, w.seats))) + "%";
      text(box.querySelector(".fill-text"), w.accepted + " von " + w.seats + " Plätzen belegt");
      var ul = box.querySelector(".groups");
      ul.textContent = "";
      Object.keys(s.groups).forEach(function (g) {
        var li = document.createElement("li"), n = w.accepted_by_actor_group[g] || 0, q = (w.quotas || {})[g];
        var bar = document.createElement("span"), fill = document.createElement("span");
        li.textContent = s.groups[g] + ": " + n + (q ? " (mind. " + q.min + ", höchstens " + q.max + ")" : "");
        bar.className = "bar mini"; bar.setAttribute("aria-hidden", "true");
        fill.style.width = (q && q.max ? Math.min(100, Math.round(100 * n / q.max)) : 0) + "%";
        if (q && n < q.min) { li.className = "below"; }
        bar.appendChild(fill); li.appendChild(bar);
        ul.appendChild(li);
      });
    });
    var issues = document.getElementById("issues");
    issues.textContent = "";
    s.conflicts.forEach(function (x) { item(issues, "Konflikt " + x.workshop_id + ": " + x.message, 50); });
    s.failures.forEach(function (f) { item(issues, "Zustellfehler (" + f.template + "): " + f.error, 50); });
    var votes = document.getElementById("votes");
    votes.textContent = "";
    s.votes.forEach(function (v) {
      var li = document.createElement("li");
      li.textContent = (v.workshop ? "WS " + v.workshop + " · " : "") + v.title + ": " + v.dots + " Punkte";
      votes.appendChild(li);
    });
  }

  function refresh() {
    if (!forum) { return; }
    fetch("/api/v1/dashboard/" + encodeURIComponent(forum), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { render(s); } })
      .catch(function () {});
  }

  function soon() {  // the read models follow the events within a moment: fetch once they settled
    if (timer) { clearTimeout(timer); }
    if (later) { clearTimeout(later); }
    timer = setTimeout(refresh, 400);
    later = setTimeout(refresh, 2500);  // and once more for projections that were still catching up
  }

  function connect() {
    if (source) { source.close(); }
    var url = "/api/v1/stream?forum=" + encodeURIComponent(forum || "") + "&personal=" + (personal && personal.checked ? "true" : "false");
    source = new EventSource(url);  // reconnects by itself and sends Last-Event-ID
    source.onopen = function () { text(connection, "verbunden"); refresh(); };
    source.onerror = function () { text(connection, "unterbrochen – neuer Versuch …"); };
    Object.keys(LABELS).concat(["stream.reset"]).forEach(function (type) {
      source.addEventListener(type, function (msg) {
        if (type !== "stream.reset") { item(feed, describe(JSON.parse(msg.data)), 30); }
        soon();
      });
    });
  }

  if (personal) { personal.addEventListener("change", connect); }
  refresh();
  connect();
}());
