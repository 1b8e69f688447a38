"""DuckDB peer of the indicator job: the simulator's raw files (each institution's
``history.ndjson`` and its ``bundles/*.json``) read directly with ``read_json_objects``,
flattened and reconciled with SQL (last write per business identifier wins, DELETEs remove,
``batch`` Bundles — the deliberately invalid resources — are skipped, women joined across
institutions by resident ID), and a subset of the indicators computed per calendar month for the
whole district, following docs/indicator-rules.md.

Computed (numerator, denominator), district, by calendar month of the delivery day (quarters
and years as sums of the months):

* ``systematic_management_rate``  (first contact GA < 91 d, >= 5 check days before admission,
  facility delivery, postpartum visit 0-28 d after discharge) / live births
* ``early_registration_rate``      first contact GA < 91 d / live births
* ``hiv_test_rate``, ``syphilis_test_rate``, ``hbsag_test_rate``  tested from pregnancy start
  to discharge, or the infection known from before the pregnancy (a diagnosis, or a confirmed
  positive result, dated before its start) / women delivered (产妇数)
* ``caesarean_rate``               live births by caesarean / live births (births basis)
* ``facility_delivery_rate``       live births of non-home deliveries / live births

so the denominators 活产数 (live births) and 产妇数 (women delivered) are checked too: the
district's residents (an address naming 南沙区/440115 or with a 440115xxx street code) and
deliveries at 28+0 weeks or later (rules 1 and 2 of docs/indicator-rules.md). Not
computed: the street and institution views, the
infection treatment, risk, anaemia, perinatal, death and congenital-syphilis indicators.

The same SQL also runs over the service's FHIR Bulk Data export (``run_on_export``: the NDJSON
files of an export downloaded into one folder), the province platform's view of the district;
tests/bulk_export/test_export_with_duckdb.py checks it against the service.

Standalone: ``python -m benchmarks.duckdb_peer SIM_DIR [POSTGRES_URL] [--truth [TRUTH_JSON]]``
(with a URL: compare with that database's stored results; with ``--truth``: compare with the
simulator's truth, ``SIM_DIR/truth.json`` unless a path is given, district figures; the exit
status is 1 on any disagreement).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

INDICATORS = [
    "systematic_management_rate",
    "early_registration_rate",
    "hiv_test_rate",
    "syphilis_test_rate",
    "hbsag_test_rate",
    "caesarean_rate",
    "facility_delivery_rate",
]

_MACROS = r"""
-- the calendar day in Asia/Shanghai (fixed +08:00, no DST) of a FHIR date/dateTime
CREATE OR REPLACE MACRO ldate(s) AS CASE
  WHEN s IS NULL THEN NULL
  WHEN length(s) = 10 THEN CAST(s AS DATE)
  WHEN s LIKE '%Z' THEN CAST(CAST(replace(left(s, 19), 'T', ' ') AS TIMESTAMP)
                             + INTERVAL 8 HOUR AS DATE)
  WHEN regexp_matches(s, '[+-]\d\d:\d\d$') THEN CAST(
       CAST(replace(left(s, 19), 'T', ' ') AS TIMESTAMP)
       - (CAST(substr(s, -6, 1) || '1' AS INTEGER)
          * (CAST(substr(s, -5, 2) AS INTEGER) * 60 + CAST(substr(s, -2, 2) AS INTEGER)))
         * INTERVAL 1 MINUTE
       + INTERVAL 8 HOUR AS DATE)
  ELSE CAST(CAST(replace(left(s, 19), 'T', ' ') AS TIMESTAMP) AS DATE) END;
CREATE OR REPLACE MACRO inst_of(f) AS
  regexp_extract(f, '([^/]+)/(bundles/[^/]+|history\.ndjson)$', 1);
"""

_FLATTEN_SOURCES = r"""
-- the history files' lines in file order: a table keeps the scan's order (DuckDB's
-- preserve_insertion_order, on by default), so its rowid is the line's place. A window
-- without ORDER BY would number the lines in whatever order the threads met them, and a
-- record sent twice in one history file (a corrected date) could keep its older version.
CREATE OR REPLACE TABLE history_lines AS
SELECT filename, json
FROM read_json_objects('{dir}/*/history.ndjson', format = 'newline_delimited', filename = true);

