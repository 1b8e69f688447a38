"""Tests for mch_service.fhir_api.structural_rules.

Calibrated against real data in ../shared/data (read-only, never copied into the repo):
the HL7 validator test cases (what the reference validator rejects, and where) and the
official R4 examples (which must all stay valid).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mch_service.fhir_api.structural_rules import StructuralIssue, check_structure
from tests.shared_data import SHARED_DATA, needs_shared_data, params, read_json

CASES_DIR = SHARED_DATA / "fhir-validator-cases"
EXAMPLES_DIR = SHARED_DATA / "fhir-r4-examples"

CASES: dict[str, dict[str, Any]] = {
    case["name"]: case for case in read_json(CASES_DIR / "cases.json", [])
}
EXAMPLE_FILES = sorted(p for p in EXAMPLES_DIR.glob("*.json") if p.name != "package.json")

# structural_only_invalid cases that the fhir.resources R4B models accept: these rules are
# the only thing standing between them and the database.
MODEL_ACCEPTED_INVALID = [
    "bundle-document-versioned-references-bad",
    "bundle-duplicate-id",
    "bundle-sig-2",
    "contained-resource-bad-id",
    "encounter-period",
    "ips-htmlrefs-backwards",
    "maiden-name-extension",
    "pat-example-extensions",
    "pat-security-bad-xhtml",
    "patient-id-bad-3 / R4",
]
# The validator rejects pat-example-extensions only for its example.org extension URL, a rule
# it relaxes for examples: the official R4 examples (Patient-glossy, Patient-pat2, Bundle-f001,
# ...) use example.org extension URLs. So the rule is a setting (reject_example_urls), and
# these cases are checked with it on.
NEEDS_EXAMPLE_URL_RULE = {"pat-example-extensions"}

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def _load(case: dict[str, Any]) -> Any:
    return json.loads((CASES_DIR / case["file"]).read_text(encoding="utf-8"))


def _validator_expressions(case: dict[str, Any]) -> list[str]:
    """The reference validator's expressions without its /*Type/id*/ annotations."""
    out = []
    for issue in case["base_expected"]["error_issues"]:
        for expr in issue["expression"] or []:
            out.append(re.sub(r"/\*.*?\*/", "", expr))
    return out


def _points_at(ours: str, theirs: str) -> bool:
    return ours == theirs or ours.startswith((theirs + ".", theirs + "["))


def _check_case(name: str, resource: Any) -> list[StructuralIssue]:
    # The validator's security checks (our active-content rule, on by default) as the case
    # runs it: pat-security-good2 is "a bad string, but with no security checks on".
    security = (
        bool(CASES[name].get("options", {}).get("security-checks")) if name in CASES else True
    )
    return check_structure(
        resource,
        reject_example_urls=name in NEEDS_EXAMPLE_URL_RULE,
        reject_active_content=security,
    )


def test_the_validators_security_case_is_refused_with_the_checks_on() -> None:
    """pat-security-good2 passes the validator only because its security checks are off; the
    validator flags the same element (information there, an error with the checks on)."""
    case = CASES["pat-security-good2"]
    assert case["options"] == {}
    issues = check_structure(_load(case))
    assert [(i.expression, i.code) for i in issues] == [("Patient.name[0].text", "security")]


@needs_shared_data
def test_example_url_rule_is_a_setting() -> None:
    case = _load(CASES["pat-example-extensions"])
    assert check_structure(case) == []
    strict = check_structure(case, reject_example_urls=True)
    assert _exprs(strict) == ["Patient.birthDate.extension[0].url"]
    glossy = json.loads((EXAMPLES_DIR / "Patient-glossy.json").read_text())
    assert check_structure(glossy) == []
    assert check_structure(glossy, reject_example_urls=True) != []


def _exprs(issues: list[StructuralIssue]) -> list[str]:
    return [i.expression for i in issues]


def _only(issues: list[StructuralIssue]) -> StructuralIssue:
    assert len(issues) == 1, issues
    return issues[0]


# --- calibration against the reference validator -------------------------------------------


