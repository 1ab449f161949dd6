/* Moderation page: the dot tally follows result.vote_cast events live (SSE). No build step, no inline script. */
(function () {
  "use strict";
  var tally = document.getElementById("tally");
  if (!tally || !window.EventSource) { return; }
  var workshop = tally.getAttribute("data-workshop");
  var source = new EventSource("/api/v1/stream?workshop=" + encodeURIComponent(workshop) + "&type=result.vote_cast&personal=false");
  source.addEventListener("result.vote_cast", function (msg) {
    var data = JSON.parse(msg.data).data || {};
    var cell = tally.querySelector('[data-target="' + data.target_id + '"]');
    if (cell) { cell.textContent = String(Number(cell.textContent) + Number(data.dots || 0)); }
  });
}());