-- every entry of every file, in send order per institution
CREATE OR REPLACE TABLE entries AS
WITH hist AS (
  SELECT inst_of(filename) AS inst, 0 AS file_seq, filename, 'history' AS btype,
         rowid AS idx, 'PUT' AS method, NULL AS url, NULL AS full_url, json AS res
  FROM history_lines
), bund AS (
  SELECT inst_of(filename) AS inst,
         CAST(regexp_extract(filename, '(\d+)\.json$', 1) AS INTEGER) AS file_seq, filename,
         json_extract_string(json, '$.type') AS btype,
         unnest(json_extract(json, '$.entry[*]')) AS e,
         generate_subscripts(json_extract(json, '$.entry[*]'), 1) AS idx
  FROM read_json_objects('{dir}/*/bundles/*.json', format = 'auto', filename = true)
)
SELECT inst, file_seq, filename, btype, idx, method, url, full_url, res FROM hist
UNION ALL
SELECT inst, file_seq, filename, btype, idx,
       json_extract_string(e, '$.request.method'), json_extract_string(e, '$.request.url'),
       json_extract_string(e, '$.fullUrl'), json_extract(e, '$.resource')
FROM bund WHERE btype <> 'batch';

CREATE OR REPLACE TABLE keyed AS
SELECT *,
  coalesce(json_extract_string(res, '$.resourceType'), regexp_extract(url, '^([A-Za-z]+)', 1))
    AS rtype,
  CASE
    WHEN method = 'DELETE' AND url LIKE '%|%' THEN regexp_extract(url, '\|(.*)$', 1)
    WHEN method = 'DELETE' THEN regexp_extract(url, '/([^/?]+)$', 1)
    WHEN json_extract_string(res, '$.resourceType') = 'Patient' THEN coalesce(
      list_extract(list_filter(
        CAST(json_extract(res, '$.identifier[*]') AS JSON[]),
        lambda x: json_extract_string(x, '$.system') LIKE '%/mrn'), 1) ->> '$.value',
      json_extract_string(res, '$.id'))
    ELSE coalesce(
      list_extract(list_filter(
        CAST(json_extract(res, '$.identifier[*]') AS JSON[]),
        lambda x: json_extract_string(x, '$.system') LIKE '%/id/%'), 1) ->> '$.value',
      json_extract_string(res, '$.id'))
  END AS rkey
FROM entries;

-- Patient aliases: resource id and fullUrl -> MRN (any version), to resolve references
CREATE OR REPLACE TABLE patient_alias AS
SELECT DISTINCT inst, json_extract_string(res, '$.id') AS alias, rkey AS mrn FROM keyed
 WHERE rtype = 'Patient' AND method <> 'DELETE' AND json_extract_string(res, '$.id') IS NOT NULL
UNION
SELECT DISTINCT inst, filename || '#' || full_url, rkey FROM keyed
 WHERE rtype = 'Patient' AND method <> 'DELETE' AND full_url IS NOT NULL;

-- the current state: last write per (institution, type, key); deletions remove
CREATE OR REPLACE TABLE cur AS
SELECT * EXCLUDE (rn) FROM (
  SELECT *, row_number() OVER (PARTITION BY inst, rtype, rkey
                               ORDER BY file_seq DESC, idx DESC) AS rn
  FROM keyed) WHERE rn = 1 AND method <> 'DELETE';

"""

# From the current records (``cur``: inst, rtype, rkey, res, full_url, filename) and the
# Patient aliases (``patient_alias``: inst, alias, mrn): the women and their flattened records.
_FACTS = r"""
-- resident: the (first) address names Nansha (南沙区 / 440115) or carries one of its street
-- codes (440115xxx): the district figure counts residents only (docs/indicator-rules.md)
CREATE OR REPLACE TABLE mothers AS
SELECT inst, rkey AS mrn,
  list_extract(list_filter(CAST(json_extract(res, '$.identifier[*]') AS JSON[]),
    lambda x: json_extract_string(x, '$.system') = 'urn:oid:2.16.156.10011.1.3'), 1) ->> '$.value'
    AS resident_id,
  coalesce(json_extract_string(res, '$.address[0].district') IN ('南沙区', '440115')
    OR json_extract_string(res, '$.address[0].extension[0].valueCode') LIKE '440115%', false)
    AS resident
FROM cur WHERE rtype = 'Patient'
  AND NOT coalesce(CAST(res AS VARCHAR) LIKE '%StructureDefinition/newborn-mother%', false);

