"""The demo data's public face: what other features' ``demo.py`` seeders read from the shared
demo catalogue (the demo company's domain, email subjects, business-hours moments)."""
from __future__ import annotations

from crm.demo.catalog import DEMO_DOMAIN, EMAIL_SUBJECTS  # noqa: F401  (re-exported)
from crm.demo.timing import business_moment  # noqa: F401  (re-exported)
