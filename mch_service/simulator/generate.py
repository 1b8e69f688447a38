"""``simulate``: women one after another — story, facts into the truth, records out to the
spool — then the final files. Deterministic for a seed: every random choice comes from
``random.Random`` streams seeded per woman, uuids included, and nothing reads the clock."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from mch_service.simulator import district
from mch_service.simulator.emit import Emitter
from mch_service.simulator.facts import PregnancyFacts
from mch_service.simulator.fhir import code_table_csv
from mch_service.simulator.params import SimulationParams
from mch_service.simulator.story import Context, facts_of, truncate, woman_story
from mch_service.simulator.truth import WORK_LISTS, TruthAccumulator, work_list_entries

_JSON = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


@dataclass(frozen=True)
class SimulationSummary:
    out_dir: Path
    pregnancies: int  # simulated
    women: int
    seen_pregnancies: int  # with at least one record by the end of the span
    deliveries: int  # delivered within [start, end] or earlier
    resources: int  # resources written (history lines + POST/PUT entries)
    history_lines: int
    bundles: int
    batch_bundles: int
    invalid_resources: int
    deletions: int
    late_records: int
    duplicates: int
    corrections: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def simulate(
    params: SimulationParams,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Write a simulated district to ``out_dir``. ``progress`` is called with the number of
    pregnancies just generated (it adds up to ``params.pregnancies``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear(out_dir)
    ctx = Context(params)
    emitter = Emitter(params, out_dir)
    truth = TruthAccumulator(
        params.start,
        params.end,
        params.truth,
        params.as_of_days,
        [i.id for i in district.INSTITUTIONS],
        [s.code for s in district.STREETS],
    )
    done = women = seen = deliveries = 0
    while done < params.pregnancies:
        rng = random.Random(f"{params.seed}/woman/{women}")
        story = woman_story(ctx, women, rng, min(2, params.pregnancies - done))
        truncate(story, ctx.end_dt)
        # sent first: the truth needs when her risk assessments are received (report_late)
        receipts = emitter.emit_woman(story, random.Random(f"{params.seed}/send/{women}"))
        for facts in facts_of(story, receipts):
            truth.add(facts)
            seen += 1
            deliveries += facts.delivery is not None
        done += len(story.pregnancies)
        women += 1
        if progress is not None:
            progress(len(story.pregnancies))
    manifest = emitter.finish()

    (out_dir / "institutions.json").write_bytes(
        orjson.dumps([i.as_dict() for i in district.INSTITUTIONS], option=orjson.OPT_INDENT_2)
    )
    (out_dir / "streets.json").write_bytes(
        orjson.dumps(
            [{"code": s.code, "name": s.name, "chc": s.chc} for s in district.STREETS],
            option=orjson.OPT_INDENT_2,
        )
    )
    local = params.local_code_institution
    (out_dir / local).mkdir(exist_ok=True)
    (out_dir / local / "code-table.csv").write_text(code_table_csv(local), encoding="utf-8")
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    (out_dir / "params.json").write_bytes(orjson.dumps(params.as_dict(), option=_JSON))
    (out_dir / "truth.json").write_bytes(
        orjson.dumps(
            {
                "seed": params.seed,
                "params": params.as_dict(),
                "settings": params.truth.as_dict(),
                "indicators": truth.indicator_rows(),
                "work_lists": truth.work_lists(),
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    s = emitter.stats
    return SimulationSummary(
        out_dir=out_dir,
        pregnancies=done,
        women=women,
        seen_pregnancies=seen,
        deliveries=deliveries,
        resources=s.resources,
        history_lines=s.history_lines,
        bundles=s.bundles,
        batch_bundles=s.batch_bundles,
        invalid_resources=s.invalid,
        deletions=s.deletions,
        late_records=s.late,
        duplicates=s.duplicates,
        corrections=s.corrections,
    )


def _clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote here (and only that), so no stale bundle survives."""
    for inst in district.INSTITUTIONS:
        shutil.rmtree(out_dir / inst.id, ignore_errors=True)
    for name in ("institutions.json", "streets.json", "manifest.json", "params.json", "truth.json"):
        (out_dir / name).unlink(missing_ok=True)


def iter_facts(params: SimulationParams) -> Iterator[PregnancyFacts]:
    """The facts ``simulate`` hands the truth, without writing anything (same streams)."""
    ctx = Context(params)
    planner = Emitter(params, None)  # plans the sends only: when assessments are received
    done = women = 0
    while done < params.pregnancies:
        rng = random.Random(f"{params.seed}/woman/{women}")
        story = woman_story(ctx, women, rng, min(2, params.pregnancies - done))
        truncate(story, ctx.end_dt)
        receipts = planner.emit_woman(story, random.Random(f"{params.seed}/send/{women}"))
        yield from facts_of(story, receipts)
        done += len(story.pregnancies)
        women += 1


# Days after a list's "since" day on which something else changes, as (last day before, first
# day after) = (since + n - 1, since + n): postpartum_visit_due (since = discharge + 8) turns
# overdue on day 29 (n = 21) and ends after day 42 (n = 35).
_LATER_EDGES = {"postpartum_visit_due": (21, 35)}


def threshold_days(params: SimulationParams, per_list: int = 2) -> tuple[date, ...]:
    """Work-list days on and next to each list's thresholds for this district: for up to
    ``per_list`` pregnancies per list, the day before she enters it and the day she does (and
    for the postpartum list the days around overdue and the end). Found with the truth's own
    rules (truth.work_list_entries every third day), never with the service's. Pass them
    as ``as_of`` so that truth.json holds the lists on those days."""
    # every third day: a list a pregnancy is on for a few days only is still met
    span = (params.end - params.start).days
    looks = [params.start + timedelta(days=k) for k in range(0, span + 1, 3)]
    chosen: dict[str, list[date]] = {name: [] for name in WORK_LISTS}
    for f in iter_facts(params):
        sinces: dict[str, date] = {}
        for as_of in looks:
            for name, since in work_list_entries(f, as_of, params.truth).items():
                sinces.setdefault(name, since)
        for name, since in sinces.items():
            if len(chosen[name]) >= 2 * per_list * (1 + len(_LATER_EDGES.get(name, ()))):
                continue
            for offset in (0, *_LATER_EDGES.get(name, ())):
                chosen[name] += [since + timedelta(days=offset - 1), since + timedelta(days=offset)]
    days = {d for ds in chosen.values() for d in ds if params.start <= d <= params.end}
    return tuple(sorted(days))
