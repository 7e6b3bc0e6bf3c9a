"""Train many LightGBM models and record LightGBM's own predictions of them.

TestFidelity (fidelity_test.go) runs this at test time with the MLflow
virtualenv's python (lightgbm 4.6.0, numpy 2.x):

    python fidelity.py OUT_DIR

For every model NAME it writes into OUT_DIR:

  NAME.txt       the model, as Booster.save_model writes it
  NAME.rows.csv  the rows it was asked to predict, one per line
  NAME.pred.csv  Booster.predict of each row (one value per output)
  NAME.raw.csv   Booster.predict(raw_score=True) of each row

Every float is written with repr(), so it reads back bit for bit; nan and
inf are written as such. OUT_DIR/models lists the names, one a line.

The models cross every objective with variants of the data and tree shape:
NaN-heavy numeric features, a categorical feature, zero_as_missing,
use_missing=false, small and large trees; plus six linear_tree models.
The rows mix random ones with the awkward ones: every numeric split's
threshold and its two float64 neighbours, NaN, +-inf, 0, -0.0, values within
kZeroThreshold of zero, and negative, fractional, unseen and out-of-int32
category codes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np

N_TRAIN = 400
N_RANDOM = 80
MAX_SPLIT_ROWS = 60  # distinct (feature, threshold) pairs probed per model
CAT = 3  # the categorical feature's column in the categorical variant
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, 1.0000000180025095e-35]
CAT_SPECIAL = [-1.0, -0.5, 0.7, 39.0, 40.0, 63.9, 64.0, 100.0, 2.0**31, 1e10, np.nan]

OBJECTIVES = [
    "regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma", "tweedie",
    "binary", "cross_entropy", "cross_entropy_lambda", "multiclass", "multiclassova", "lambdarank",
    "rank_xendcg", "rf", "rf_binary",  # rf*: boosting=rf with objective regression, binary
]
VARIANTS = {
    "nan": {"num_leaves": 31},
    "cat": {"num_leaves": 15, "min_data_per_group": 5, "cat_smooth": 1, "max_cat_to_onehot": 4},
    "zero": {"num_leaves": 7, "zero_as_missing": True},
    "nomissing": {"num_leaves": 63, "min_data_in_leaf": 3, "use_missing": False},
}

# linear_tree models: (objective, variant).
LINEAR = [("regression", "nan"), ("binary", "nan"), ("regression", "cat"), ("multiclass", "nan"),
          ("poisson", "nomissing"), ("huber", "nan")]


def features(rng: np.random.Generator, n: int) -> np.ndarray:
    """f0 NaN-heavy, f1 often exactly 0, f2 and f4 dense, f3 integer codes 0..39."""
    X = rng.normal(size=(n, 5))
    X[rng.random(n) < 0.2, 0] = np.nan
    X[rng.random(n) < 0.3, 1] = 0.0
    X[:, 3] = rng.integers(0, 40, size=n)
    return X


def base_objective(objective: str) -> str:
    return {"rf": "regression", "rf_binary": "binary"}.get(objective, objective)


def label(objective: str, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    objective = base_objective(objective)
    s = np.nan_to_num(X[:, 0], nan=1.0) + np.where(X[:, 1] == 0, 2.0, X[:, 1]) + np.sin(X[:, 2]) + (X[:, 3] % 7) / 3
    s = s + 0.2 * rng.normal(size=len(s))
    if objective in ("binary",):
        return (s > np.median(s)).astype(float)
    if objective in ("cross_entropy", "cross_entropy_lambda"):
        return 1 / (1 + np.exp(-(s - s.mean())))
    if objective in ("multiclass", "multiclassova"):
        return np.digitize(s, np.quantile(s, [0.25, 0.5, 0.75])).astype(float)
    if objective in ("lambdarank", "rank_xendcg"):
        return np.digitize(s, np.quantile(s, [0.4, 0.7, 0.9])).astype(float)
    if objective in ("poisson", "tweedie"):
        return rng.poisson(np.exp(s / 3)).astype(float)
    if objective in ("gamma", "mape"):
        return np.exp(s / 3) + 0.1
    return s


def params(objective: str, variant: str) -> dict:
    p = {"objective": base_objective(objective), "seed": 3, "deterministic": True, "num_threads": 1, "verbosity": -1,
         "force_row_wise": True, "min_data_in_leaf": 5, "learning_rate": 0.1}
    p.update(VARIANTS[variant])
    if objective in ("multiclass", "multiclassova"):
        p["num_class"] = 4
    if objective.startswith("rf"):
        p.update(boosting="rf", bagging_fraction=0.7, bagging_freq=1, feature_fraction=0.8)
    return p


def train(objective: str, variant: str, rng: np.random.Generator) -> lgb.Booster:
    X = features(rng, N_TRAIN)
    y = label(objective, X, rng)
    kw = {"categorical_feature": [CAT]} if variant == "cat" else {}
    ds = lgb.Dataset(X, y, group=[20] * (N_TRAIN // 20) if "rank" in objective else None, **kw)
    rounds = 8 if variant == "nomissing" else 25
    return lgb.train(params(objective, variant), ds, num_boost_round=rounds)


def numeric_splits(booster: lgb.Booster) -> list[tuple[int, float]]:
    found: dict[tuple[int, float], None] = {}

    def walk(node: dict) -> None:
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            found[(node["split_feature"], float(node["threshold"]))] = None
        walk(node["left_child"])
        walk(node["right_child"])

    for t in booster.dump_model()["tree_info"]:
        walk(t["tree_structure"])
    return list(found)[:MAX_SPLIT_ROWS]


def probe_rows(booster: lgb.Booster, rng: np.random.Generator, categorical: bool) -> np.ndarray:
    """Random rows, then rows that sit on and beside every split, then special values."""
    rows = [features(rng, N_RANDOM)]
    base = features(rng, 1)[0]
    for f, thr in numeric_splits(booster):
        for v in (thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf)):
            r = base.copy()
            r[f] = v
            rows.append(r[None, :])
    for f in range(5):
        for v in (CAT_SPECIAL if categorical and f == CAT else SPECIAL):
            r = features(rng, 1)[0]
            r[f] = v
            rows.append(r[None, :])
    rows.append(np.full((1, 5), np.nan))
    rows.append(np.zeros((1, 5)))
    return np.vstack(rows)


def write_csv(path: Path, a: np.ndarray) -> None:
    a = a.reshape(len(a), -1)
    path.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in a))


def save(out: Path, name: str, booster: lgb.Booster, X: np.ndarray) -> None:
    booster.save_model(str(out / f"{name}.txt"))
    write_csv(out / f"{name}.rows.csv", X)
    write_csv(out / f"{name}.pred.csv", booster.predict(X, num_threads=1))
    write_csv(out / f"{name}.raw.csv", booster.predict(X, raw_score=True, num_threads=1))


def linear_tree(objective: str, variant: str, rng: np.random.Generator) -> lgb.Booster:
    X = features(rng, N_TRAIN)
    y = label(objective, X, rng)
    p = params(objective, variant)
    p["linear_tree"] = True
    kw = {"categorical_feature": [CAT]} if variant == "cat" else {}
    return lgb.train(p, lgb.Dataset(X, y, **kw), num_boost_round=10)


def main() -> None:
    out = Path(sys.argv[1])
    rng = np.random.default_rng(2026)
    names = []
    for objective in OBJECTIVES:
        for variant in VARIANTS:
            name = f"{objective}-{variant}"
            booster = train(objective, variant, rng)
            save(out, name, booster, probe_rows(booster, rng, variant == "cat"))
            names.append(name)
    for objective, variant in LINEAR:
        name = f"{objective}-{variant}-linear"
        booster = linear_tree(objective, variant, rng)
        save(out, name, booster, probe_rows(booster, rng, variant == "cat"))
        names.append(name)
    (out / "models").write_text("".join(n + "\n" for n in names))


if __name__ == "__main__":
    main()
