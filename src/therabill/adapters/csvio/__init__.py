"""CSV in and out: import patients, coverages and appointments; export the ledger and claims."""

from therabill.adapters.csvio.exporter import export_claims, export_ledger
from therabill.adapters.csvio.importer import (
    KINDS,
    CsvImportError,
    ImportPlan,
    import_csv,
    load_mapping,
    mapping_names,
    preview_csv,
)

__all__ = [
    "KINDS",
    "CsvImportError",
    "ImportPlan",
    "export_claims",
    "export_ledger",
    "import_csv",
    "load_mapping",
    "mapping_names",
    "preview_csv",
]
