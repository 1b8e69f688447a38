"""The engine's half of rule 5 (issue 14) on hand-built fact tables: a report card of a woman
a feed reports dead counts once; excluded or accidental deaths do not count; severe maternal
morbidity per live birth. Numbers worked by hand in the comments."""

from __future__ import annotations

from datetime import date

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute
from tests.indicators.tables import counts, death, make_facts, pregnancy


def test_an_entered_death_counts_once_per_woman() -> None:
    a, b = pregnancy(), pregnancy()  # two March deliveries, one live birth each
    fed = death(a, date(2025, 3, 20), woman_id=a[fact_tables.WOMAN_ID], entered=False)
    # the monitoring group's card for the same woman (a few days off) and one for a woman no
    # feed reports (her card's street S2)
    same_woman = death(
        a,
        date(2025, 3, 22),
        pregnancy_id="card-1",
        woman_id=a[fact_tables.WOMAN_ID],
        entered=True,
    )
    no_feed = death(
        b, date(2025, 3, 25), pregnancy_id="card-2", woman_id="card-2", entered=True, street="S2"
    )
    results = compute(make_facts([a, b], deaths=[fed, same_woman, no_feed]), "2025-03")
    # a's death once + the card-only death = 2 deaths / 2 live births
    assert counts(results, "maternal_mortality_ratio") == (2, 2)
    s2 = compute(make_facts([a, b], deaths=[fed, same_woman, no_feed]), "2025-03", area="S2")
    assert counts(s2, "maternal_mortality_ratio") == (1, 0)  # her card's street, no births there


def test_the_fed_death_decides_even_when_it_is_not_counted() -> None:
    # The feed's death of woman a is accidental (or excluded on review): maternal False. Her
    # card does not bring it back: one death, the fed one, and it does not count (0 / 1).
    a = pregnancy()
    fed = death(a, date(2025, 3, 20), maternal=False, woman_id=a[fact_tables.WOMAN_ID])
    card = death(
        a, date(2025, 3, 20), pregnancy_id="card-1", woman_id=a[fact_tables.WOMAN_ID], entered=True
    )
    fed["entered"] = False
    results = compute(make_facts([a], deaths=[fed, card]), "2025-03")
    assert counts(results, "maternal_mortality_ratio") == (0, 1)


def test_severe_maternal_morbidity_per_live_birth() -> None:
    # three women, four live births (twins), two near-miss women: 2 / 4 = 500 ‰
    rows = [
        pregnancy(severe_maternal_morbidity=True),
        pregnancy(severe_maternal_morbidity=True, live_births=2),
        pregnancy(severe_maternal_morbidity=False),
    ]
    result = compute(make_facts(rows), "2025-03")
    assert counts(result, "severe_maternal_morbidity_ratio") == (2, 4)
    smm = next(v for v in result if v.id == "severe_maternal_morbidity_ratio")
    assert smm.value == 500.0
    # a feed without the column: 0 near-miss women
    plain = compute(make_facts([pregnancy()]), "2025-03")
    assert counts(plain, "severe_maternal_morbidity_ratio") == (0, 1)
