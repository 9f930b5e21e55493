/* Prospect CRM website snippet: page views and form captures, no dependencies.
   Paste on your site:  <script async src="https://YOUR-CRM/t/snippet.js"></script>
   - keeps a first-party visitor id (localStorage + cookie "_crm_vid", one year);
   - sends each page view {url, title, referrer} with navigator.sendBeacon as text/plain JSON
     (no CORS preflight) to /t/collect; the CRM accepts it only from origins its admin listed;
   - on submit of a form with an email field, sends its fields to /t/form (password, card and
     hidden fields are never read; add data-crm-ignore to a form to skip it);
   - reads the signed "_pc" parameter a tracked email link adds, sends it once and removes it
     from the address bar. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.JSON || !window.Blob) { return; }
  var base = script.src.replace(/\/t\/snippet\.js(\?.*)?$/, "");
  var KEY = "_crm_vid";
  var ID_RE = /^[A-Za-z0-9_-]{16,64}$/;

  function newId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += ("0" + bytes[i].toString(16)).slice(-2); }
    return out;
  }

  function cookieId() {
    var match = document.cookie.match(/(?:^|;\s*)_crm_vid=([A-Za-z0-9_-]+)/);
    return match ? match[1] : null;
  }

  function visitorId() {
    var id = null;
    try { id = window.localStorage.getItem(KEY); } catch (e) { id = null; }
    if (!id || !ID_RE.test(id)) { id = cookieId(); }
    if (!id || !ID_RE.test(id)) { id = newId(); }
    try { window.localStorage.setItem(KEY, id); } catch (e) { /* private mode */ }
    document.cookie = KEY + "=" + id + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
    return id;
  }

  function send(path, payload) {
    var body = JSON.stringify(payload);
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(base + path, new Blob([body], { type: "text/plain" }))) {
        return;
      }
    } catch (e) { /* fall through to fetch */ }
    if (window.fetch) {
      window.fetch(base + path, { method: "POST", body: body, mode: "no-cors", keepalive: true,
        credentials: "omit", headers: { "Content-Type": "text/plain" } });
    }
  }

  function takeStitchToken() {
    if (!window.URLSearchParams || location.search.indexOf("_pc=") < 0) { return null; }
    var params = new URLSearchParams(location.search);
    var token = params.get("_pc");
    params["delete"]("_pc");
    var query = params.toString();
    try { history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash); } catch (e) { /* ignore */ }
    return token;
  }

  var visitor = visitorId();
  var pc = takeStitchToken();
  send("/t/collect", { visitor: visitor, pc: pc, events: [
    { type: "page_view", url: location.href, title: document.title, referrer: document.referrer }
  ] });

  function formFields(form) {
    var fields = {};
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      var type = (el.type || "").toLowerCase();
      if (!el.name || el.disabled || type === "password" || type === "file" ||
          type === "submit" || type === "button" || /card|cvc|cvv|iban|ssn|password/i.test(el.name)) { continue; }
      if ((type === "checkbox" || type === "radio") && !el.checked) { continue; }
      if (type === "hidden" && el.name !== "_hp") { continue; }
      fields[el.name.slice(0, 60)] = String(el.value || "").slice(0, 500);
    }
    return fields;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM" || form.hasAttribute("data-crm-ignore")) { return; }
    var email = form.querySelector("input[type=email]") || form.querySelector("input[name*=email]");
    if (!email || !email.value) { return; }
    var fields = formFields(form);
    fields.email = email.value;
    // The visitor's own time zone, so the new contact's calls land in their working hours.
    try { fields.time_zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
    send("/t/form", { visitor: visitor, url: location.href, fields: fields });
  }, true);
}());
