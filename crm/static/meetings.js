// Public booking pages: use the visitor's own time zone. On the first visit (no tz in the
// address) the page reloads with the zone the browser reports; the select applies on change.
(function () {
  "use strict";
  var select = document.getElementById("tz-select");
  if (!select) { return; }
  var detected = "";
  try { detected = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { detected = ""; }
  var known = Array.prototype.some.call(select.options, function (o) { return o.value === detected; });
  if (select.getAttribute("data-tz-given") === "0" && known && detected !== select.value) {
    var url = new URL(window.location.href);
    url.searchParams.set("tz", detected);
    window.location.replace(url.toString());
    return;
  }
  select.addEventListener("change", function () { select.form.submit(); });
  var apply = document.getElementById("tz-apply");
  if (apply) { apply.classList.add("visually-hidden"); }
})();