@needs_shared_data
def test_case_lists_match_the_data() -> None:
    """Guards the hard-coded list: every name exists and is marked structural-only invalid."""
    for name in MODEL_ACCEPTED_INVALID:
        assert CASES[name]["structural_only_invalid"] is True


@pytest.mark.parametrize("name", params(MODEL_ACCEPTED_INVALID, lambda n: n))
def test_rejects_what_the_models_accept_at_the_validators_location(name: str) -> None:
    case = CASES[name]
    issues = _check_case(name, _load(case))
    expected = _validator_expressions(case)
    assert any(_points_at(i.expression, e) for i in issues for e in expected), (
        f"validator points at {expected}, we found {issues}"
    )


def _structural_cases() -> list[Any]:
    return params([n for n, c in CASES.items() if c["structural_only_invalid"]], lambda n: n)


@pytest.mark.parametrize("name", _structural_cases())
def test_every_structural_only_invalid_case_is_rejected_by_models_or_rules(name: str) -> None:
    """The service's pipeline (JSON parse, these rules, then the R4B models) rejects each."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    case = CASES[name]
    try:
        resource = _load(case)
    except json.JSONDecodeError:
        return  # rejected by the JSON parser
    if _check_case(name, resource):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValidationError):
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize(
    "name",
    params(
        [n for n, c in CASES.items() if c["base_valid"] and not c["depends_on_external_context"]],
        lambda n: n,
    ),
)
def test_no_issue_on_valid_validator_cases(name: str) -> None:
    assert _check_case(name, _load(CASES[name])) == []


@needs_shared_data
def test_all_official_examples_are_present() -> None:
    assert len(EXAMPLE_FILES) == 161


@pytest.mark.parametrize("path", params(EXAMPLE_FILES, lambda p: p.name))
def test_no_issue_on_official_r4_examples(path: Path) -> None:
    assert check_structure(json.loads(path.read_text(encoding="utf-8"))) == []


# --- the contract ----------------------------------------------------------------------------


def test_root_prefixes_every_expression() -> None:
    res = {"resourceType": "Patient", "id": "a_b", "gender": ""}
    assert _exprs(check_structure(res, "Bundle.entry[3].resource")) == [
        "Bundle.entry[3].resource.id",
        "Bundle.entry[3].resource.gender",
    ]
    assert _exprs(check_structure(res)) == ["Patient.id", "Patient.gender"]


def test_valid_resource_gives_no_issues() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "bp-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {
            "start": "2024-03-01T10:00:00+02:00",
            "end": "2024-03-01T10:05:00+02:00",
        },
        "component": [{"code": {"text": "sys"}, "valueQuantity": {"value": 120, "unit": "mmHg"}}],
    }
    assert check_structure(obs) == []


def test_non_object_input_is_an_issue_not_an_exception() -> None:
    assert _exprs(check_structure([], "Bundle.entry[0].resource")) == [  # type: ignore[arg-type]
        "Bundle.entry[0].resource"
    ]


# --- rule 1: JSON representation -----------------------------------------------------------


def test_null_property_is_reported_at_the_element() -> None:
    issue = _only(check_structure({"resourceType": "Bundle", "type": "collection", "meta": None}))
    assert issue.expression == "Bundle.meta"
    assert "null" in issue.message


def test_null_padding_a_primitive_array_against_its_extensions_is_allowed() -> None:
    qualifier = {
        "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
        "valueCode": "BR",
    }
    name = {"given": ["Ann", None], "_given": [None, {"extension": [qualifier]}]}
    assert check_structure({"resourceType": "Patient", "name": [name]}) == []


def test_null_in_an_array_without_an_aligned_partner_is_an_error() -> None:
    res: dict[str, Any] = {"resourceType": "Patient", "name": [{"given": ["Ann", None]}]}
    assert _exprs(check_structure(res)) == ["Patient.name[0].given[1]"]
    res = {"resourceType": "Patient", "name": [{"given": ["Ann", None], "_given": [None, None]}]}
    assert "Patient.name[0].given[1]" in _exprs(check_structure(res))
    res = {"resourceType": "Patient", "identifier": [None]}
    assert _exprs(check_structure(res)) == ["Patient.identifier[0]"]


def test_primitive_and_extension_arrays_must_have_the_same_length() -> None:
    res = {"resourceType": "Patient", "name": [{"given": ["A", "B"], "_given": [None]}]}
    issue = _only(check_structure(res))
    assert issue.expression == "Patient.name[0].given"
    assert "same length" in issue.message


@pytest.mark.parametrize(
    ("resource", "expression"),
    [
        ({"resourceType": "Patient", "meta": {}}, "Patient.meta"),
        ({"resourceType": "Patient", "name": []}, "Patient.name"),
        ({"resourceType": "Patient", "gender": ""}, "Patient.gender"),
        ({"resourceType": "Patient", "gender": " \t\n"}, "Patient.gender"),
        ({"resourceType": "Patient", "name": [{"given": [""]}]}, "Patient.name[0].given[0]"),
        ({"resourceType": "Patient", "name": [{}]}, "Patient.name[0]"),
        # "_birthDate" carries birthDate's extensions: the element is Patient.birthDate
        ({"resourceType": "Patient", "_birthDate": {}}, "Patient.birthDate"),
    ],
)
def test_empty_values_are_not_allowed(resource: dict[str, Any], expression: str) -> None:
    assert _exprs(check_structure(resource)) == [expression]


def test_numbers_and_booleans_are_left_alone() -> None:
    res = {"resourceType": "Patient", "active": False, "multipleBirthInteger": 0}
    assert check_structure(res) == []


# --- rule 2: resource ids ------------------------------------------------------------------


def test_id_too_long_says_how_long() -> None:
    issue = _only(check_structure({"resourceType": "Patient", "id": "a" * 115}))
    assert issue.expression == "Patient.id"
    assert "115 characters" in issue.message


def test_id_of_64_characters_is_fine() -> None:
    assert check_structure({"resourceType": "Patient", "id": "A-z.9" * 12 + "abcd"}) == []


@pytest.mark.parametrize("bad", ["bad_id", "a b", "ré", "a/b", "a:b"])
def test_id_with_forbidden_characters(bad: str) -> None:
    issue = _only(check_structure({"resourceType": "Patient", "id": bad}))
    assert issue.expression == "Patient.id"
    assert issue.code == "invalid"


def test_ids_of_contained_and_bundled_resources_are_checked() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:5f3c4b4e-1c62-4a6e-9d0e-3a4e5b6c7d8e",
                "resource": {
                    "resourceType": "Condition",
                    "id": "ok",
                    "contained": [
                        {"resourceType": "Practitioner", "id": "fine"},
                        {"resourceType": "Practitioner", "id": "x" * 65},
                    ],
                },
            }
        ],
    }
    issue = _only(check_structure(bundle))
    assert issue.expression == "Bundle.entry[0].resource.contained[1].id"
    assert "65 characters" in issue.message


# --- rule 3: per-1 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "valid"),
    [
        ("2020", "2020-06", True),  # partial dates: earliest of start <= latest of end
        ("2020-07", "2020", True),
        ("2020-06", "2020-06-15", True),
        ("2020-06-30", "2020-06", True),
        ("2021", "2020-06", False),
        ("2020-07-01", "2020-06", False),
        ("2020-06-02", "2020-06-01", False),
        ("2020-06-01", "2020-06-01", True),
        ("2020-06-01T10:00:00+02:00", "2020-06-01T08:00:00Z", True),  # same instant
        ("2020-06-01T10:00:00+02:00", "2020-06-01T07:59:59Z", False),
        ("2020-06-01T10:00:00.500Z", "2020-06-01T10:00:00.499Z", False),
        ("2020-06-01T10:00:00", "2020-06-01T09:00:00", False),  # no offset: as written
        ("2020-06-01", "2020-06-02T00:30:00+02:00", True),
        ("2020-06-02", "2020-06-01T23:00:00Z", False),
        # a date and a time on the same day: R4 per-1 cannot be decided, the HL7 validator
        # fails it (encounter-period case), and so do we
        ("2023-06-21", "2023-06-21T06:20:00Z", False),
        ("2023-06", "2023-06-21T06:20:00Z", False),
        ("not a date", "2020", True),  # format errors are the models' job
    ],
)
def test_period_start_must_not_be_after_end(start: str, end: str, valid: bool) -> None:
    res = {"resourceType": "Encounter", "period": {"start": start, "end": end}}
    issues = check_structure(res)
    if valid:
        assert issues == []
    else:
        issue = _only(issues)
        assert (issue.expression, issue.code) == ("Encounter.period", "invariant")
        assert "per-1" in issue.message


def test_periods_are_found_anywhere_by_shape() -> None:
    bad = {
        "start": "2024-02-01",
        "end": "2024-01-01",
        "_end": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]},
    }
    res = {
        "resourceType": "MedicationRequest",
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": bad}}}],
    }
    assert _exprs(check_structure(res)) == [
        "MedicationRequest.dosageInstruction[0].timing.repeat.boundsPeriod"
    ]


def test_objects_that_are_not_periods_are_not_compared() -> None:
    # start/end alongside keys a Period cannot have: not a Period.
    res = {"resourceType": "X", "thing": {"start": "2024", "end": "2020", "value": 1}}
    assert check_structure(res) == []


# --- rule 4: narrative ---------------------------------------------------------------------


def _with_div(div: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "text": {"status": "generated", "div": div}}


def test_ordinary_narrative_is_fine() -> None:
    div = (
        f'<div {XHTML}><p>Ann <b>Smith</b>, born <span title="date">2001</span></p>'
        '<table class="grid"><tr><td colspan="2">x</td></tr></table>'
        '<a href="http://example.org/x">link</a><!-- a comment --></div>'
    )
    assert check_structure(_with_div(div)) == []


def test_narrative_with_only_an_image_has_content() -> None:
    div = f'<div {XHTML}><img src="data:image/png;base64,iVBORw0KGgo=" alt=""/></div>'
    assert check_structure(_with_div(div)) == []


@pytest.mark.parametrize(
    ("div", "fragment"),
    [
        (f"<div {XHTML}>x<script>alert(1)</script></div>", "<script>"),
        (f"<div {XHTML}>x<iframe src='http://a'/></div>", "<iframe>"),
        (f"<div {XHTML}>x<form/></div>", "<form>"),
        (f"<div {XHTML}>x<object/></div>", "<object>"),
        (f"<div {XHTML}>x<style>p{{}}</style></div>", "<style>"),
        (f'<div {XHTML}><p onclick="steal()">x</p></div>', "onclick"),
        (f'<div {XHTML}><a href="JavaScript:steal()">x</a></div>', "script URL"),
        (f'<div {XHTML}><a href=" java\tscript:steal()">x</a></div>', "script URL"),
        (f'<div {XHTML}><span foo="1">x</span></div>', "'foo'"),
        (f"<div {XHTML}><p><div>x</div></p></div>", "inside a <p>"),
        (f'<div {XHTML}><x:y xmlns:x="urn:x">x</x:y></div>', "not in the XHTML namespace"),
        (f"<div {XHTML}>  <p> </p> </div>", "txt-2"),
    ],
)
def test_narrative_txt_1_and_txt_2(div: str, fragment: str) -> None:
    issues = check_structure(_with_div(div))
    assert issues, div
    assert {i.expression for i in issues} == {"Patient.text.div"}
    assert any(fragment in i.message for i in issues), issues
    assert all(i.code == "invariant" for i in issues)


@pytest.mark.parametrize(
    ("div", "fragment"),
    [
        ("<div>x</div>", "namespace"),
        (f"<p {XHTML}>x</p>", "not <p>"),
        (f"<div {XHTML}><p>x</div>", "not well-formed"),
        (f"<div {XHTML}>a&nbsp;b</div>", "&#160;"),
        (f'<!DOCTYPE div [<!ENTITY e "x">]><div {XHTML}>&e;</div>', "DOCTYPE"),
        ("plain text", "not well-formed"),
    ],
)
def test_narrative_must_be_an_xhtml_div(div: str, fragment: str) -> None:
    issue = _only(check_structure(_with_div(div)))
    assert issue.expression == "Patient.text.div"
    assert fragment in issue.message


def test_narratives_of_contained_resources_and_sections_are_checked() -> None:
    bad = f"<div {XHTML}><script>x</script>y</div>"
    res = {
        "resourceType": "Composition",
        "contained": [{"resourceType": "Practitioner", "id": "p", "text": {"div": bad}}],
        "section": [{"title": "s", "text": {"status": "generated", "div": bad}}],
    }
    assert _exprs(check_structure(res)) == [
        "Composition.contained[0].text.div",
        "Composition.section[0].text.div",
    ]


# --- rule 5: Bundles -----------------------------------------------------------------------

U1 = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"
U2 = "urn:uuid:9b5a4e6f-2f1d-4b3c-8a7e-6d5c4b3a2f10"


def _bundle(btype: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": btype, "entry": list(entries)}


@pytest.mark.parametrize(
    "full_url", ["Patient/1", "1a19a371-91b8-4a1d-9bb0-e8a997baa655", "/Patient/1"]
)
def test_full_url_must_be_absolute(full_url: str) -> None:
    res = _bundle("collection", {"fullUrl": full_url, "resource": {"resourceType": "Patient"}})
    issue = _only(check_structure(res))
    assert issue.expression == "Bundle.entry[0].fullUrl"
    assert full_url in issue.message


@pytest.mark.parametrize(
    "full_url", ["http://a.org/fhir/Patient/1", "https://a.org/Patient/1", U1, "urn:oid:1.2.3.4"]
)
def test_absolute_full_urls_are_fine(full_url: str) -> None:
    res = _bundle("collection", {"fullUrl": full_url, "resource": {"resourceType": "Patient"}})
    assert check_structure(res) == []


def test_full_url_must_not_be_version_specific() -> None:
    res = _bundle(
        "collection",
        {
            "fullUrl": "http://a.org/Patient/1/_history/2",
            "resource": {"resourceType": "Patient", "id": "1"},
        },
    )
    assert "bdl-8" in _only(check_structure(res)).message


def test_duplicate_full_urls() -> None:
    pat = {"resourceType": "Patient", "id": "1"}
    entries = [{"fullUrl": "http://a.org/Patient/1", "resource": pat}] * 2
    issue = _only(check_structure(_bundle("collection", *entries)))
    assert issue.expression == "Bundle.entry[1].fullUrl"
    assert "bdl-7" in issue.message
    # versions of one resource in a history bundle are expected
    assert check_structure(_bundle("history", *entries)) == []


def test_same_full_url_with_different_versions_is_allowed_by_bdl_7() -> None:
    def version(vid: str) -> dict[str, Any]:
        return {
            "fullUrl": "http://a.org/Patient/1",
            "resource": {"resourceType": "Patient", "id": "1", "meta": {"versionId": vid}},
        }

    assert check_structure(_bundle("collection", version("1"), version("2"))) == []


@pytest.mark.parametrize("btype", ["document", "message", "transaction", "batch"])
def test_unresolved_urn_uuid_reference(btype: str) -> None:
    res = _bundle(
        btype,
        {"fullUrl": U1, "resource": {"resourceType": "Observation", "subject": {"reference": U2}}},
    )
    issue = _only(check_structure(res))
    assert issue.expression == "Bundle.entry[0].resource.subject"
    assert f"Can't find {U2} in the bundle" in issue.message


def test_resolved_urn_uuid_reference_and_other_bundle_types() -> None:
    obs = {"fullUrl": U1, "resource": {"resourceType": "Observation", "subject": {"reference": U2}}}
    pat = {"fullUrl": U2, "resource": {"resourceType": "Patient"}}
    assert check_structure(_bundle("transaction", obs, pat)) == []
    # a collection or searchset need not be self-contained
    assert check_structure(_bundle("collection", obs)) == []
    assert check_structure(_bundle("searchset", obs)) == []


def test_nested_bundle_references_resolve_inside_the_nested_bundle() -> None:
    inner = _bundle(
        "document",
        {"fullUrl": U2, "resource": {"resourceType": "Composition", "subject": {"reference": U1}}},
    )
    outer = _bundle("message", {"fullUrl": U1, "resource": inner})
    issue = _only(check_structure(outer))
    assert issue.expression == "Bundle.entry[0].resource.entry[0].resource.subject"


def test_document_reference_matching_two_entries() -> None:
    comp: dict[str, Any] = {
        "fullUrl": "http://a.org/Composition/c",
        "resource": {
            "resourceType": "Composition",
            "id": "c",
            "subject": {"reference": "Patient/p"},
            "section": [{"entry": [{"reference": "Observation/o"}]}],
        },
    }

    def obs(vid: str) -> dict[str, Any]:
        return {
            "fullUrl": "http://a.org/Observation/o",
            "resource": {"resourceType": "Observation", "id": "o", "meta": {"versionId": vid}},
        }

    pat = {"fullUrl": "http://a.org/Patient/p", "resource": {"resourceType": "Patient", "id": "p"}}
    issue = _only(check_structure(_bundle("document", comp, obs("1"), obs("2"), pat)))
    assert issue.expression == "Bundle.entry[0].resource.section[0].entry[0]"
    assert "Found 2 matches for 'Observation/o'" in issue.message
    # a version-specific reference picks one of them...
    comp["resource"]["section"][0]["entry"][0]["reference"] = "Observation/o/_history/2"
    assert check_structure(_bundle("document", comp, obs("1"), obs("2"), pat)) == []
    # ...and must match one
    comp["resource"]["section"][0]["entry"][0]["reference"] = "Observation/o/_history/3"
    issue = _only(check_structure(_bundle("document", comp, obs("1"), obs("2"), pat)))
    assert "Can't find 'Observation/o/_history/3'" in issue.message


def test_document_relative_references_resolve_against_the_entry_base() -> None:
    """Same type/id on two servers: the referring entry's fullUrl base decides."""
    comp = {
        "fullUrl": "http://a.org/Composition/c",
        "resource": {
            "resourceType": "Composition",
            "id": "c",
            "subject": {"reference": "Patient/p"},
        },
    }
    pat = {"resourceType": "Patient", "id": "p"}
    pat_a = {"fullUrl": "http://a.org/Patient/p", "resource": pat}
    pat_b = {"fullUrl": "http://b.org/Patient/p", "resource": pat}
    assert check_structure(_bundle("document", comp, pat_a, pat_b)) == []
    # with a urn fullUrl there is no base: type and id are all we have
    comp["fullUrl"] = U1
    assert (
        "Found 2 matches" in _only(check_structure(_bundle("document", comp, pat_a, pat_b))).message
    )