-- clinical records, flattened: woman, type, code, day(s)
CREATE OR REPLACE TABLE facts AS
WITH r AS (
  SELECT c.*, json_extract_string(res, '$.subject.reference') AS subj FROM cur c
  WHERE rtype IN ('Encounter', 'Procedure', 'Observation', 'EpisodeOfCare', 'Condition')
), resolved AS (
  SELECT r.*, coalesce(
      CASE WHEN subj LIKE 'Patient?identifier=%' THEN regexp_extract(subj, '\|(.*)$', 1) END,
      a.mrn) AS mrn
  FROM r LEFT JOIN patient_alias a ON a.inst = r.inst AND a.alias = CASE
      WHEN subj LIKE 'urn:uuid:%' THEN r.filename || '#' || subj
      WHEN subj LIKE 'Patient/%' THEN substr(subj, 9) END
)
SELECT m.resident_id AS woman, x.inst, x.rtype, x.rkey,
  coalesce(json_extract_string(res, '$.type[0].coding[0].code'),
           json_extract_string(res, '$.code.coding[0].code')) AS code,
  json_extract_string(res, '$.class.code') AS class,
  ldate(coalesce(json_extract_string(res, '$.period.start'),
                 json_extract_string(res, '$.performedDateTime'),
                 json_extract_string(res, '$.effectiveDateTime'),
                 json_extract_string(res, '$.onsetDateTime'),
                 json_extract_string(res, '$.recordedDate'))) AS day,
  ldate(json_extract_string(res, '$.period.end')) AS end_day,
  ldate(json_extract_string(res, '$.valueDateTime')) AS value_day,
  TRY_CAST(json_extract_string(res, '$.valueQuantity.value') AS DOUBLE) AS value_num,
  -- a coded result: the value's code, else the interpretation's
  coalesce(json_extract_string(res, '$.valueCodeableConcept.coding[0].code'),
           json_extract_string(res, '$.interpretation[0].coding[0].code')) AS value_code,
  json_extract_string(res, '$.valueQuantity.code') AS value_unit,
  json_extract_string(res, '$.encounter.reference') AS enc_ref,
  x.full_url, x.filename
FROM resolved x JOIN mothers m ON m.inst = x.inst AND m.mrn = x.mrn
WHERE m.resident_id IS NOT NULL;
"""

_FLATTEN = _FLATTEN_SOURCES + _FACTS

# A FHIR Bulk Data export of the service (one NDJSON file or more per type, as downloaded from
# the manifest into one folder): the current versions are already reconciled by the service,
# so ``cur`` is the files as they are; ids are per sender, told apart by the sender meta.tag.
_FROM_EXPORT = r"""
CREATE OR REPLACE TABLE cur AS
SELECT list_extract(list_filter(CAST(json_extract(json, '$.meta.tag[*]') AS JSON[]),
         lambda x: json_extract_string(x, '$.system') LIKE '%/CodeSystem/sender'), 1)
         ->> '$.code' AS inst,
       json_extract_string(json, '$.resourceType') AS rtype,
       json_extract_string(json, '$.id') AS rkey, json AS res,
       CAST(NULL AS VARCHAR) AS full_url, filename
FROM read_json_objects('{dir}/*.ndjson', format = 'newline_delimited', filename = true);

