"""The snippet's logic run in Node with a minimal fake browser (the real-browser run is in
tests/browser/test_tracking_browser.py): visitor id kept, page view beacon as text/plain JSON,
the signed _pc taken and removed from the address bar, forms captured without passwords."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SNIPPET = Path(__file__).resolve().parents[3] / "crm" / "static" / "tracking_snippet.js"

HARNESS = r"""
const beacons = [];
const listeners = {};
globalThis.window = globalThis;
globalThis.document = {
  currentScript: { src: "http://crm.test/t/snippet.js" }, cookie: "", title: "Pricing",
  referrer: "https://search.example/?q=pumps",
  addEventListener: (type, fn) => { listeners[type] = fn; },
};
const store = {};
globalThis.localStorage = { getItem: (k) => (k in store ? store[k] : null),
                            setItem: (k, v) => { store[k] = String(v); } };
globalThis.location = { href: "https://site.test/pricing?_pc=SIGNED&plan=pro#top", search: "?_pc=SIGNED&plan=pro",
                        pathname: "/pricing", hash: "#top", protocol: "https:" };
globalThis.history = { state: null, replaceState: (s, t, url) => {
  location.href = "https://site.test" + url;
  location.search = url.includes("?") ? "?" + url.split("?")[1].split("#")[0] : "";
} };
Object.defineProperty(globalThis, "navigator", {
  value: { sendBeacon: (url, blob) => { beacons.push([url, blob]); return true; } }, configurable: true,
});
const run = () => { (0, eval)(SOURCE); };
(async () => {
  run();
  const firstId = store["_crm_vid"];
  run();  // a second page: same visitor id
  const el = (name, value, type) => ({ name, value, type: type || "text", disabled: false, checked: false });
  const email = el("email", "ben@buyer.example", "email");
  const form = { tagName: "FORM", hasAttribute: () => false,
                 querySelector: (sel) => (sel.includes("email") ? email : null),
                 elements: [email, el("first_name", "Ben"), el("password", "secret", "password"),
                            el("card_number", "4111"), el("_hp", "", "hidden"), el("csrf", "zzz", "hidden")] };
  listeners.submit({ target: form });
  const out = [];
  for (const [url, blob] of beacons) { out.push({ url, type: blob.type, body: JSON.parse(await blob.text()) }); }
  console.log(JSON.stringify({ firstId, secondId: store["_crm_vid"], cookie: document.cookie,
                               href: location.href, beacons: out }));
})();
"""


@pytest.fixture(scope="module")
def node():
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed")
    return path


def test_snippet_in_a_fake_browser(node, tmp_path):
    script = tmp_path / "harness.js"
    script.write_text(f"const SOURCE = {json.dumps(SNIPPET.read_text())};\n{HARNESS}")
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30, check=True)
    data = json.loads(result.stdout)
    assert data["firstId"] == data["secondId"] and len(data["firstId"]) == 32
    assert data["cookie"].startswith(f"_crm_vid={data['firstId']}") and "Secure" in data["cookie"]
    assert data["href"] == "https://site.test/pricing?plan=pro#top"  # _pc removed from the address bar
    first, second, form = data["beacons"]
    assert first["url"] == "http://crm.test/t/collect" and first["type"] == "text/plain"
    assert first["body"]["visitor"] == data["firstId"] and first["body"]["pc"] == "SIGNED"
    assert first["body"]["events"] == [{"type": "page_view", "url": "https://site.test/pricing?plan=pro#top",
                                        "title": "Pricing", "referrer": "https://search.example/?q=pumps"}]
    assert second["body"]["pc"] is None
    assert form["url"] == "http://crm.test/t/form"
    fields = dict(form["body"]["fields"])
    assert fields.pop("time_zone")  # the visitor's own zone (Intl), for lead routing
    assert fields == {"email": "ben@buyer.example", "first_name": "Ben", "_hp": ""}
    assert form["body"]["visitor"] == data["firstId"]