def test_narrative_link_fragments_must_resolve_once() -> None:
    div = f'<div {XHTML}><p id="a1">Peanut</p><p id="a2">Dust</p></div>'
    comp: dict[str, Any] = {
        "fullUrl": U1,
        "resource": {
            "resourceType": "Composition",
            "text": {"div": div},
            "section": [{"text": {"div": div}}],
        },
    }

    def allergy(fragment: str) -> dict[str, Any]:
        return {
            "fullUrl": U2,
            "resource": {
                "resourceType": "AllergyIntolerance",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/narrativeLink",
                        "valueUrl": f"{U1}#{fragment}",
                    }
                ],
            },
        }

    comp["resource"]["section"][0]["text"]["div"] = f'<div {XHTML}><p id="a1">Peanut</p></div>'
    assert check_structure(_bundle("document", comp, allergy("a2"))) == []
    missing = _only(check_structure(_bundle("document", comp, allergy("zz"))))
    assert missing.expression == "Bundle.entry[1].resource.extension[0].valueUrl"
    assert "Can't find '#zz'" in missing.message
    twice = _only(check_structure(_bundle("document", comp, allergy("a1"))))
    assert "Found 2 matches for '#a1'" in twice.message


# --- rule 6: extension urls ----------------------------------------------------------------