CREATE OR REPLACE TABLE patient_alias AS
SELECT inst, rkey AS alias, rkey AS mrn FROM cur WHERE rtype = 'Patient';
"""

_INDICATORS = r"""
-- the infections' codes (fhir_mappings/code_tables, and the simulator's local-code LIS):
-- role 'test': a result Observation (any value) or a test-done Procedure; 'confirmed': a
-- result that, positive, confirms the infection (HIV confirmatory, HBsAg; syphilis needs two
-- tests in the pregnancy window, so none before it); 'diagnosis': a Condition, the ICD-10 code
-- or a code under it (prefix)
CREATE OR REPLACE TABLE infection_codes AS
SELECT infection, role, rtype, code FROM (VALUES
  ('hiv', 'test', 'Observation', ['56888-1', '58900-2', '31201-7', '7917-8', '7918-6',
     '80387-4', '68961-2', '5221-7', '25835-0', 'HIV-AB', 'HIV-WB']),
  ('hiv', 'test', 'Procedure', ['31676001']),
  ('hiv', 'confirmed', 'Observation', ['5221-7', '25835-0', 'HIV-WB']),
  ('hiv', 'diagnosis', 'Condition', ['B20', 'B21', 'B22', 'B23', 'B24', 'Z21', 'O98.7']),
  ('syphilis', 'test', 'Observation', ['20507-0', '31147-2', '22461-8', '11084-1', '24312-1',
     '71793-4', '8041-6', '24110-9', '63464-2', '47236-5', 'TP-TRUST', 'TP-PA']),
  ('syphilis', 'test', 'Procedure', ['269828009']),
  ('syphilis', 'diagnosis', 'Condition', ['A51', 'A52', 'A53', 'O98.1']),
  ('hbsag', 'test', 'Observation', ['5196-1', '5195-3', '63557-3', '58452-4', '75410-1',
     'HBSAG']),
  ('hbsag', 'test', 'Procedure', ['47758006']),
  ('hbsag', 'confirmed', 'Observation', ['5196-1', '5195-3', '63557-3', '58452-4', '75410-1',
     'HBSAG']),
  ('hbsag', 'diagnosis', 'Condition', ['B16', 'B18.0', 'B18.1', 'O98.4', 'Z22.5'])
) v(infection, role, rtype, codes), unnest(codes) AS u(code);

-- each woman's infection records: a test (dated), or what makes the infection known (a
-- diagnosis, a positive confirming result: SNOMED positive/detected, v3 POS, LOINC LA6576-8,
-- the local LIS's POS)
CREATE OR REPLACE TABLE infection_facts AS
SELECT DISTINCT f.woman, c.infection,
  CASE WHEN c.role = 'test' THEN 'test' ELSE 'known' END AS role, f.day
FROM facts f JOIN infection_codes c ON c.rtype = f.rtype AND (f.code = c.code
  OR (c.role = 'diagnosis' AND starts_with(f.code, c.code)))
WHERE f.day IS NOT NULL AND (c.role <> 'confirmed'
  OR f.value_code IN ('10828004', '260373001', 'POS', 'LA6576-8'));

CREATE OR REPLACE TABLE deliveries AS
WITH enc AS (
  SELECT * FROM facts WHERE rtype = 'Encounter' AND code = '236973005'
), proc AS (
  SELECT * FROM facts WHERE rtype = 'Procedure'
    AND code IN ('700000006', '11466000', '302383004', '61586001')
)
SELECT woman, inst, enc_key, class, admission,
  coalesce(pday, admission) AS delivery_day,
  coalesce(end_day, pday, admission) AS discharge, coalesce(caesarean, false) AS caesarean
FROM (
  SELECT e.woman, e.inst, e.rkey AS enc_key, e.class, e.day AS admission, e.end_day,
    min(p.day) AS pday, bool_or(p.code = '11466000') AS caesarean
  FROM enc e LEFT JOIN proc p ON p.woman = e.woman AND p.inst = e.inst
    AND p.day BETWEEN e.day AND coalesce(e.end_day, e.day + 14)
  GROUP BY ALL);

