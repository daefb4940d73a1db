"""The registry of predictive models: the ``predictive_models`` table.

Each training stores a new version of a model's name with its target, training window, feature
spec, features, parameters (with what the training was asked, so that it can be retrained), metrics,
warnings, the training baseline (the bins of the score and of each feature, for monitoring) and
the fitted estimator (joblib, as base64 text).
The estimator is unpickled when it is read: a datamart is trusted like the code that reads it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

import joblib

from clientela.datamart import Datamart
from clientela.errors import NotFoundError, suggest
from clientela.models._estimators import PropensityModel
from clientela.models._evaluation import CalibrationBin, Decile, Evaluation
from clientela.models._features import FeatureSpec
from clientela.models._labels import Target
from clientela.models._monitoring import Baseline

__all__ = [
    "StoredModel",
    "load_model",
    "model_names",
    "model_versions",
    "next_version",
    "save_model",
]


@dataclass(frozen=True)
class StoredModel:
    """A trained version of a predictive model, as the registry holds it."""

    name: str
    version: int
    target: Target
    algorithm: str
    cutoff: dt.date
    spec: FeatureSpec
    features: tuple[str, ...]
    parameters: dict[str, Any]
    evaluation: Evaluation
    warnings: tuple[str, ...]
    examples: int
    positives: int
    created_at: dt.datetime
    estimator: PropensityModel | None = None
    baseline: Baseline | None = None

    @property
    def kind(self) -> str:
        return self.target.kind


def _dump(estimator: PropensityModel) -> str:
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=3)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _load(text: str) -> PropensityModel:
    estimator = joblib.load(io.BytesIO(base64.b64decode(text)))
    if not isinstance(estimator, PropensityModel):
        raise NotFoundError("the stored estimator is not a clientela PropensityModel")
    return estimator


def next_version(dm: Datamart, name: str) -> int:
    rows = dm.sql("SELECT max(version) FROM predictive_models WHERE name = ?", [name])
    return int(rows[0][0] or 0) + 1


def save_model(dm: Datamart, model: StoredModel) -> None:
    if model.estimator is None:
        raise ValueError("a model is saved with its fitted estimator")
    dm.sql(
        "INSERT INTO predictive_models (name, version, kind, algorithm, target, cutoff, "
        "outcome_days, feature_spec, features, parameters, metrics, warnings, examples, "
        "positives, created_at, estimator, baseline) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            model.name,
            model.version,
            model.kind,
            model.algorithm,
            json.dumps(asdict(model.target)),
            model.cutoff,
            model.target.outcome_days,
            json.dumps(asdict(model.spec)),
            json.dumps(list(model.features)),
            json.dumps(model.parameters),
            json.dumps(asdict(model.evaluation)),
            json.dumps(list(model.warnings)),
            model.examples,
            model.positives,
            model.created_at,
            _dump(model.estimator),
            None if model.baseline is None else json.dumps(model.baseline.to_dict()),
        ],
    )


def model_names(dm: Datamart) -> list[str]:
    return [str(row[0]) for row in dm.sql("SELECT DISTINCT name FROM predictive_models")]


def model_versions(dm: Datamart, name: str) -> list[int]:
    """The stored versions of a model, oldest first."""
    rows = dm.sql("SELECT version FROM predictive_models WHERE name = ? ORDER BY version", [name])
    return [int(row[0]) for row in rows]


def _evaluation(document: dict[str, Any]) -> Evaluation:
    document = dict(document)
    document["deciles"] = tuple(Decile(**d) for d in document["deciles"])
    document["calibration"] = tuple(CalibrationBin(**c) for c in document["calibration"])
    document["fold_roc_auc"] = tuple(document.get("fold_roc_auc", ()))
    return Evaluation(**document)


def _tuples(document: dict[str, Any], cls: type) -> dict[str, Any]:
    """JSON lists back to the tuples of a frozen dataclass's fields."""
    names = {f.name for f in fields(cls)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in document.items() if k in names}


def load_model(
    dm: Datamart, name: str, version: int | None = None, *, with_estimator: bool = True
) -> StoredModel:
    """A stored version (the newest by default); NotFoundError with the close match."""
    columns = (
        "name, version, algorithm, target, cutoff, feature_spec, features, parameters, metrics, "
        "warnings, examples, positives, created_at, baseline"
        + (", estimator" if with_estimator else "")
    )
    if version is None:
        query = (
            f"SELECT {columns} FROM predictive_models WHERE name = ? ORDER BY version DESC LIMIT 1"
        )
        rows = dm.records(query, [name])
    else:
        query = f"SELECT {columns} FROM predictive_models WHERE name = ? AND version = ?"
        rows = dm.records(query, [name, version])
    if not rows:
        known = model_names(dm)
        if name in known:
            raise NotFoundError(f"model '{name}' has no version {version}")
        listed = ", ".join(sorted(known)) or "none yet: train one with 'clientela model train'"
        raise NotFoundError(
            f"no predictive model '{name}'{suggest(name, known)}; the models are: {listed}"
        )
    row = rows[0]
    cutoff = row["cutoff"]
    created = row["created_at"]
    return StoredModel(
        name=str(row["name"]),
        version=int(row["version"]),
        target=Target(**_tuples(json.loads(row["target"]), Target)),
        algorithm=str(row["algorithm"]),
        cutoff=cutoff if isinstance(cutoff, dt.date) else dt.date.fromisoformat(str(cutoff)),
        spec=FeatureSpec(**_tuples(json.loads(row["feature_spec"]), FeatureSpec)),
        features=tuple(json.loads(row["features"])),
        parameters=dict(json.loads(row["parameters"])),
        evaluation=_evaluation(json.loads(row["metrics"])),
        warnings=tuple(json.loads(row["warnings"])),
        examples=int(row["examples"]),
        positives=int(row["positives"]),
        created_at=created
        if isinstance(created, dt.datetime)
        else dt.datetime.fromisoformat(str(created)),
        estimator=_load(row["estimator"]) if with_estimator else None,
        baseline=Baseline.from_dict(json.loads(row["baseline"])) if row["baseline"] else None,
    )
