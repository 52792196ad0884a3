"""Sanctions screening throughput against the full SDN list (8,976 entries + alternate names).

Run ``python -m bench.screening_speed`` from the repository root. Reads the OFAC files from
``../shared/reference/ofac`` (or ``$CAAS_REFERENCE_DIR/ofac``). Prints human-readable figures;
the last line is one JSON object.

Figures:
* applicant names: made-up names of the platform's markets, drawn with Zipf-like weights so
  that first names and surnames recur as they do in real traffic; the index's word cache warms
  up as it would in a long-running worker.
* cold: the same names with the word cache emptied before every search (the worst case).
* misspelt listed names: listed names with one letter changed, most of which are hits.
* recall: hits of the index against scoring every listed name, on misspelt listed names.
* pure decision: screening plus the form mapping and the scorecard, without the database.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caas.credit.scorecard import application_attributes, read_german, train  # noqa: E402
from caas.screening.matcher import SanctionsIndex  # noqa: E402
from caas.screening.sdn import load_sdn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 3.0

FIRST = ("Chinedu Ngozi Oluwaseun Amina Emeka Funmilayo Adebayo Chiamaka Ibrahim Aisha Musa Fatima Yusuf Zainab "
         "Kwame Akosua Kofi Ama Yaw Abena Kojo Efua Wanjiru Kipchoge Njeri Otieno Achieng Kamau Mwangi Wambui "
         "John Mary James Patricia Michael Jennifer David Linda Peter Grace Paul Sarah Daniel Esther Samuel "
         "Mohammed Ahmed Ali Hassan Omar Leila Fatma Mustafa Jose Maria Carlos Ana Luis Sofia Wei Li Hiroshi "
         "Yuki Ivan Olga Dmitri Hans Anna Pierre Sophie Thomas Elizabeth Joseph Victoria Emmanuel Blessing").split()
LAST = ("Okafor Adeyemi Okonkwo Nwosu Bello Abdullahi Ogunleye Eze Balogun Mohammed Usman Olawale Chukwu Ibekwe "
        "Mensah Owusu Boateng Asante Acheampong Osei Agyeman Kamau Otieno Mwangi Njoroge Ochieng Wanjala Kiprono "
        "Smith Johnson Williams Brown Jones Taylor Davies Wilson Evans Thomas Roberts Walker Wright Green Hall "
        "Khan Hussein Ahmed Ali Hassan Garcia Rodriguez Martinez Lopez Wang Zhang Chen Tanaka Ivanov Petrov "
        "Muller Schmidt Dubois Martin Ndlovu Dlamini Nkosi Banda Phiri Mutua Kariuki Oyelaran Afolabi Danjuma").split()


def reference_dir() -> Path:
    return Path(os.environ.get("CAAS_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")


def zipf_choice(rng: random.Random, words: list[str]) -> str:
    return rng.choices(words, weights=[1 / (rank + 1) for rank in range(len(words))])[0]


def applicant_names(rng: random.Random, count: int) -> list[str]:
    names = []
    for _ in range(count):
        parts = [zipf_choice(rng, FIRST)]
        if rng.random() < 0.3:
            parts.append(zipf_choice(rng, FIRST))
        parts.append(zipf_choice(rng, LAST))
        names.append(" ".join(parts))
    return names


def misspelt(rng: random.Random, name: str) -> str:
    chars = list(name)
    position = rng.randrange(len(chars))
    chars[position] = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return "".join(chars)


def rate(queries: list[str], search, seconds: float = SECONDS) -> tuple[float, int]:
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        search(queries[done % len(queries)])
        done += 1
    return done / elapsed, done


def main() -> None:
    ofac = reference_dir() / "ofac"
    started = time.perf_counter()
    entries = load_sdn(ofac / "sdn.csv", ofac / "alt.csv")
    loaded = time.perf_counter()
    index = SanctionsIndex(entries)
    built = time.perf_counter()
    print(f"list: {len(entries)} entries, {len(index)} distinct names; parsed in {loaded - started:.2f} s, "
          f"indexed in {built - loaded:.2f} s")
    rng = random.Random(2026)
    applicants = applicant_names(rng, 2000)
    listed = [misspelt(rng, rng.choice(entries).name) for _ in range(500)]
    figures: dict[str, float] = {}

    per_second, runs = rate(applicants, lambda name: index.search(name, date(1985, 6, 1)))
    figures["screenings_per_s"] = round(per_second, 1)
    figures["ms_per_screening"] = round(1000 / per_second, 3)
    print(f"applicant names, default threshold 85: {per_second:8.1f} screenings/s "
          f"({1000 / per_second:.3f} ms each, {runs} runs)")

    def cold(name: str):
        index.clear_cache()
        return index.search(name)

    per_second, runs = rate(applicants, cold)
    figures["cold_screenings_per_s"] = round(per_second, 1)
    print(f"applicant names, word cache emptied each time: {per_second:8.1f} screenings/s ({runs} runs)")

    per_second, runs = rate(listed, index.search)
    figures["misspelt_listed_per_s"] = round(per_second, 1)
    hit_share = sum(bool(index.search(name)) for name in listed[:200]) / 200
    print(f"misspelt listed names: {per_second:8.1f} screenings/s ({runs} runs; {hit_share:.0%} of them are hits)")

    found = expected = 0
    for name in listed[:20]:
        fast = {hit.ent_num for hit in index.search(name, limit=None)}
        slow = {hit.ent_num for hit in index.search(name, limit=None, exhaustive=True)}
        found, expected = found + len(fast & slow), expected + len(slow)
    figures["recall_vs_exhaustive"] = round(found / expected, 4) if expected else 1.0
    print(f"recall against scoring every listed name (20 misspelt listed names, threshold 85): "
          f"{found}/{expected}")

    rows, labels = read_german(reference_dir() / "german_train.data")
    model = train(rows, labels, cross_validation=False)
    application = {"amount_minor": 150_000_00, "currency": "NGN", "term_months": 12, "purpose": "business",
                   "employment_status": "self_employed", "months_employed": 40, "housing": "rent",
                   "monthly_net_income_minor": 120_000_00, "monthly_expenses_minor": 50_000_00,
                   "existing_debt_payments_minor": 0, "date_of_birth": "1988-02-11", "existing_credits": 1}

    def decision(name: str):
        hits = index.search(name, date(1988, 2, 11))
        return hits, model.predict(application_attributes(application, as_of=date(2026, 1, 1)))

    per_second, runs = rate(applicants, decision)
    figures["pure_decisions_per_s"] = round(per_second, 1)
    print(f"screening + form mapping + scorecard (no database): {per_second:8.1f} decisions/s ({runs} runs)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
