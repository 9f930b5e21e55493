/* In-app alerts: polls /alerts/poll every few seconds, shows a toast for each new alert and
   keeps the unread badge in the top bar current. No dependencies; text is set with
   textContent only (alert messages contain contact names and email subjects). */
(function () {
  "use strict";
  var link = document.getElementById("alerts-link");
  if (!link || !window.fetch) { return; }
  var badge = document.getElementById("alerts-badge");
  var pollUrl = link.getAttribute("data-poll-url");
  var lastId = null;
  var interval = 4000;
  var failures = 0;
  var container = null;

  function toasts() {
    if (!container) {
      container = document.createElement("div");
      container.id = "alert-toasts";
      container.className = "alert-toasts";
      container.setAttribute("aria-live", "polite");
      container.setAttribute("role", "status");
      document.body.appendChild(container);
    }
    return container;
  }

  function showToast(alert) {
    var toast = document.createElement("div");
    toast.className = "alert-toast alert-kind-" + String(alert.kind).replace(/[^a-z_]/g, "");
    toast.setAttribute("data-alert-id", String(alert.id));
    var text = document.createElement(alert.url ? "a" : "span");
    text.className = "alert-toast-message";
    text.textContent = alert.message;
    if (alert.url) { text.href = alert.url; }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "alert-toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(text);
    toast.appendChild(close);
    toasts().appendChild(toast);
    window.setTimeout(function () { toast.remove(); }, 15000);
  }

  function setUnread(count) {
    if (!badge) { return; }
    // The count is visible text and "unread" is read out after it, so the link's accessible
    // name ("Alerts 3 unread") contains what sighted users see (no aria-label that differs).
    var unread = document.createElement("span");
    unread.className = "visually-hidden";
    unread.textContent = " " + (badge.getAttribute("data-unread-word") || "unread");
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.appendChild(unread);
    badge.hidden = count <= 0;
  }

  function schedule() {
    var wait = document.hidden ? interval * 4 : interval;
    window.setTimeout(poll, Math.min(wait * Math.pow(2, failures), 120000));
  }

  function poll() {
    var url = pollUrl + (lastId === null ? "" : "?after=" + encodeURIComponent(lastId));
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          throw new Error("signed out");
        }
        if (!response.ok) { throw new Error("poll failed"); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (lastId !== null) { data.alerts.forEach(showToast); }
        lastId = data.last_id;
        if (data.interval_ms) { interval = data.interval_ms; }
        setUnread(data.unread);
        schedule();
      })
      .catch(function (error) {
        if (error.message === "signed out") { return; }
        failures = Math.min(failures + 1, 5);
        schedule();
      });
  }

  poll();
})();
