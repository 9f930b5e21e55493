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

// Template form: the token picker inserts the chosen token at the cursor of the text body
// (shown only with JavaScript; without it the hint under the body lists the tokens).
(function () {
  "use strict";
  var picker = document.querySelector("[data-token-picker]");
  var body = document.querySelector("#template-form textarea[name=text_body]");
  if (!picker || !body) { return; }
  picker.hidden = false;
  picker.querySelector("[data-insert-token]").addEventListener("click", function () {
    var token = picker.querySelector("select").value;
    var start = body.selectionStart || 0, end = body.selectionEnd || 0;
    body.value = body.value.slice(0, start) + token + body.value.slice(end);
    body.focus();
    body.selectionStart = body.selectionEnd = start + token.length;
  });
})();
