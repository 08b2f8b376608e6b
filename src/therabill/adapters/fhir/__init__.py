"""FHIR R4 export of a patient's record (a Bundle), checked with the ``fhir.resources`` R4B models."""

from therabill.adapters.fhir.export import FhirExportError, PatientRecord, bundle_of, validate_bundle

__all__ = ["FhirExportError", "PatientRecord", "bundle_of", "validate_bundle"]
