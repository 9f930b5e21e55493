"""The bridge's one door into ``crm``: the only bridge module importing it, and only from
``crm.public`` (what the bridge reads: records and read functions) and ``crm.kit`` (what it
builds with, as every feature does: ``db`` and column types, errors, roles, ``ApiRoutes`` and
``endpoint``, ``Job`` and triggers, the clock, the command line's ``OperatorLanguageGroup``).

The names are listed once, in the imports below (hence the file-wide F401 exemption: every
import here is a re-export); ``__all__`` is computed from them. The bridge's modules use
``crm_port.<name>`` or import names from here.
"""
# ruff: noqa: F401
from crm.kit import (
    ApiRoutes,
    Conflict,
    CronTrigger,
    Job,
    JobKind,
    JobRun,
    JSONType,
    Model,
    NotFound,
    OperatorLanguageGroup,
    PermissionDenied,
    ServiceError,
    UTCDateTime,
    ValidationFailed,
    api_user,
    cli_option,
    code_label,
    db,
    end_of_day,
    endpoint,
    enqueue,
    field_errors,
    open_job,
    roles,
    utcnow,
)
from crm.public import (
    DealFeatureColumns,
    DealHistory,
    DealState,
    Family,
    LineColumns,
    PlanCell,
    StageInfo,
    base_currency_code,
    deal_histories,
    deal_summaries,
    earliest_deal_day,
    history_fingerprint,
    missing_exchange_rates,
    open_deal_features,
    open_line_columns,
    open_pipeline_cells,
    pipeline_stages,
    product_families,
    set_plan_feedback,
    user_names,
    won_line_totals,
)

__all__ = [name for name in dir() if not name.startswith("_")]  # dir() is sorted
