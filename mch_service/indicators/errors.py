"""The indicator package's error: bad input from the caller (a period label, a settings value,
a fact table that breaks the contract). It is a ``ValueError`` for plain Python callers and an
``MchError`` so that the staff API's one handler renders it as a 400."""

from __future__ import annotations

from mch_service.errors import MchError


class IndicatorInputError(MchError, ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 400, [], "invalid")
