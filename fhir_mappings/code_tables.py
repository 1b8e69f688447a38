"""Loading and looking up code tables (format: docs/code-tables.md)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULTS_DIR = Path(__file__).parent / "code_tables"
COLUMNS = ("concept", "system", "code", "display", "value", "unit")
REQUIRED = ("concept", "system", "code")

# Every concept the domain understands, with what it recognises (shown in the interface guide).
CONCEPTS: dict[str, str] = {
    "hiv_test": (
        "HIV test (result Observation or test-done Procedure; value column: empty for a "
        "screening test, confirmatory for a confirmatory one)"
    ),
    "syphilis_test": "Syphilis test (value column: treponemal or non_treponemal)",
    "hbsag_test": "Hepatitis B surface antigen",
    "haemoglobin": "Haemoglobin (g/L; g/dL are converted)",
    "thalassaemia_test": "Thalassaemia screening (a positive result marks a carrier)",
    "epds": "Edinburgh Postnatal Depression Scale (EPDS) total score (0-30)",
    "prenatal_screening": "Prenatal screening for fetal aneuploidy (serum screening, NIPT)",
    "prenatal_diagnosis": (
        "Prenatal diagnosis procedure (amniocentesis, chorionic villus sampling, cordocentesis)"
    ),
    "result_value": "Coded result values (value column: positive, negative, indeterminate)",
    "lmp": "Last menstrual period",
    "edd": "Estimated delivery date",
    "gestational_age": "Gestational age (weeks or days)",
    "gravida": "Number of pregnancies",
    "birth_weight": "Birth weight (g; kg converted)",
    "apgar": "Apgar score",
    "prenatal_initial_visit": "First prenatal visit (booking)",
    "prenatal_visit": "Prenatal visit",
    "postpartum_visit": "Postpartum (home) visit",
    "postpartum_42d_check": "Postpartum 42-day health check",
    "home_delivery_class": "Encounter class of a delivery outside a licensed facility",
    "delivery": "Delivery (mode not said)",
    "delivery_vaginal": "Vaginal delivery",
    "delivery_instrumental": "Instrumental (forceps, vacuum) delivery",
    "delivery_caesarean": "Caesarean section",
    "birth_outcome": "Outcome of delivery (ICD-10 Z37.x)",
    "hiv_diagnosis": "HIV infection",
    "syphilis_diagnosis": "Syphilis",
    "congenital_syphilis": "Congenital syphilis (newborn)",
    "hbv_diagnosis": "Hepatitis B",
    "thalassaemia_diagnosis": "Thalassaemia",
    "pregnancy_loss": "Pregnancy ending before delivery (ectopic, miscarriage, abortion)",
    "pregnancy_complication": "Pregnancy, childbirth and puerperium conditions",
    "accidental_cause": (
        "Accidental or incidental cause of death (ICD-10 V01-X59 accidents, X85-Y09 assault, "
        "Y10-Y36 undetermined intent, legal intervention, war): not a maternal death"
    ),
    "care_complication": (
        "Complication of medical and surgical care (ICD-10 Y40-Y84): a direct obstetric death"
    ),
    "self_harm": "Intentional self-harm (ICD-10 X60-X84): a maternal death pending review",
    "severe_maternal_morbidity": "Severe maternal morbidity (危重孕产妇, WHO near-miss criteria)",
    "antiretroviral": "Antiretroviral drugs for HIV (ART)",
    "hbv_antiviral": "Hepatitis B antivirals (entecavir, adefovir, telbivudine): not ART",
    "syphilis_treatment": (
        "Syphilis treatment (value column: penicillin, or needs_indication for a drug that counts "
        "only with a syphilis reasonCode)"
    ),
    "hbig": "Hepatitis B immunoglobulin (newborn)",
    "hepb_vaccine": "Hepatitis B vaccine (Immunization.vaccineCode; the newborn's first dose)",
    "risk_colour": "Five-colour risk grade (value column: the colour)",
    "pregnancy_episode": "EpisodeOfCare type of a pregnancy",
}
RESULT_VALUES = ("positive", "negative", "indeterminate")
# The value column qualifying a test or drug row (docs/code-tables.md): the allowed values.
QUALIFIERS: dict[str, tuple[str, ...]] = {
    "hiv_test": ("", "confirmatory"),
    "syphilis_test": ("", "treponemal", "non_treponemal"),
    "syphilis_treatment": ("", "penicillin", "needs_indication"),
    # the minute an Apgar score is taken at (1, 5, 10); empty: not said
    "apgar": ("", "1", "5", "10"),
}
COLOURS = ("green", "yellow", "orange", "red", "purple")
UNITS = ("g/L", "g/dL", "g", "kg", "wk", "d", "")


class CodeTableError(Exception):
    """A bad row or file; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class CodeRow:
    concept: str
    system: str
    code: str
    display: str
    value: str
    unit: str
    source: str  # "file.csv:12"


