"""How FHIR becomes domain rows, declared as data.

* ``views/``: SQL-on-FHIR v2 ViewDefinitions (FHIRPath columns) that flatten each resource type
  the domain reads. Any SQL-on-FHIR engine can run them over a bulk export, too.
* ``code_tables/``: which codes mean which clinical concept (CSV; see docs/code-tables.md).
  A site adds its own tables in ``MCH_CODE_TABLES_DIR``.
"""

from fhir_mappings.code_tables import CONCEPTS, CodeTableError, CodeTables, load_code_tables
from fhir_mappings.views import ViewSet, load_views

__all__ = ["CONCEPTS", "CodeTableError", "CodeTables", "ViewSet", "load_code_tables", "load_views"]