def _patient_ext(*extensions: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Patient", "extension": list(extensions)}


def test_extension_url_must_be_absolute() -> None:
    issue = _only(check_structure(_patient_ext({"url": "congregation", "valueString": "x"})))
    assert issue.expression == "Patient.extension[0].url"


def test_parts_of_a_complex_extension_may_use_simple_names() -> None:
    ext = {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-animal",
        "extension": [{"url": "species", "valueCodeableConcept": {"text": "dog"}}],
    }
    assert check_structure(_patient_ext(ext)) == []


def test_extension_url_must_not_be_versioned() -> None:
    ext = {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-congregation|4.0.0",
        "valueString": "x",
    }
    issue = _only(check_structure(_patient_ext(ext)))
    assert (issue.expression, issue.code) == ("Patient.extension[0].url", "invalid")


def test_extension_url_is_required() -> None:
    issue = _only(
        check_structure({"resourceType": "Patient", "modifierExtension": [{"valueString": "x"}]})
    )
    assert (issue.expression, issue.code) == ("Patient.modifierExtension[0]", "required")


def test_example_domain_extension_urls_are_accepted_by_default() -> None:
    """Official HL7 R4 examples use them (see NEEDS_EXAMPLE_URL_RULE)."""
    ext = {"url": "http://example.org/fhir/StructureDefinition/something", "valueString": "x"}
    assert check_structure(_patient_ext(ext)) == []


def test_family_name_part_extensions_belong_on_family() -> None:
    mothers = {
        "url": "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family",
        "valueString": "Garcia",
    }
    on_name = {
        "resourceType": "Patient",
        "name": [{"family": "Lopez Garcia", "extension": [mothers]}],
    }
    issue = _only(check_structure(on_name))
    assert issue.expression == "Patient.name[0].extension[0]"
    assert "HumanName.family" in issue.message
    on_family = {
        "resourceType": "Patient",
        "name": [{"family": "Lopez Garcia", "_family": {"extension": [mothers]}}],
    }
    assert check_structure(on_family) == []


def test_birth_time_belongs_on_birth_date() -> None:
    birth_time = {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        "valueDateTime": "2024-01-01T03:04:00+03:00",
    }
    ok = {
        "resourceType": "Patient",
        "birthDate": "2024-01-01",
        "_birthDate": {"extension": [birth_time]},
    }
    assert check_structure(ok) == []
    assert _exprs(check_structure(_patient_ext(birth_time))) == ["Patient.extension[0]"]


def test_narrative_link_must_be_a_url() -> None:
    ext = {"url": "http://hl7.org/fhir/StructureDefinition/narrativeLink", "valueUri": "#a"}
    assert _exprs(check_structure(_patient_ext(ext))) == ["Patient.extension[0].valueUri"]


# --- robustness ----------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["2020", "2020-06-01T10:00:00Z", U1, "Patient/1", f"<div {XHTML}>x</div>"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "id",
                    "entry",
                    "resource",
                    "fullUrl",
                    "type",
                    "reference",
                    "extension",
                    "url",
                    "start",
                    "end",
                    "div",
                    "text",
                    "given",
                    "_given",
                    "contained",
                    "valueUri",
                    "meta",
                    "versionId",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["resourceType", "type", "entry", "id", "text"]), _json, max_size=4
    ),
    btype=st.sampled_from(["Bundle", "Patient", 7]),
)
def test_never_raises_on_arbitrary_json(body: dict[str, Any], btype: Any) -> None:
    body.setdefault("resourceType", btype)
    issues = check_structure(body, "Root")
    assert all(isinstance(i, StructuralIssue) and i.expression.startswith("Root") for i in issues)


def test_deep_nesting_is_reported_not_raised() -> None:
    node: dict[str, Any] = {"a": 1}
    for _ in range(5000):
        node = {"x": node}
    issue = _only(check_structure({"resourceType": "Basic", "deep": node}))
    assert "nested too deeply" in issue.message
