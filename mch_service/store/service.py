"""Rules of the resource store: versions, no-op updates, sealing, and the search index.

The store knows nothing of HTTP or bundles; ``fhir_api`` decides *what* to write and the store
writes it. Callers own the transaction (commit or roll back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mch_service.crypto import Crypto
from mch_service.sqlperiods import Period
from mch_service.store import repository as repo
from mch_service.store.identifier_policy import IdentifierPolicy
from mch_service.store.indexing import IndexData, Token, canonical_content, extract
from mch_service.store.repository import (
    ConcurrentUpdate as ConcurrentUpdate,  # raised by ``apply``: a caller retries on it
)
from mch_service.store.repository import CurrentRow, SearchQuery
from mch_service.store.repository import (
    DateFilter as DateFilter,  # a date search parameter of a SearchQuery (fhir_api parses them)
)
from mch_service.timeutil import fhir_instant, to_utc


@dataclass
class Prepared:
    """A resource ready to be stored: content (references already resolved) and what the store
    indexes about it."""

    resource_type: str
    content: dict[str, Any]
    index: IndexData
    content_hash: str


@dataclass
class WriteOp:
    kind: Literal["create", "update", "delete"]
    resource_type: str
    fhir_id: str
    existing: CurrentRow | None = None
    prepared: Prepared | None = None
    create_key: str | None = None
    # Content hashes of earlier versions: writing one of them again is a no-op (a backfill
    # sent twice must change nothing, even when it holds several versions of one record).
    known_hashes: frozenset[str] = frozenset()


@dataclass
class WriteOutcome:
    resource_type: str
    fhir_id: str
    version_id: int
    last_updated: datetime
    status: Literal["created", "updated", "unchanged", "deleted"]
    content: dict[str, Any] | None
    pk: int


@dataclass(frozen=True)
class StoredVersion:
    resource_type: str
    fhir_id: str
    version_id: int
    operation: str
    recorded_at: datetime
    content: dict[str, Any] | None


class ResourceStore:
    def __init__(
        self, crypto: Crypto, zone: ZoneInfo, identifier_policy: IdentifierPolicy | None = None
    ) -> None:
        self.crypto = crypto
        self.zone = zone
        self.identifier_policy = identifier_policy or IdentifierPolicy()

    # -- hashing ----------------------------------------------------------------------------

    def token_hash(self, token: Token) -> str:
        return self.crypto.keyed_hash(f"{token.system}|{token.value}")

    def value_hash(self, value: str) -> str:
        return self.crypto.keyed_hash(value)

    def prepare(self, resource_type: str, content: dict[str, Any]) -> Prepared:
        canonical = canonical_content({k: v for k, v in content.items() if k != "id"})
        return Prepared(
            resource_type,
            content,
            extract(content, self.zone),
            self.crypto.keyed_hash(canonical.decode()),
        )

    # -- sealing ----------------------------------------------------------------------------

    @staticmethod
    def _aad(resource_type: str, fhir_id: str, version_id: int) -> bytes:
        # Binds a sealed blob to its row: a blob copied onto another resource will not open.
        return f"{resource_type}/{fhir_id}/{version_id}".encode()

    def seal(self, resource_type: str, fhir_id: str, version_id: int, content: bytes) -> bytes:
        return self.crypto.seal(content, self._aad(resource_type, fhir_id, version_id))

    def unseal(self, resource_type: str, fhir_id: str, version_id: int, blob: bytes) -> bytes:
        return self.crypto.open_sealed(blob, self._aad(resource_type, fhir_id, version_id))

    # -- writing ----------------------------------------------------------------------------

    def apply(
        self, session: Session, institution_id: str, ops: list[WriteOp], now: datetime
    ) -> list[WriteOutcome]:
        """Write a set of operations in the caller's transaction. Raises IntegrityError or
        repository.ConcurrentUpdate when another transaction got there first; the caller rolls
        the attempt back and tries again with fresh state."""
        outcomes: list[WriteOutcome | None] = [None] * len(ops)
        new_rows: list[dict[str, Any]] = []
        new_idx: list[int] = []
        updates: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        touched: list[tuple[int, int, Prepared | None]] = []  # (op index, pk, prepared)
        last_updated = fhir_instant(now)

        for i, op in enumerate(ops):
            ex = op.existing
            if op.kind == "delete":
                assert ex is not None
                assert not ex.deleted
                version = ex.version_id + 1
                updates.append(
                    {
                        "pk": ex.pk,
                        "expected_version": ex.version_id,
                        "version_id": version,
                        "last_updated": now,
                        "deleted": True,
                        "content_hash": None,
                        "create_key": None,
                        "date_start": None,
                        "date_end": None,
                    }
                )
                versions.append(
                    {
                        "resource_pk": ex.pk,
                        "version_id": version,
                        "institution_id": institution_id,
                        "recorded_at": now,
                        "operation": "delete",
                        "content": None,
                        "content_hash": None,
                    }
                )
                touched.append((i, ex.pk, None))
                outcomes[i] = WriteOutcome(
                    op.resource_type, op.fhir_id, version, now, "deleted", None, ex.pk
                )
                continue
            prep = op.prepared
            assert prep is not None
            if ex is not None and (
                (not ex.deleted and ex.content_hash == prep.content_hash)
                or prep.content_hash in op.known_hashes
            ):
                outcomes[i] = WriteOutcome(
                    op.resource_type,
                    op.fhir_id,
                    ex.version_id,
                    ex.last_updated,
                    "unchanged",
                    None,
                    ex.pk,
                )
                continue
            version = ex.version_id + 1 if ex is not None else 1
            stored = _with_server_meta(prep.content, op.fhir_id, version, last_updated)
            blob = self.seal(op.resource_type, op.fhir_id, version, orjson.dumps(stored))
            row = {
                "version_id": version,
                "last_updated": now,
                "deleted": False,
                "content_hash": prep.content_hash,
                "date_start": prep.index.date_start,
                "date_end": prep.index.date_end,
            }
            status: Literal["created", "updated"] = (
                "created" if ex is None or ex.deleted else "updated"
            )
            if ex is None:
                new_rows.append(
                    {
                        **row,
                        "resource_type": op.resource_type,
                        "fhir_id": op.fhir_id,
                        "institution_id": institution_id,
                        "create_key": op.create_key,
                    }
                )
                new_idx.append(i)
            else:
                updates.append({**row, "pk": ex.pk, "expected_version": ex.version_id})
            versions.append(
                {
                    "resource_pk": ex.pk if ex else None,
                    "version_id": version,
                    "institution_id": institution_id,
                    "recorded_at": now,
                    "operation": "create" if status == "created" else "update",
                    "content": blob,
                    "content_hash": prep.content_hash,
                    "_op": i,
                }
            )
            outcomes[i] = WriteOutcome(
                op.resource_type, op.fhir_id, version, now, status, stored, ex.pk if ex else 0
            )
            touched.append((i, ex.pk if ex else 0, prep))

        pks, unwritten = repo.insert_resources(session, new_rows)
        pk_of = dict(zip(new_idx, pks, strict=True))
        for i, pk in pk_of.items():
            outcomes[i].pk = pk  # type: ignore[union-attr]
        repo.update_resources(session, updates)
        for v in versions:
            op_index = v.pop("_op", None)
            if v["resource_pk"] is None:
                v["resource_pk"] = pk_of[op_index]

        identifiers: list[dict[str, Any]] = []
        references: list[dict[str, Any]] = []
        clear: list[int] = []
        for i, pk, prep in touched:
            pk = pk or pk_of[i]
            if ops[i].existing is not None:
                clear.append(pk)
            if prep is None:
                continue
            for token in prep.index.identifiers:
                identifiers.append(
                    {
                        "resource_pk": pk,
                        "institution_id": institution_id,
                        "resource_type": prep.resource_type,
                        "token_hash": self.token_hash(token),
                        "value_hash": self.value_hash(token.value),
                        "is_key": self.identifier_policy.is_key(prep.resource_type, token),
                    }
                )
            for name, target in prep.index.references:
                references.append({"resource_pk": pk, "name": name, "target": target})
        repo.write_rows(session, unwritten, versions, clear, identifiers, references)
        return [o for o in outcomes if o is not None]

    # -- reading ----------------------------------------------------------------------------

    def current(
        self, session: Session, institution_id: str, resource_type: str, fhir_id: str
    ) -> CurrentRow | None:
        """One sender's record by id (ids are scoped per sender)."""
        return repo.current_by_ids(session, institution_id, [(resource_type, fhir_id)]).get(
            (resource_type, fhir_id)
        )

    def content_of(
        self, session: Session, row: CurrentRow, version_id: int | None = None
    ) -> StoredVersion | None:
        vid = version_id if version_id is not None else row.version_id
        found = repo.version_content(session, row.pk, vid)
        if found is None:
            return None
        blob, operation, recorded = found
        content = (
            orjson.loads(self.unseal(row.resource_type, row.fhir_id, vid, blob)) if blob else None
        )
        return StoredVersion(row.resource_type, row.fhir_id, vid, operation, recorded, content)

    def open_current(self, row: CurrentRow, blob: bytes | None) -> dict[str, Any] | None:
        if blob is None:
            return None
        return orjson.loads(  # type: ignore[no-any-return]
            self.unseal(row.resource_type, row.fhir_id, row.version_id, blob)
        )

    # -- look-ups for the FHIR interface (fhir_api plans its writes and answers its reads
    # through these; the SQL stays in the repository) ----------------------------------------

    def current_by_ids(
        self,
        session: Session,
        institution_id: str,
        keys: Sequence[tuple[str, str]],
        lock: bool = False,
    ) -> dict[tuple[str, str], CurrentRow]:
        """One sender's records by (type, id); ``lock`` takes row locks (see the repository)."""
        return repo.current_by_ids(session, institution_id, keys, lock)

    def current_by_pks(
        self, session: Session, pks: Iterable[int], lock: bool = False
    ) -> dict[int, CurrentRow]:
        return repo.current_by_pks(session, pks, lock)

    def pks_by_tokens(
        self,
        session: Session,
        institution_id: str,
        keys: Sequence[tuple[str, str]],
        keys_only: bool = False,
    ) -> dict[tuple[str, str], set[int]]:
        """(resource_type, token hash) -> one sender's live records carrying it."""
        return repo.pks_by_tokens(session, institution_id, keys, keys_only)

    def pks_by_values(
        self, session: Session, institution_id: str, resource_type: str, value_hashes: list[str]
    ) -> set[int]:
        """One sender's live records with an identifier of this value, in any system."""
        return repo.pks_by_values(session, institution_id, resource_type, value_hashes)

    def pks_by_create_keys(
        self, session: Session, institution_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """(resource_type, content key) -> the sender's record created with that content."""
        return repo.pks_by_create_keys(session, institution_id, keys)

    def version_hashes(self, session: Session, pks: Sequence[int]) -> dict[int, set[str]]:
        """The content hashes of every stored version of these records."""
        return repo.version_hashes(session, pks)

    def versions(
        self, session: Session, resource_pk: int
    ) -> list[tuple[int, bytes | None, str, datetime]]:
        """(version id, sealed content, operation, recorded at) of one record, newest first."""
        return repo.versions(session, resource_pk)

    def search(self, session: Session, query: SearchQuery) -> list[tuple[CurrentRow, bytes | None]]:
        """One page of current records matching ``query`` (sealed content beside each)."""
        return repo.search(session, query)

    def count(self, session: Session, query: SearchQuery) -> int:
        """How many current records match ``query`` (all pages)."""
        return repo.count(session, query)


def _with_server_meta(
    content: dict[str, Any], fhir_id: str, version: int, last_updated: str
) -> dict[str, Any]:
    meta = dict(content.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    out: dict[str, Any] = {"resourceType": content["resourceType"], "id": fhir_id, "meta": meta}
    for key, value in content.items():
        if key not in out:
            out[key] = value
    return out


# -- what other packages read of the store ---------------------------------------------------
# Functions, not ResourceStore methods, where no key is needed: the domain, quality, cases and
# ops call these rather than query the store's tables.


@dataclass(frozen=True)
class CurrentVersion:
    """A live resource's current version, opened."""

    pk: int
    resource_type: str
    fhir_id: str
    institution_id: str
    version_id: int
    last_updated: datetime
    content: dict[str, Any]


def current_versions(
    session: Session,
    store: ResourceStore,
    resource_types: Iterable[str],
    after_pk: int = 0,
    limit: int = 2000,
    updated_after: datetime | None = None,
    updated_until: datetime | None = None,
) -> list[CurrentVersion]:
    """The next ``limit`` live resources of these types after ``after_pk`` (in key order), with
    their current content: page through the store by passing the last pk back. With
    ``updated_after``/``updated_until``, only those whose current version was stored in that
    window (after, at or before)."""
    return [
        CurrentVersion(
            pk,
            rtype,
            fid,
            inst,
            vid,
            to_utc(updated),
            orjson.loads(store.unseal(rtype, fid, vid, blob or b"")),
        )
        for pk, rtype, fid, inst, vid, updated, blob in repo.current_versions_after(
            session, resource_types, after_pk, limit, updated_after, updated_until
        )
    ]


def references_of(session: Session, pks: Iterable[int]) -> dict[int, str]:
    """Resource key -> its sender's reference ('Observation/123')."""
    return {pk: f"{t}/{i}" for pk, t, i in repo.type_and_ids(session, pks)}


def first_received(session: Session, pks: Sequence[int]) -> dict[int, datetime]:
    """Resource key -> when its first version was received (UTC), for those that exist."""
    out: dict[int, datetime] = {}
    for start in range(0, len(pks), 1000):
        for pk, at in repo.first_recorded(session, pks[start : start + 1000]):
            out[pk] = to_utc(at)
    return out


def live_counts_by_institution(session: Session) -> dict[str, int]:
    """Sender -> how many live (not deleted) resources it has in the store."""
    return dict(repo.live_counts_by_institution(session))


def live_dated_resources(session: Session) -> list[tuple[str, datetime | None, datetime]]:
    """(sender, clinical start, last updated) of every live resource with a clinical date."""
    return repo.live_dated(session)


def newest_sealed_version(bind: Session | Connection) -> tuple[str, str, int, bytes] | None:
    """(type, id, version, sealed content) of the last version stored, if any (whether the
    keys open it tells whether a backup belongs to these keys)."""
    return repo.newest_sealed_version(bind)


def unresolved_references(
    session: Session, institution_id: str, pks: Sequence[int]
) -> list[tuple[int, str, str]]:
    """(resource key, element, 'Type/id') of the ``subject`` / ``patient`` references of
    these resources that name no live record of this sender (never sent, or deleted)."""
    return repo.unresolved_of(session, institution_id, pks)


def dangling_references_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of one sender's unresolved references fall in each period, by label."""
    return repo.dangling_references_by_period(session, institution_id, periods)


def unresolved_reference_page(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_ref: int,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One sender's references to records of its own it never sent (or deleted), one row a
    reference (``key`` is the cursor): how many, and a page."""
    total, rows = repo.unresolved_reference_page(
        session, institution_id, start, end, after_ref, limit
    )
    return total, [
        {
            "key": key,
            "resource_type": rtype,
            "resource_id": fid,
            "element": f"{rtype}.{name}",
            "target": target,
            "last_updated": to_utc(updated).isoformat(),
        }
        for key, rtype, fid, name, target, updated in rows
    ]


def patient_pks_by_identifier(
    store: ResourceStore, session: Session, value: str, institution_id: str | None, limit: int
) -> list[int]:
    """Live Patients with an identifier of exactly this value, found through its keyed hash
    (the value itself is never stored in clear nor compared)."""
    return repo.patient_pks_by_value(session, store.value_hash(value), institution_id, limit)
