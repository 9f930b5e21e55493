// Import job page: while the job is queued or running, poll its JSON status every second and
// move the progress bar and counters; reload once it finishes to show the rejected rows.
(function () {
  "use strict";

  var box = document.querySelector("[data-import-status]");
  if (!box || box.getAttribute("data-finished") === "true") { return; }
  var url = box.getAttribute("data-import-status");
  var bar = box.querySelector("progress");
  var numbers = new Intl.NumberFormat();
  var INTERVAL_MS = 1000;

  function show(status) {
    if (bar && status.total_bytes) {
      bar.max = status.total_bytes;
      bar.value = status.bytes_read;
      bar.textContent = Math.round(100 * status.bytes_read / status.total_bytes) + " %";
    }
    ["rows_seen", "created", "updated", "skipped", "rejected"].forEach(function (key) {
      var cell = box.querySelector("[data-count='" + key + "']");
      if (cell) { cell.textContent = numbers.format(status[key]); }
    });
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) { window.location.reload(); return; }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 5); });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
