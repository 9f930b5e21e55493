// Step forms: show the email fields only for email steps. Without JavaScript every field
// stays visible and the server ignores the ones that do not apply.
(function () {
  "use strict";
  function wire(form) {
    var kind = form.querySelector("select[name=kind]");
    var emailFields = form.querySelector("[data-email-fields]");
    if (!kind || !emailFields) { return; }
    function sync() {
      emailFields.hidden = !(kind.value === "auto_email" || kind.value === "manual_email");
    }
    kind.addEventListener("change", sync);
    sync();
  }
  document.querySelectorAll("[data-step-form]").forEach(wire);
})();
