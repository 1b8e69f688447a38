"""Sending: when each record reaches the service, in which file and in which form — and the
mess of real feeds (late, twice, wrong then corrected, in error then deleted, invalid).

Records entered before the cutover go to the institution's ``history.ndjson`` (literal
``Type/id`` references); the rest to transaction Bundles in send order (``urn:uuid`` within a
Bundle, ``Type?identifier=system|value`` to the institution's earlier records). A record is never
sent before the records it refers to.

Output is streamed: each woman's sends go to spool files per institution and month of sending,
which ``finish`` sorts one at a time into the final files, so memory stays flat however many
pregnancies are simulated.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson

from mch_service.simulator import district
from mch_service.simulator.fhir import Renderer, conditional, identity
from mch_service.simulator.params import SimulationParams
from mch_service.simulator.records import Record
from mch_service.simulator.story import WomanStory

_CORRECTABLE = frozenset({"hb", "birth_weight", "lab", "visit"})
# Kinds sent on their own random stream (see ``emit_woman``).
_OWN_STREAM = frozenset({"epds"})


def _not_own(records: list[Record]) -> list[Record]:
    return [r for r in records if r.kind not in _OWN_STREAM]


_SECOND = timedelta(seconds=1)
# An orange or red assessment on the reporting edge: received this long after its limit + 24 h
# (report_late is "more than": on it is in time, a minute after is late).
_REPORT_EDGES = (
    timedelta(hours=-1),
    timedelta(0),
    timedelta(minutes=1),
    timedelta(hours=1),
)
_UTC_SHIFT = timedelta(hours=8)  # China has one zone and no daylight saving since 1991
_SPOOL_LIMIT = 32 * 1024 * 1024


def _stamp_offset(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat() + "+08:00"


def _stamp_utc(dt: datetime) -> str:
    return (dt - _UTC_SHIFT).replace(microsecond=0).isoformat() + "Z"


def _stamp_local(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat()


_STAMPS: dict[str, Callable[[datetime], str]] = {
    "offset": _stamp_offset,
    "utc": _stamp_utc,
    "none": _stamp_local,
}


@dataclass(eq=False)
class _Unit:
    """One send: records created together, or one later version / duplicate / deletion."""

    kind: str  # create | update | correct | dup | fake | delete | invalid
    inst: str
    base: datetime
    records: list[Record]
    data: dict[str, Any] | None = None  # the version sent (update, correct)
    send: datetime = field(default=datetime.min)


@dataclass
class EmitStats:
    history_lines: int = 0
    bundle_entries: int = 0
    resources: int = 0  # resources sent (history lines + POST/PUT entries)
    deletions: int = 0
    invalid: int = 0
    late: int = 0
    duplicates: int = 0
    corrections: int = 0
    bundles: int = 0
    batch_bundles: int = 0


class Emitter:
    """Plans each woman's sends and spools them; ``finish`` writes the files. Without an
    ``out_dir`` it only plans (``emit_woman`` still says when each risk assessment is
    received: what ``iter_facts`` needs)."""

    def __init__(self, params: SimulationParams, out_dir: Path | None) -> None:
        self.p = params
        self.out = out_dir or Path()
        self.writes = out_dir is not None
        span = datetime.combine(params.end, datetime.min.time()) - datetime.combine(
            params.start, datetime.min.time()
        )
        self.cutover = datetime.combine(params.start, datetime.min.time()) + span * (
            params.history_share
        )
        self.renderer = Renderer(params.local_code_institution, params.g_dl_institution)
        self.limits = params.truth.report_limit_hours()
        self.spool_dir = self.out / ".spool"
        if self.writes:
            shutil.rmtree(self.spool_dir, ignore_errors=True)
            self.spool_dir.mkdir(parents=True)
        self.buffers: dict[tuple[str, str], list[bytes]] = {}
        self.buffered = 0
        self.fake_counter: dict[str, int] = {}
        self.stats = EmitStats()
        self.manifest: dict[str, Any] = {}

    # -- planning one woman's sends ------------------------------------------------------------

    def emit_woman(self, story: WomanStory, rng: random.Random) -> dict[int, datetime | None]:
        """Plan and spool one woman's sends; returns when each of her risk assessments is
        received (by ``id`` of its record; None: in the history backfill, which carries no
        receipt time)."""
        p = self.p
        # Records added to the simulation later (EPDS scores) go out on a stream of their own,
        # after the others: every other record is sent exactly as before they existed.
        own = [r for r in story.records if r.kind in _OWN_STREAM]
        records = [r for r in story.records if r.kind not in _OWN_STREAM]
        fmt: dict[int, str] = {}
        late: set[int] = set()
        wrong: dict[int, tuple[dict[str, Any], datetime]] = {}
        dups: list[Record] = []
        for rec in records:
            r = rng.random()
            fmt[id(rec)] = (
                "utc"
                if r < p.utc_time_share
                else "none"
                if r < p.utc_time_share + p.no_offset_time_share
                else "offset"
            )
            # Records others refer to (Patients, episodes, the delivery Encounter, newborns)
            # are never late: a reference must find its target already there.
            if not rec.anchor and rng.random() < p.late_share:
                late.add(id(rec))
            if rec.kind in _CORRECTABLE and not rec.updates and rng.random() < p.correction_share:
                wrong[id(rec)] = self._wrong_version(rec, rng)
            elif not rec.updates and rng.random() < p.duplicate_share:
                dups.append(rec)

        # Creations: one unit per care event, one per late record.
        by_event: dict[int, _Unit] = {}
        units: list[tuple[int, int, _Unit]] = []
        for rec in records:
            if id(rec) in late:
                u = _Unit(
                    "create",
                    rec.inst,
                    rec.at + timedelta(days=rng.randint(3, 45), seconds=rng.randint(0, 86_399)),
                    [rec],
                )
                units.append((rec.event, 1, u))
                self.stats.late += 1
                continue
            event_unit = by_event.get(rec.event)
            if event_unit is None:
                event_unit = by_event[rec.event] = _Unit("create", rec.inst, rec.at, [])
                units.append((rec.event, 0, event_unit))
            event_unit.records.append(rec)
            event_unit.base = max(event_unit.base, rec.at)
        created: dict[int, datetime] = {}
        lag = {id(u): timedelta(seconds=rng.randint(120, 4 * 3600)) for _, _, u in units}
        for _, is_late, u in sorted(units, key=lambda t: (t[0], t[1])):
            inside = {id(r) for r in u.records}
            # An event is entered minutes to hours after it; a late record's base already
            # carries its delay.
            send = u.base if is_late else u.base + lag[id(u)]
            for member in u.records:
                for t in member.refs.values():
                    if id(t) not in inside:
                        send = max(send, created[id(t)] + _SECOND)
            u.send = send
            for member in u.records:
                created[id(member)] = send
        sends = [u for _, _, u in units]
        self._plan_reports(records, sends, created)

        # Later versions (discharge, death), corrections, duplicates.
        for rec in records:
            previous = created[id(rec)]
            data = dict(rec.data)
            for at, changes in rec.updates:
                data = {**data, **changes}
                u = _Unit("update", rec.inst, at, [rec], data)
                u.send = max(at + timedelta(seconds=rng.randint(60, 3 * 3600)), previous + _SECOND)
                for t in rec.refs.values():
                    u.send = max(u.send, created[id(t)] + _SECOND)
                previous = u.send
                sends.append(u)
            if id(rec) in wrong:
                u = _Unit("correct", rec.inst, rec.at, [rec], dict(rec.data))
                u.send = created[id(rec)] + timedelta(
                    days=rng.randint(1, 20), seconds=rng.randint(0, 86_399)
                )
                sends.append(u)
                self.stats.corrections += 1
        for rec in dups:
            u = _Unit("dup", rec.inst, rec.at, [rec], dict(rec.data))
            u.send = created[id(rec)] + timedelta(
                days=rng.randint(0, 20), seconds=rng.randint(1, 86_399)
            )
            sends.append(u)
            self.stats.duplicates += 1

        # Records sent in error (then deleted) and invalid ones, about this woman.
        for preg in story.pregnancies:
            if not preg.records:
                continue
            if rng.random() < p.deletion_share:
                fake = self._fake(story, _not_own(preg.records), rng)
                if fake is not None:
                    send = max(fake.at + lag_of(rng), created[id(fake.refs["subject"])] + _SECOND)
                    gone = send + timedelta(days=rng.randint(1, 30), seconds=rng.randint(0, 86_399))
                    if send < self.cutover:
                        # Errors in a backfill are found once it is loaded and checked.
                        gone = max(gone, self.cutover + timedelta(days=rng.randint(0, 30)))
                    fmt[id(fake)] = "offset"
                    u = _Unit("fake", fake.inst, fake.at, [fake])
                    u.send = send
                    d = _Unit("delete", fake.inst, fake.at, [fake])
                    d.send = gone
                    sends += [u, d]
                    created[id(fake)] = send
            if rng.random() < p.invalid_share:
                fake = self._fake(story, _not_own(preg.records), rng)
                if fake is not None:
                    fmt[id(fake)] = "offset"
                    u = _Unit("invalid", fake.inst, fake.at, [fake], {"fault": rng.randrange(4)})
                    u.send = max(
                        fake.at + lag_of(rng),
                        created[id(fake.refs["subject"])] + _SECOND,
                        self.cutover + timedelta(seconds=rng.randint(0, 3600)),
                    )
                    sends.append(u)

        receipts: dict[int, datetime | None] = {
            id(rec): (created[id(rec)] if created[id(rec)] >= self.cutover else None)
            for rec in records
            if rec.kind == "risk"
        }
        if not self.writes:
            return receipts
        for order, u in enumerate(sends):
            self._spool(story.woman.index, order, u, created, fmt, wrong, rng)
        if own:
            extra = random.Random(f"{p.seed}/send-own/{story.woman.index}")
            for order, rec in enumerate(own, start=len(sends)):
                fmt[id(rec)] = "offset"
                u = _Unit("create", rec.inst, rec.at, [rec])
                u.send = max(
                    rec.at + timedelta(seconds=extra.randint(120, 4 * 3600)),
                    *(created[id(t)] + _SECOND for t in rec.refs.values()),
                )
                created[id(rec)] = u.send
                self._spool(story.woman.index, order, u, created, fmt, wrong, extra)
        return receipts

    def _plan_reports(
        self, records: list[Record], sends: list[_Unit], created: dict[int, datetime]
    ) -> None:
        """Orange and red risk assessments received late (``risk_report_late_share``) or on
        the edge of their reporting limit (``edge_share``): taken out of their care event and
        sent alone at that time. A stream per record, so the other sends do not move."""
        for rec in records:
            planned = self._report_time(rec)
            if planned is None or planned < self.cutover:
                continue  # on time, or still inside the backfill
            if any(created[id(t)] + _SECOND > planned for t in rec.refs.values()):
                continue  # what it refers to is not there yet: sent with its event
            unit = next(u for u in sends if u.kind == "create" and rec in u.records)
            if len(unit.records) > 1:
                unit.records.remove(rec)
                unit = _Unit("create", rec.inst, rec.at, [rec])
                sends.append(unit)
            unit.send = planned
            created[id(rec)] = planned

    def _report_time(self, rec: Record) -> datetime | None:
        """When an orange or red assessment is received, if not with its care event."""
        if rec.kind != "risk":
            return None
        limit = self.limits.get(rec.data.get("colour") or "")
        if limit is None:
            return None
        draw = random.Random(f"{self.p.seed}/report/{rec.rid}")
        due = datetime.combine(rec.at.date(), time()) + timedelta(hours=limit + 24)
        r = draw.random()
        if r < self.p.edge_share:
            return due + draw.choice(_REPORT_EDGES)
        if r < self.p.edge_share + self.p.risk_report_late_share:
            return due + timedelta(hours=draw.randint(1, 240), seconds=draw.randint(0, 3599))
        return None

    def _wrong_version(self, rec: Record, rng: random.Random) -> tuple[dict[str, Any], datetime]:
        data = dict(rec.data)
        at = rec.at
        if rec.kind == "hb":
            data["g_l"] = max(40, data["g_l"] + rng.choice((-30, -20, 20, 30)))
        elif rec.kind == "birth_weight":
            data["g"] = max(300, data["g"] + rng.choice((-1000, -900, 900, 1000)))
        elif rec.kind == "lab":
            data["result"] = "negative" if data["result"] == "positive" else "positive"
        else:  # a visit entered on the wrong day
            at = rec.at + timedelta(days=rng.choice((-10, -7, -3, -1, 1, 3, 7, 10)))
        return data, at

    def _fake(self, story: WomanStory, records: list[Record], rng: random.Random) -> Record | None:
        """A record this woman never had: an extra check, a positive HIV result, a low Hb."""
        base = rng.choice(records)
        at = base.at + timedelta(days=rng.randint(0, 10), hours=rng.randint(1, 6))
        if at >= datetime.combine(self.p.end + timedelta(days=1), datetime.min.time()):
            at = base.at + timedelta(minutes=30)
        pat = story.woman.patients[base.inst]
        kind = rng.choice(("visit", "lab", "hb"))
        n = self.fake_counter.get(base.inst, 0) + 1
        self.fake_counter[base.inst] = n
        if kind == "visit":
            rtype, data = (
                "Encounter",
                {"visit": "prenatal_visit", "class": "AMB", "end": at + timedelta(minutes=20)},
            )
        elif kind == "lab":
            rtype, data = "Observation", {"test": "hiv", "result": "positive"}
        else:
            rtype, data = "Observation", {"g_l": 85}
        return Record(kind, rtype, base.inst, at, f"{base.inst}-x-{n}", data, {"subject": pat})

    # -- rendering ------------------------------------------------------------------------------

    def _spool(
        self,
        woman: int,
        order: int,
        u: _Unit,
        created: dict[int, datetime],
        fmt: dict[int, str],
        wrong: dict[int, tuple[dict[str, Any], datetime]],
        rng: random.Random,
    ) -> None:
        key = f"{u.send.replace(microsecond=0).isoformat()}-{woman:09d}-{order:05d}"
        history = u.send < self.cutover
        rec0 = u.records[0]
        in_history = created.get(id(rec0), u.send) < self.cutover  # where it was first created

        def version(rec: Record) -> tuple[dict[str, Any], datetime]:
            if u.kind in ("create", "fake", "invalid"):
                return wrong.get(id(rec), (rec.data, rec.at))
            assert u.data is not None
            return u.data, rec.at

        if history:
            lines = []
            for rec in u.records:
                data, at = version(rec)
                res = self.renderer.render(rec, data, at, _literal, _STAMPS[fmt[id(rec)]])
                lines.append(
                    orjson.dumps({"resourceType": res.pop("resourceType"), "id": rec.rid, **res})
                )
            self.stats.history_lines += len(lines)
            self.stats.resources += len(lines)
            for i, line in enumerate(lines):
                self._put(u.inst, u.send, f"{key}-{i:03d}".encode(), b"H", 1, 0, b"", line)
            return

        entries: list[dict[str, Any]] = []
        idents: list[str] = []
        if u.kind in ("create", "fake", "invalid"):
            urns = {
                id(r): f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                for r in u.records
            }

            def ref(t: Record) -> str:
                return urns.get(id(t)) or conditional(t)

            for rec in u.records:
                data, at = version(rec)
                res = self.renderer.render(rec, data, at, ref, _STAMPS[fmt[id(rec)]])
                if u.kind == "invalid":
                    assert u.data is not None
                    res = _break(res, u.data["fault"])
                entries.append(
                    {
                        "fullUrl": urns[id(rec)],
                        "resource": res,
                        "request": {"method": "POST", "url": rec.resource_type},
                    }
                )
                idents.append(_ident_key(rec))
        elif u.kind == "delete":
            url = f"{rec0.resource_type}/{rec0.rid}" if in_history else conditional(rec0)
            entries.append({"request": {"method": "DELETE", "url": url}})
            idents.append(_ident_key(rec0))
            self.stats.deletions += 1
        else:  # update, correct, dup: the record again, whole
            data, at = version(rec0)
            res = self.renderer.render(rec0, data, at, conditional, _STAMPS[fmt[id(rec0)]])
            if in_history:
                res = {"resourceType": res.pop("resourceType"), "id": rec0.rid, **res}
                request = {"method": "PUT", "url": f"{rec0.resource_type}/{rec0.rid}"}
                entries.append({"resource": res, "request": request})
            elif u.kind != "dup":
                # A changed record asks for the one it replaces (a conditional update): an
                # identifier other than a Patient's is not a business key by default. The draw
                # is kept so that the rest of the district stays as it was.
                rng.random()
                entries.append(
                    {"resource": res, "request": {"method": "PUT", "url": conditional(rec0)}}
                )
            else:
                # The same record again: a conditional create finds the one already there.
                urn = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                entries.append(
                    {
                        "fullUrl": urn,
                        "resource": res,
                        "request": {
                            "method": "POST",
                            "url": rec0.resource_type,
                            "ifNoneExist": conditional(rec0).partition("?")[2],
                        },
                    }
                )
            idents.append(_ident_key(rec0))
        # A Bundle is received when its last care event was entered: one with an orange or
        # red assessment ends there, so that the assessment is received at its own send time.
        reported = u.kind == "create" and any(
            r.kind == "risk" and (r.data.get("colour") or "") in self.limits for r in u.records
        )
        kind = b"B" if u.kind == "invalid" else b"R" if reported else b"T"
        n_invalid = len(entries) if u.kind == "invalid" else 0
        self.stats.invalid += n_invalid
        self.stats.bundle_entries += len(entries)
        self.stats.resources += sum(1 for e in entries if "resource" in e)
        # Entries stay serialised one by one (\x1e cannot occur in JSON text: control
        # characters are escaped), so that the final pass only concatenates them.
        self._put(
            u.inst,
            u.send,
            key.encode(),
            kind,
            len(entries),
            n_invalid,
            "\x1f".join(idents).encode(),
            b"\x1e".join(orjson.dumps(e) for e in entries),
        )

    # -- spool ----------------------------------------------------------------------------------

    def _put(
        self,
        inst: str,
        send: datetime,
        key: bytes,
        kind: bytes,
        n_entries: int,
        n_invalid: int,
        idents: bytes,
        payload: bytes,
    ) -> None:
        line = (
            b"\t".join(
                (key, kind, str(n_entries).encode(), str(n_invalid).encode(), idents, payload)
            )
            + b"\n"
        )
        bucket = (inst, f"{send.year:04d}-{send.month:02d}")
        self.buffers.setdefault(bucket, []).append(line)
        self.buffered += len(line)
        if self.buffered > _SPOOL_LIMIT:
            self._flush()

    def _flush(self) -> None:
        for (inst, month), lines in self.buffers.items():
            folder = self.spool_dir / inst
            folder.mkdir(exist_ok=True)
            with (folder / f"{month}.tsv").open("ab") as fh:
                fh.writelines(lines)
        self.buffers.clear()
        self.buffered = 0

    # -- final files ----------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        """Sort the spool into each institution's history.ndjson and bundles; the manifest."""
        self._flush()
        institutions = []
        for inst in district.INSTITUTIONS:
            institutions.append(self._write_institution(inst.id))
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        return {
            "cutover": self.cutover.isoformat() + "+08:00",
            "send_order": "per institution: history (POST /fhir/$import), then bundles in "
            "order (POST /fhir); bundle_times: when each Bundle is received (used by the "
            "in-process loader only)",
            "institutions": institutions,
        }

    def _write_institution(self, inst: str) -> dict[str, Any]:
        folder = self.out / inst
        bundle_dir = folder / "bundles"
        bundle_dir.mkdir(parents=True, exist_ok=True)
        info: dict[str, Any] = {
            "id": inst,
            "history": None,
            "history_lines": 0,
            "bundles": [],
            "bundle_times": [],
            "batch_bundles": {},
            "expected_rejections": 0,
        }
        if inst == self.p.local_code_institution:
            info["code_table"] = f"{inst}/code-table.csv"
        history = None
        current: list[bytes] = []
        current_idents: set[bytes] = set()
        current_units = 0
        current_entries = 0
        current_day = b""
        current_at = b""

        def write_bundle(kind: str, entries: list[bytes], invalid: int, at: bytes) -> None:
            n = len(info["bundles"]) + 1
            name = f"{inst}/bundles/{n:06d}.json"
            body = (
                b'{"resourceType":"Bundle","type":"'
                + kind.encode()
                + b'","entry":['
                + b",".join(entries)
                + b"]}"
            )
            (self.out / name).write_bytes(body)
            info["bundles"].append(name)
            info["bundle_times"].append(at[:19].decode() + "+08:00")
            self.stats.bundles += 1
            if kind == "batch":
                info["batch_bundles"][name] = invalid
                info["expected_rejections"] += invalid
                self.stats.batch_bundles += 1

        def flush_current() -> None:
            nonlocal current, current_idents, current_units, current_entries
            if current:
                write_bundle("transaction", current, 0, current_at)
            current, current_idents, current_units, current_entries = [], set(), 0, 0

        spool = self.spool_dir / inst
        months = sorted(spool.glob("*.tsv")) if spool.exists() else []
        try:
            for month_file in months:
                lines = month_file.read_bytes().splitlines()
                lines.sort()
                for line in lines:
                    key, kind, n_entries, n_invalid, idents, payload = line.split(b"\t", 5)
                    if kind == b"H":
                        if history is None:
                            history = (folder / "history.ndjson").open("wb")
                            info["history"] = f"{inst}/history.ndjson"
                        history.write(payload + b"\n")
                        info["history_lines"] += 1
                        continue
                    entries = payload.split(b"\x1e")
                    if kind == b"B":
                        flush_current()
                        write_bundle("batch", entries, int(n_invalid), key)
                        continue
                    unit_idents = set(idents.split(b"\x1f")) if idents else set()
                    day = key[:10]
                    if current and (
                        current_units >= self.p.events_per_bundle
                        or current_entries + len(entries) > self.p.bundle_max_entries
                        or day != current_day
                        or unit_idents & current_idents
                    ):
                        flush_current()
                    current.extend(entries)
                    current_idents |= unit_idents
                    current_units += 1
                    current_entries += len(entries)
                    current_day = day
                    current_at = key
                    if kind == b"R":
                        flush_current()
            flush_current()
        finally:
            if history is not None:
                history.close()
        if not info["bundles"]:
            bundle_dir.rmdir()
        return info


def lag_of(rng: random.Random) -> timedelta:
    return timedelta(seconds=rng.randint(120, 4 * 3600))


def _literal(t: Record) -> str:
    return f"{t.resource_type}/{t.rid}"


def _ident_key(rec: Record) -> str:
    system, value = identity(rec)
    return f"{rec.resource_type}|{system}|{value}"


def _break(resource: dict[str, Any], fault: int) -> dict[str, Any]:
    """A deliberately invalid copy: each fault is one that R4 validation must reject."""
    res = dict(resource)
    if fault == 0:
        res.pop("status", None)  # status is 1..1 on Encounter and Observation
    elif fault == 1:
        # An impossible calendar date.
        for key in ("effectiveDateTime", "period"):
            if key == "period":
                res["period"] = {**res["period"], "start": "2025-02-30T10:00:00+08:00"}
                res["period"].pop("end", None)
                break
            if key in res:
                res[key] = "2025-02-30T10:00:00+08:00"
                break
    elif fault == 2:
        res["riskColour"] = "red"  # an element R4 does not define
    else:
        res["subject"] = {"reference": "Patient/"}  # a malformed reference
    return res
