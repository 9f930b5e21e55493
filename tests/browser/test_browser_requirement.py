"""A missing browser skips the browser tests on a laptop but fails them in CI, so a broken CI
image can never turn the browser tests silently off."""
from __future__ import annotations

import pytest

from tests.browser import conftest as browser


def test_missing_chromium_skips_outside_ci(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.require_browser()


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        browser.require_browser()
