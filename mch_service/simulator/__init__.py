"""A simulated district with known ground truth: the first demo, the load generator for
benchmarks, and an independent source of expected indicator values (docs/simulator.md).

``simulate`` writes what each institution would send (an NDJSON backfill and transaction
Bundles) plus ``truth.json``, computed from the simulator's own model with the rules of
docs/indicator-rules.md; ``push`` sends it to a running service.
"""

from __future__ import annotations

from mch_service.simulator.generate import SimulationSummary, simulate
from mch_service.simulator.params import SimulationParams, TruthSettings
from mch_service.simulator.push import PushReport, push

__all__ = [
    "PushReport",
    "SimulationParams",
    "SimulationSummary",
    "TruthSettings",
    "push",
    "simulate",
]
