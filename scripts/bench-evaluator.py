"""LightGBM's side of scripts/bench-evaluator.

prepare writes, for each benchmark model, into OUT_DIR:

  NAME.txt        the model (the demand-forecast example's booster as it is,
                  or one trained here)
  NAME.rows.csv   the rows, one per line, every value repr()-exact
  NAME.want.csv   LightGBM's prediction of each row, repr()-exact

and prints one JSON line per model (name, rows, trees). measure prints
LightGBM's best batch throughput on one prepared model: Booster.predict on
the whole float64 matrix with num_threads=1, best of --repeat runs. The
shell script runs measure under taskset, in turn with modelgate's side.

    python bench-evaluator.py prepare --demand MODEL.lgb --rows 20000 OUT_DIR
    python bench-evaluator.py measure OUT_DIR NAME
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


def prepare(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(11)
    models = {
        "demand-forecast-v2": (lgb.Booster(model_file=str(args.demand)), demand_rows(rng, args.rows)),
        "trained-500x63": trained_model(rng, args.rows),
    }
    for name, (booster, X) in models.items():
        booster.save_model(str(args.out / f"{name}.txt"))
        write_csv(args.out / f"{name}.rows.csv", X)
        write_csv(args.out / f"{name}.want.csv", booster.predict(X, num_threads=1))
        print(json.dumps({"model": name, "rows": len(X), "trees": booster.num_trees()}), flush=True)


def measure(args: argparse.Namespace) -> None:
    booster = lgb.Booster(model_file=str(args.out / f"{args.model}.txt"))
    X = np.loadtxt(args.out / f"{args.model}.rows.csv", delimiter=",", ndmin=2)
    rate, _ = best_rows_per_s(booster, X, args.repeat)
    print(json.dumps({"model": args.model, "rows": len(X), "lightgbm_rows_per_s": rate}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the models, rows and LightGBM's predictions")
    p.add_argument("out", type=Path)
    p.add_argument("--demand", type=Path, required=True, help="the demand-forecast example's model.lgb")
    p.add_argument("--rows", type=int, default=20000)
    m = sub.add_parser("measure", help="time Booster.predict on one prepared model")
    m.add_argument("out", type=Path)
    m.add_argument("model")
    m.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    prepare(args) if args.command == "prepare" else measure(args)


if __name__ == "__main__":
    main()
