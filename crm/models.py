"""Imports every model so metadata is complete (Alembic autogenerate, create_all in tests)."""
from crm.auth.models import ApiToken, User, UserSession  # noqa: F401
from crm.contacts.models import Activity, Company, Contact, CustomField  # noqa: F401
from crm.deals.models import Deal, DealChange, DealLine, ProductFamily, Stage  # noqa: F401
from crm.imports.models import ImportJob, ImportRejection  # noqa: F401

from crm.features import feature_modules  # noqa: E402

feature_modules("models")  # each feature's tables
