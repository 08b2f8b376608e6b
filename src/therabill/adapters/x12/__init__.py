"""X12 5010 EDI: a tolerant streaming tokenizer, typed readers and writers.

Readers: ``read_835``/``iter_835`` (remittance), ``read_271`` (eligibility),
``read_999``, ``read_ta1``, ``read_277ca`` (acknowledgments). Writers: ``write_837p``
(claims), ``write_270`` (eligibility inquiry). Every reader raises ``X12Error`` (with the
segment number, segment id and element) on input it cannot use; it never lets another
exception escape.
"""

from therabill.adapters.x12.errors import X12Error
from therabill.adapters.x12.tokenizer import Delimiters, Segment, iter_segments

__all__ = ["Delimiters", "Segment", "X12Error", "iter_segments"]
