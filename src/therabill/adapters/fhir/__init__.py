"""FHIR R4 export of a patient's record (a Bundle), checked with the ``fhir.resources`` R4B models."""

from therabill.adapters.fhir.export import FhirExportError, patient_bundle, validate_bundle

__all__ = ["FhirExportError", "patient_bundle", "validate_bundle"]
