"""LightGBM's side of scripts/bench-evaluator.

For each benchmark model it writes, into OUT_DIR:

  NAME.txt        the model (the demand-forecast example's booster as it is,
                  or one trained here)
  NAME.rows.csv   the rows, one per line, every value repr()-exact
  NAME.want.csv   LightGBM's prediction of each row, repr()-exact

and prints one JSON line per model with LightGBM's best batch throughput:
Booster.predict on the whole float64 matrix with num_threads=1, best of
--repeat runs. Run it on one core (taskset -c 0) so both sides are measured
alike.

    python bench-evaluator.py --demand MODEL.lgb --rows 20000 OUT_DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np


def demand_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows shaped like the demand-forecast example's features."""
    doy = rng.integers(1, 367, size=n)
    month = np.minimum(12, (doy - 1) // 31 + 1)
    return np.column_stack([
        rng.integers(0, 40, size=n),  # store_id, categorical
        rng.integers(0, 2, size=n),  # promo
        rng.integers(0, 7, size=n),  # day_of_week
        doy,
        month,
    ]).astype(np.float64)


def trained_model(rng: np.random.Generator, n_rows: int) -> tuple[lgb.Booster, np.ndarray]:
    """A larger model: 500 trees of 63 leaves over 20 numeric features, 5% NaN."""
    X = rng.normal(size=(20000, 20))
    y = X[:, 0] * 2 + np.sin(X[:, 1] * 3) + X[:, 2] * X[:, 3] + 0.3 * rng.normal(size=len(X))
    X[rng.random(X.shape) < 0.05] = np.nan
    params = {"objective": "regression", "num_leaves": 63, "learning_rate": 0.05, "min_data_in_leaf": 5,
              "seed": 1, "deterministic": True, "num_threads": 1, "verbosity": -1}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=500)
    rows = rng.normal(size=(n_rows, 20))
    rows[rng.random(rows.shape) < 0.05] = np.nan
    return booster, rows


def best_rows_per_s(booster: lgb.Booster, X: np.ndarray, repeat: int) -> tuple[float, np.ndarray]:
    pred = booster.predict(X, num_threads=1)  # warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        pred = booster.predict(X, num_threads=1)
        best = min(best, time.perf_counter() - t0)
    return len(X) / best, pred


def write_csv(path: Path, a: np.ndarray) -> None:
    a = a.reshape(len(a), -1)
    path.write_text("".join(",".join(repr(float(v)) for v in row) + "\n" for row in a))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--demand", type=Path, required=True, help="the demand-forecast example's model.lgb")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    models = {
        "demand-forecast-v2": (lgb.Booster(model_file=str(args.demand)), demand_rows(rng, args.rows)),
        "trained-500x63": trained_model(rng, args.rows),
    }
    for name, (booster, X) in models.items():
        booster.save_model(str(args.out / f"{name}.txt"))
        rate, pred = best_rows_per_s(booster, X, args.repeat)
        write_csv(args.out / f"{name}.rows.csv", X)
        write_csv(args.out / f"{name}.want.csv", pred)
        print(json.dumps({"model": name, "rows": len(X), "trees": booster.num_trees(), "lightgbm_rows_per_s": rate}), flush=True)


if __name__ == "__main__":
    main()
