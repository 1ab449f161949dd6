// Keeps the console's fill counts current and filters the registration table (no build step, no inline script).
(function () {
  var section = document.getElementById("fill");
  if (!section) return;
  var forum = section.getAttribute("data-forum");
  function refresh() {
    fetch("/api/v1/fora/" + encodeURIComponent(forum) + "/selection", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (view) {
        if (!view) return;
        view.workshops.forEach(function (w) {
          var total = document.querySelector('[data-accepted="' + w.id + '"]');
          if (total) total.textContent = w.accepted;
          Object.keys(w.by_group).forEach(function (g) {
            var cell = document.querySelector('[data-group="' + w.id + ":" + g + '"]');
            if (cell) { cell.textContent = w.by_group[g]; var m = cell.parentNode.querySelector("meter"); if (m) m.value = w.by_group[g]; }
          });
        });
      }).catch(function () {});
  }
  setInterval(refresh, 3000);
  var filter = document.querySelector("[data-filter]");
  if (filter) filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    document.querySelectorAll("#" + filter.getAttribute("data-filter") + " tbody tr").forEach(function (row) {
      row.hidden = q && row.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
})();
