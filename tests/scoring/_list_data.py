"""Contact lists of the toy store's customers (examples/toy_store), as CRMs export them.

The toy store's scores as of 2026-11-01 are worked by hand in test_toy_store.py; its model
``toy_store`` has levels high from 60 and medium from 40.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest import load_folder

REPO = Path(__file__).resolve().parents[2]
TOY_STORE = REPO / "examples" / "toy_store"
AS_OF = dt.date(2026, 11, 1)

# profile: score as of AS_OF (test_toy_store.HAND_WORKED)
SCORES = {
    "C001": 43.0, "C002": 58.0, "C003": 81.0, "C004": 10.0, "C005": -5.0,
    "C006": 61.0, "C007": 62.0, "C008": 80.0, "C009": 2.0, "C010": 38.0,
}  # fmt: skip
EMAILS = {
    "C001": "ana.mora@example.cr", "C002": "luis.vargas@example.cr",
    "C003": "sofia.jimenez@example.cr", "C004": "carlos.rojas@example.cr",
    "C005": "maria.solis@example.cr", "C006": "jorge.castro@example.cr",
    "C007": "elena.quesada@example.cr", "C008": "diego.araya@example.cr",
    "C009": "valeria.chaves@example.cr", "C010": "andres.herrera@example.cr",
}  # fmt: skip


def phone(customer: str) -> str:
    return f"+5068801{int(customer[1:]):04d}"


def level(score: float) -> str:
    return "high" if score >= 60 else "medium" if score >= 40 else "low"


# A Spanish-language CRM export: headers in Spanish, phones in local (Costa Rican) formats,
# without the "+", an e-mail in capitals, a duplicate, strangers and rubbish.
CRM_ROWS = [
    ("Nombre", "Correo electrónico", "Teléfono"),
    ("Ana", "ANA.MORA@example.cr", ""),  # C001 by e-mail, capitals
    ("Luis", "", "8801 0002"),  # C002 by a local phone
    ("Sofía", "sofia.jimenez@example.cr", "+506 8801 0003"),  # C003 by both
    ("Carlos", "", "50688010004"),  # C004: international without "+"
    ("María", "maria.solis@example.cr", "8801-0005"),  # C005
    ("Jorge", "jorge.castro@example.cr", ""),  # C006
    ("Ana otra vez", "ana.mora@example.cr", "+50688010001"),  # duplicate of Ana
    ("Desconocida", "alguien@example.org", ""),  # no such customer
    ("Basura", "no-es-un-correo", "12"),  # neither valid
    ("Sin datos", "", ""),  # no e-mail or phone at all
    ("Elena", "elena.quesada@example.cr", ""),  # C007
]
# contact -> (profile, score) for the matched ones
CRM_MATCHED = {
    "ana.mora@example.cr": "C001",
    "+50688010002": "C002",
    "sofia.jimenez@example.cr": "C003",
    "+50688010004": "C004",
    "maria.solis@example.cr": "C005",
    "jorge.castro@example.cr": "C006",
    "elena.quesada@example.cr": "C007",
}
CRM_UNMATCHED = {
    "alguien@example.org": "no customer has this e-mail or phone",
    "no-es-un-correo": "'no-es-un-correo' is not an e-mail address",
    "line 11": "no e-mail or phone",
}


def write_csv(path: Path, rows: list[tuple[str, ...]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def load_toy_store(dm: Datamart, settings: Settings) -> Datamart:
    load_folder(dm, settings, TOY_STORE)
    return dm


def add_consents(dm: Datamart, rows: list[tuple[str, str, str, str, dt.datetime]]) -> None:
    """Consent records (customer, channel, purpose, status, recorded_at)."""
    dm.bulk_insert(
        "consents",
        pa.table(
            {
                "consent_id": pa.array([f"K{i}" for i in range(len(rows))], pa.string()),
                "customer_id": pa.array([r[0] for r in rows], pa.string()),
                "channel": pa.array([r[1] for r in rows], pa.string()),
                "purpose": pa.array([r[2] for r in rows], pa.string()),
                "status": pa.array([r[3] for r in rows], pa.string()),
                "recorded_at": pa.array([r[4] for r in rows], pa.timestamp("us")),
            }
        ),
    )
