"""CSV in and out: read and check patients, coverages and appointments; write the ledger and claims."""

from therabill.adapters.csvio.exporter import claims_csv, ledger_csv
from therabill.adapters.csvio.importer import (
    KINDS,
    CsvImportError,
    ImportPlan,
    OnFile,
    StagedImport,
    load_mapping,
    mapping_names,
    stage_import,
)

__all__ = [
    "KINDS",
    "CsvImportError",
    "ImportPlan",
    "OnFile",
    "StagedImport",
    "claims_csv",
    "ledger_csv",
    "load_mapping",
    "mapping_names",
    "stage_import",
]
