"""PDF documents: the CMS-1500 claim form, superbill, statement, receipt, SOAP note, progress report.

Every renderer takes a view model from ``therabill.domain.forms`` and returns PDF bytes;
none reads the database or recomputes an amount.
"""
