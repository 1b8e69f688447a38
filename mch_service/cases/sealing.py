"""Associated data for the case register's sealed text (mch_service.crypto): each blob is
bound to its pregnancy and its field, so a sealed value copied into another row or column does
not open there. Shared by the service, the migration that sealed old rows, and key rotation."""

from __future__ import annotations


def notes_aad(pregnancy_id: str) -> bytes:
    return f"follow_up/{pregnancy_id}".encode()


def outcome_aad(pregnancy_id: str) -> bytes:
    return f"follow_up/{pregnancy_id}/outcome".encode()


def close_reason_aad(pregnancy_id: str) -> bytes:
    return f"case_record/{pregnancy_id}/close_reason".encode()


def event_reason_aad(pregnancy_id: str) -> bytes:
    return f"case_event/{pregnancy_id}/reason".encode()


def case_outcome_place_aad(pregnancy_id: str) -> bytes:
    return f"case_record/{pregnancy_id}/outcome_place".encode()


def case_outcome_note_aad(pregnancy_id: str) -> bytes:
    return f"case_record/{pregnancy_id}/outcome_note".encode()
