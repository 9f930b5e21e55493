"""What other features' demo seeds share with the demo company: its mail domain, subjects and
the business hours its events fall in."""
from crm.demo.catalog import DEMO_DOMAIN, EMAIL_SUBJECTS
from crm.demo.timing import business_moment

__all__ = ["DEMO_DOMAIN", "EMAIL_SUBJECTS", "business_moment"]
