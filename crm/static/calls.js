// Calls: keyboard shortcuts on the working page, a call timer, and the small poll that lets
// live intent join the queue during the day. Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";

  function workPage() {
    var form = document.getElementById("log-form");
    if (!form) { return; }
    var started = Date.now();
    var duration = form.querySelector("input[name=duration_seconds]");
    var timer = document.getElementById("timer");
    window.setInterval(function () {
      var seconds = Math.round((Date.now() - started) / 1000);
      if (timer) { timer.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0"); }
    }, 1000);
    function outcomeChosen() { return !!form.querySelector("input[name=outcome]:checked"); }
    function askForOutcome() {
      // Say what is missing instead of a round trip that answers 422.
      var first = form.querySelector("input[name=outcome]");
      var hint = document.getElementById("outcome-needed");
      if (hint) { hint.hidden = false; }
      if (first) { first.focus(); }
    }
    form.addEventListener("submit", function (event) {
      if (!outcomeChosen()) { event.preventDefault(); askForOutcome(); return; }
      // Filled only now that an outcome is chosen: a refused submit no longer leaves "0" behind.
      if (duration && !duration.value) { duration.value = String(Math.round((Date.now() - started) / 1000)); }
    });
    var keys = {};
    form.querySelectorAll("input[name=outcome]").forEach(function (input) { keys[input.dataset.key] = input; });
    var callback = form.querySelector("input[name=callback_at]");
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "radio"));
      if (typing) {
        // Enter logs from any field of the form (the callback date too); in the notes it is a
        // new line, so there it takes Ctrl+Enter.
        var plainEnterLogs = target.tagName === "INPUT" && form.contains(target);
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey || plainEnterLogs)) {
          event.preventDefault();
          form.requestSubmit();
        }
        if (event.key === "Escape") { target.blur(); }
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var choice = keys[event.key];
      if (choice) {
        event.preventDefault();
        choice.checked = true;
        choice.focus();
        if (choice.value === "callback" && callback) { callback.focus(); }
        return;
      }
      if (event.key === "n") {
        event.preventDefault();
        var notes = form.querySelector("textarea[name=notes]");
        if (notes) { notes.focus(); }
      } else if (event.key === "Enter") {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "s") {
        var skip = document.querySelector("form[action$='/skip'] button");
        if (skip) { event.preventDefault(); skip.click(); }
      }
    });
  }

  function poll() {
    var banner = document.getElementById("live-banner");
    if (!banner || !banner.dataset.pollUrl) { return; }
    function tick() {
      fetch(banner.dataset.pollUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var count = document.getElementById("queued-count");
          if (count) { count.textContent = String(data.queued); }
          if (data.joined > 0 && data.live.length) {
            banner.hidden = false;
            banner.textContent = "Live now: " + data.live.map(function (l) { return l.name + " (" + l.reason + ")"; }).join(", ") + ". Reload to see the new order.";
          }
          if (banner.dataset.goNext && data.next_entry_id) { window.location.reload(); }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }
    window.setInterval(tick, 30000);
  }

  document.addEventListener("DOMContentLoaded", function () { workPage(); poll(); });
})();
