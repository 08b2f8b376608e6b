"""The X12 error: where in the file, which segment, which element, what is wrong."""

from __future__ import annotations

from therabill.domain.errors import Problem, TherabillError


def location(
    segment_number: int, segment_id: str, element: int | None = None, component: int | None = None
) -> str:
    """A problem location: ``segment 12 CLP04`` or ``segment 12 SVC01-2``."""
    where = f"segment {segment_number} {segment_id}" if segment_id else f"segment {segment_number}"
    if element is not None:
        where += f"{element:02d}"
        if component is not None:
            where += f"-{component}"
    return where


class X12Error(TherabillError):
    """X12 input that cannot be used, or data that cannot be written as X12.

    Attributes:
        segment_number: 1-based position of the segment in the file (ISA = 1), 0 when the
            problem is before the first segment or not in a file.
        segment_id: the segment id (``CLP``), empty when unknown.
        element: the 1-based element position, if the problem is in one element.
        problems: the problem(s), with stable codes.
    """

    code = "x12-invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str = "x12-invalid",
        segment_number: int = 0,
        segment_id: str = "",
        element: int | None = None,
        component: int | None = None,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        located = bool(segment_number or segment_id)
        loc = location(segment_number, segment_id, element, component) if located else "input"
        super().__init__(
            f"{loc}: {message}" if located else message, problems or (Problem(code, loc, message),)
        )
        self.code = code
        self.segment_number = segment_number
        self.segment_id = segment_id
        self.element = element
        self.detail = message