CREATE OR REPLACE TABLE cohort AS
WITH births AS (
  SELECT d.enc_key, d.inst, sum(CASE c.code WHEN 'Z37.0' THEN 1 WHEN 'Z37.2' THEN 2
                                WHEN 'Z37.3' THEN 1 ELSE 0 END) AS live_births
  FROM deliveries d JOIN facts c ON c.woman = d.woman AND c.rtype = 'Condition'
    AND c.code LIKE 'Z37%' AND c.day BETWEEN d.admission AND d.discharge + 1
  GROUP BY ALL
), lmp_candidates AS (  -- pregnancy start from any dating record (they agree): LMP,
  -- EDD - 280, day - GA; only those that fit this delivery (not an earlier/later pregnancy's)
  SELECT d.enc_key, d.inst, d.delivery_day, CASE
      WHEN f.code = '8665-2' THEN f.value_day
      WHEN f.code = '11778-8' THEN f.value_day - 280
      WHEN f.code = '11884-4' AND f.value_unit = 'wk' THEN f.day - CAST(f.value_num * 7 AS INT)
      WHEN f.code = '11884-4' THEN f.day - CAST(f.value_num AS INT) END AS lmp
  FROM deliveries d JOIN facts f ON f.woman = d.woman AND f.rtype = 'Observation'
    AND f.code IN ('8665-2', '11778-8', '11884-4')
), lmp AS (
  SELECT enc_key, inst, min(lmp) AS lmp FROM lmp_candidates
  WHERE delivery_day - lmp BETWEEN 140 AND 320 GROUP BY ALL
), d2 AS (
  SELECT d.*, coalesce(b.live_births, 0) AS live_births, l.lmp
  FROM deliveries d LEFT JOIN births b USING (enc_key, inst) LEFT JOIN (
    SELECT l.*, d.delivery_day FROM lmp l JOIN deliveries d USING (enc_key, inst)) l
    USING (enc_key, inst)
)
SELECT d.enc_key, d.inst, d.woman, d.delivery_day, d.live_births, d.caesarean,
  coalesce(d.class, '') <> 'HH' AS facility,
  -- 产妇数/活产数: at 28+0 weeks or later (GA unknown: counted), of the district's residents
  -- (the delivering institution's Patient record)
  (d.lmp IS NULL OR d.delivery_day - d.lmp >= 196)
    AND coalesce((SELECT bool_or(m.resident) FROM mothers m
                  WHERE m.inst = d.inst AND m.resident_id = d.woman), false) AS counted,
  -- first contact: earliest prenatal visit or booking in the pregnancy
  (SELECT min(f.day) FROM facts f WHERE f.woman = d.woman
     AND ((f.rtype = 'Encounter' AND f.code IN ('424441002', '424619006'))
          OR f.rtype = 'EpisodeOfCare')
     AND f.day >= d.lmp AND f.day <= d.delivery_day) - d.lmp AS first_contact_ga,
  (SELECT count(DISTINCT f.day) FROM facts f WHERE f.woman = d.woman AND f.rtype = 'Encounter'
     AND f.code IN ('424441002', '424619006') AND f.day >= d.lmp AND f.day < d.admission)
     AS checks,
  EXISTS (SELECT 1 FROM facts f WHERE f.woman = d.woman AND f.rtype = 'Encounter'
     AND f.code = '169762003' AND f.day - d.discharge BETWEEN 0 AND 28) AS pp28,
  -- tested: a test dated from the pregnancy start to discharge, or the infection known from
  -- before the pregnancy (a diagnosis or confirmed positive result dated before its start)
  EXISTS (SELECT 1 FROM infection_facts f WHERE f.woman = d.woman AND f.infection = 'hiv'
     AND CASE f.role WHEN 'test' THEN f.day BETWEEN d.lmp AND d.discharge
                     ELSE f.day < d.lmp END) AS hiv_tested,
  EXISTS (SELECT 1 FROM infection_facts f WHERE f.woman = d.woman AND f.infection = 'syphilis'
     AND CASE f.role WHEN 'test' THEN f.day BETWEEN d.lmp AND d.discharge
                     ELSE f.day < d.lmp END) AS syphilis_tested,
  EXISTS (SELECT 1 FROM infection_facts f WHERE f.woman = d.woman AND f.infection = 'hbsag'
     AND CASE f.role WHEN 'test' THEN f.day BETWEEN d.lmp AND d.discharge
                     ELSE f.day < d.lmp END) AS hbsag_tested
FROM d2 d;

CREATE OR REPLACE TABLE peer_results AS
WITH m AS (
  SELECT strftime(delivery_day, '%Y-%m') AS period,
    count(*) AS women, sum(live_births) AS live_births,
    sum(CASE WHEN first_contact_ga < 91 AND checks >= 5 AND facility AND pp28 THEN 1 ELSE 0 END)
      AS systematic,
    sum(CASE WHEN first_contact_ga < 91 THEN 1 ELSE 0 END) AS early,
    sum(hiv_tested::INT) AS hiv, sum(syphilis_tested::INT) AS syphilis,
    sum(hbsag_tested::INT) AS hbsag,
    sum(CASE WHEN caesarean THEN live_births ELSE 0 END) AS caesarean,
    sum(CASE WHEN facility THEN live_births ELSE 0 END) AS facility
  FROM cohort WHERE counted GROUP BY 1
)
SELECT period, 'systematic_management_rate' AS id, systematic AS num, live_births AS den FROM m
UNION ALL SELECT period, 'early_registration_rate', early, live_births FROM m
UNION ALL SELECT period, 'hiv_test_rate', hiv, women FROM m
UNION ALL SELECT period, 'syphilis_test_rate', syphilis, women FROM m
UNION ALL SELECT period, 'hbsag_test_rate', hbsag, women FROM m
UNION ALL SELECT period, 'caesarean_rate', caesarean, live_births FROM m
UNION ALL SELECT period, 'facility_delivery_rate', facility, live_births FROM m;
"""


def run_peer(sim_dir: Path, threads: int = 2) -> dict[str, Any]:
    """Read, flatten and compute; returns timings, sizes and {(id, period): (num, den)}."""
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": threads})
    con.execute("SET enable_progress_bar = false")
    timings = {}
    t0 = time.perf_counter()
    con.execute(_MACROS)
    con.execute(_FLATTEN.replace("{dir}", str(sim_dir)))
    t1 = time.perf_counter()
    con.execute(_INDICATORS)
    t2 = time.perf_counter()
    timings["read_and_flatten_s"] = round(t1 - t0, 3)
    timings["indicators_s"] = round(t2 - t1, 3)
    timings["wall_s"] = round(t2 - t0, 3)
    sizes = {
        t: con.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[index]
        for t in ("entries", "cur", "facts", "deliveries")
    }
    rows = con.execute("select id, period, num, den from peer_results").fetchall()
    con.close()
    months = {(i, p): (int(n or 0), int(d or 0)) for i, p, n, d in rows}
    return {
        "duckdb_version": duckdb.__version__,
        "threads": threads,
        **timings,
        "rows": sizes,
        "indicators": INDICATORS,
        "results": with_quarters_and_years(months),
    }


def run_on_export(folder: Path, threads: int = 2) -> dict[tuple[str, str], tuple[int, int]]:
    """The same indicators over a bulk export's NDJSON files (all in ``folder``): what a
    province platform runs over the district's export. {(id, calendar month): (num, den)}."""
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": threads})
    con.execute("SET enable_progress_bar = false")
    con.execute(_MACROS)
    con.execute(_FROM_EXPORT.replace("{dir}", str(folder)))
    con.execute(_FACTS)
    con.execute(_INDICATORS)
    rows = con.execute("select id, period, num, den from peer_results").fetchall()
    con.close()
    return {(i, p): (int(n or 0), int(d or 0)) for i, p, n, d in rows}


def with_quarters_and_years(
    months: dict[tuple[str, str], tuple[int, int]],
) -> dict[tuple[str, str], tuple[int, int]]:
    """Calendar quarters, calendar and statistical years (October to September: SY2025 starts
    in October 2024) and the rolling 12 months to each month (2025-03-R12: April 2024 to March
    2025) as sums of the months (cohort counts add up)."""
    out = dict(months)
    for (ind, month), (num, den) in months.items():
        year, mm = int(month[:4]), int(month[5:])
        labels = [f"{year}-Q{(mm - 1) // 3 + 1}", str(year), f"SY{year + (mm >= 10)}"]
        for k in range(12):
            ry, rm = divmod(year * 12 + mm - 1 + k, 12)
            labels.append(f"{ry:04d}-{rm + 1:02d}-R12")
        for label in labels:
            a, b = out.get((ind, label), (0, 0))
            out[(ind, label)] = (a + num, b + den)
    return out


def is_month(period: str) -> bool:
    return len(period) == 7 and period[4] == "-" and period[5:].isdigit()


def kind(period: str) -> str:
    if is_month(period):
        return "month"
    if period.endswith("-R12"):
        return "rolling_year"
    if period.startswith("SY"):
        return "statistical_year"
    return "quarter" if "-Q" in period else "year"


def compare(
    peer: dict[tuple[str, str], tuple[int, int]], service: dict[tuple[str, str], tuple[int, int]]
) -> dict[str, Any]:
    keys = {k for k in set(peer) | set(service) if k[0] in INDICATORS}
    per: dict[str, dict[str, int]] = {i: {"compared": 0, "equal": 0} for i in INDICATORS}
    per_kind: dict[str, dict[str, int]] = {
        k: {"compared": 0, "equal": 0}
        for k in ("month", "quarter", "year", "statistical_year", "rolling_year")
    }
    diffs = []
    for k in sorted(keys):
        a, b = peer.get(k, (0, 0)), service.get(k, (0, 0))
        if a == (0, 0) and b == (0, 0):
            continue
        per[k[0]]["compared"] += 1
        per_kind[kind(k[1])]["compared"] += 1
        if a == b:
            per[k[0]]["equal"] += 1
            per_kind[kind(k[1])]["equal"] += 1
        else:
            diffs.append({"indicator": k[0], "period": k[1], "duckdb": list(a), "service": list(b)})
    return {
        "compared": sum(v["compared"] for v in per.values()),
        "mismatches": len(diffs),
        "by_indicator": per,
        "by_period_kind": per_kind,
        "differences": diffs[:50],
    }


def render(
    peer: dict[str, Any],
    agreement: dict[str, Any],
    service_full_s: float | None,
    against: str = "service",
) -> str:
    lines = [
        f"(d) DuckDB {peer['duckdb_version']} peer ({peer['threads']} threads): "
        f"{peer['wall_s']:.2f} s wall (read+flatten {peer['read_and_flatten_s']:.2f} s, "
        f"indicators {peer['indicators_s']:.2f} s) over {peer['rows']['entries']} entries"
        + (f"; service full job {service_full_s:.2f} s" if service_full_s else "")
    ]
    kinds = ", ".join(
        f"{v['equal']}/{v['compared']} {k}s" for k, v in agreement["by_period_kind"].items()
    )
    lines.append(
        f"    agreement with the {against}, district (numerator, denominator): "
        f"{agreement['compared'] - agreement['mismatches']}/{agreement['compared']} "
        f"equal ({kinds})"
    )
    for ind, v in agreement["by_indicator"].items():
        lines.append(f"      {ind:32s} {v['equal']:4d}/{v['compared']:<4d}")
    for d in agreement["differences"][:10]:
        lines.append(
            f"      DIFF {d['indicator']} {d['period']}: duckdb {tuple(d['duckdb'])} "
            f"{against} {tuple(d['service'])}"
        )
    return "\n".join(lines)


def truth_results(path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """The simulator's truth (``truth.json``) for the peer's indicators: the district figure
    ({(id, period): (num, den)}, every period the truth has)."""
    import json

    rows = json.loads(path.read_text(encoding="utf-8"))["indicators"]
    return {
        (r["id"], r["period"]): (int(r["numerator"]), int(r["denominator"]))
        for r in rows
        if r["id"] in INDICATORS and r["area"] == "district" and r["institution"] == "all"
    }


def compare_with_truth(
    peer: dict[tuple[str, str], tuple[int, int]], truth: dict[tuple[str, str], tuple[int, int]]
) -> dict[str, Any]:
    """``compare`` over the periods the truth covers (any of its indicators): the truth starts
    at the simulation's start, while the peer also counts the deliveries of the earlier
    pregnancies in the women's history, and its rolling years run on past the end."""
    periods = {p for _, p in truth}
    return compare({k: v for k, v in peer.items() if k[1] in periods}, truth)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duckdb_peer")
    parser.add_argument("sim_dir", type=Path, help="a simulation's folder")
    parser.add_argument("postgres_url", nargs="?", help="compare with its stored results")
    parser.add_argument(
        "--truth",
        nargs="?",
        const="",
        metavar="TRUTH_JSON",
        help="compare with the simulator's truth (default SIM_DIR/truth.json)",
    )
    return parser.parse_args(argv)


def _main(argv: list[str]) -> int:
    a = _arguments(argv)
    truth_path = None if a.truth is None else Path(a.truth or a.sim_dir / "truth.json")
    peer = run_peer(a.sim_dir)
    out = {k: v for k, v in peer.items() if k != "results"}
    status = 0
    if a.postgres_url:
        import psycopg

        with psycopg.connect(a.postgres_url) as conn:
            rows = conn.execute(
                "select indicator_id, period, numerator, denominator from indicator_result "
                "where area = 'district' and institution = 'all'"
            ).fetchall()
        service = {(i, p): (int(n), int(d)) for i, p, n, d in rows}
        agreement = compare(peer["results"], service)
        print(render(out, agreement, None))
        status |= agreement["mismatches"] != 0
    if truth_path is not None:
        agreement = compare_with_truth(peer["results"], truth_results(truth_path))
        print(render(out, agreement, None, against="truth"))
        status |= agreement["mismatches"] != 0
    if not a.postgres_url and truth_path is None:
        print(out)
        for k, v in sorted(peer["results"].items()):
            print(k, v)
    return status


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