@dataclass
class CodeTables:
    exact: dict[tuple[str, str], list[CodeRow]] = field(default_factory=dict)
    prefixes: dict[str, list[tuple[str, CodeRow]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    _systems: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def add(self, row: CodeRow) -> None:
        self._systems = None
        if row.code.endswith("*"):
            self.prefixes.setdefault(row.system, []).append((row.code[:-1], row))
        else:
            self.exact.setdefault((row.system, row.code), []).append(row)

    def lookup(self, system: str | None, code: str | None) -> list[CodeRow]:
        if not system or not code:
            return []
        found = list(self.exact.get((system, code), ()))
        for prefix, row in self.prefixes.get(system, ()):
            if code.startswith(prefix):
                found.append(row)
        return found

    def concepts_of(self, codings: Iterable[Any]) -> dict[str, CodeRow]:
        """concept -> the row that matched, over a list of FHIR Coding dicts."""
        out: dict[str, CodeRow] = {}
        for coding in codings:
            if isinstance(coding, dict):
                for row in self.lookup(coding.get("system"), coding.get("code")):
                    out.setdefault(row.concept, row)
        return out

    def systems(self) -> frozenset[str]:
        """Every code system some row names."""
        if self._systems is None:
            self._systems = frozenset(s for s, _ in self.exact) | frozenset(self.prefixes)
        return self._systems

    def systems_of_code(self, code: str) -> list[str]:
        """The systems under which this code (exactly, or by a prefix row) is in a table."""
        found = {s for s in self.systems() if self.lookup(s, code)}
        return sorted(found)

    def all_rows(self) -> list[CodeRow]:
        rows = [r for rs in self.exact.values() for r in rs]
        rows += [r for rs in self.prefixes.values() for _, r in rs]
        return sorted(rows, key=lambda r: (r.concept, r.system, r.code))


def _read(path: Path, canonical: str, tables: CodeTables) -> None:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeTableError(f"{name}: cannot read it as UTF-8 text ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CodeTableError(
            f"{name}:1: missing column(s) {', '.join(missing)}; the header "
            f"must name {', '.join(COLUMNS)}"
        )
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise CodeTableError(f"{name}:1: unknown column(s) {', '.join(unknown)}")
    for line, raw in enumerate(reader, start=2):
        row = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        where = f"{name}:{line}"
        if None in raw:
            raise CodeTableError(f"{where}: more fields than the header has")
        if row["concept"] not in CONCEPTS:
            raise CodeTableError(
                f"{where}: unknown concept {row['concept']!r} (known: "
                f"{', '.join(sorted(CONCEPTS))})"
            )
        if not row["system"] or not row["code"]:
            raise CodeTableError(f"{where}: system and code must not be empty")
        if row["concept"] == "result_value" and row["value"] not in RESULT_VALUES:
            raise CodeTableError(
                f"{where}: a result_value row needs value {' / '.join(RESULT_VALUES)}"
            )
        allowed = QUALIFIERS.get(row["concept"])
        if allowed is not None and row["value"] not in allowed:
            raise CodeTableError(
                f"{where}: a {row['concept']} row's value is one of "
                f"{' / '.join(v or '(empty)' for v in allowed)}, not {row['value']!r}"
            )
        if row["concept"] == "risk_colour" and row["value"] not in COLOURS:
            raise CodeTableError(f"{where}: a risk_colour row needs value {' / '.join(COLOURS)}")
        if row["unit"] not in UNITS:
            raise CodeTableError(
                f"{where}: unit {row['unit']!r} is not one of {', '.join(u for u in UNITS if u)}"
            )
        tables.add(
            CodeRow(
                row["concept"],
                row["system"].replace("{canonical}", canonical),
                row["code"],
                row["display"],
                row["value"],
                row["unit"],
                where,
            )
        )
    tables.files.append(name)


# Concepts one code may mean together: a diagnosis is also a pregnancy complication (O98.x),
# a delivery code also its mode. Any other code means one concept: a code mapped to two tests
# (HBSAG to hiv_test and hbsag_test) would count one result as two.
MAY_SHARE_A_CODE = (
    frozenset(
        {
            "hiv_diagnosis",
            "syphilis_diagnosis",
            "congenital_syphilis",
            "hbv_diagnosis",
            "thalassaemia_diagnosis",
            "pregnancy_complication",
            "pregnancy_loss",
            "accidental_cause",
            "care_complication",
            "self_harm",
            "severe_maternal_morbidity",
            "birth_outcome",
        }
    ),
    frozenset({"delivery", "delivery_vaginal", "delivery_caesarean", "delivery_instrumental"}),
)


def _check_one_meaning(tables: CodeTables) -> None:
    for (system, code), rows in tables.exact.items():
        first = rows[0]
        other = next(
            (r for r in rows if (r.concept, r.value) != (first.concept, first.value)), None
        )
        if other is None:
            continue
        concepts = {r.concept for r in rows}
        meanings = {(r.concept, r.value) for r in rows}
        if len(concepts) == len(meanings) and any(concepts <= g for g in MAY_SHARE_A_CODE):
            continue
        raise CodeTableError(
            f"{other.source}: {system}|{code} is mapped to {_meaning(other)} here and to "
            f"{_meaning(first)} at {first.source}; a code means one concept: remove one of "
            "the rows"
        )


def _meaning(row: CodeRow) -> str:
    return f"{row.concept} ({row.value})" if row.value else row.concept


def load_code_tables(extra_dir: str | Path | None, canonical: str) -> CodeTables:
    """The defaults, then every *.csv in ``extra_dir`` (a site's own codes), in name order."""
    tables = CodeTables()
    for path in sorted(DEFAULTS_DIR.glob("*.csv")):
        _read(path, canonical, tables)
    if extra_dir:
        folder = Path(extra_dir)
        if not folder.is_dir():
            raise CodeTableError(f"MCH_CODE_TABLES_DIR {folder} is not a folder")
        for path in sorted(folder.glob("*.csv")):
            _read(path, canonical, tables)
    _check_one_meaning(tables)
    return tables
