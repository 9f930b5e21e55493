"""The only module of the bridge that imports ``crm`` (and only ``crm.public``/``crm.signals``)."""
from crm.public import Family, PipelineLine, pipeline_lines, product_families  # noqa: F401
