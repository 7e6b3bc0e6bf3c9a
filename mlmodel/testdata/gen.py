"""Generate mlmodel's test model directory and its golden predictions.

Writes, next to this script:

  every-op/            an MLflow model directory (mlflow.lightgbm.save_model)
                       whose MLmodel declares a feature transform using every
                       op, with a non-default date_format (02/01/2006, i.e.
                       day/month/year)
  every-op.csv         store,flag,date,want: raw request fields and the
                       prediction of lightgbm's Booster.predict on the
                       features computed here, written with repr(float)

The ops are computed below with Python's datetime, independently of the Go
code, so the test checks both implementations agree on them (weekday counts
from Monday, days_since rounds down, leap days). The dates run 2016-2027 and
the origin is a leap day.

Run with lightgbm 4.6.0 and mlflow 3.x (seeded and single-threaded; the MLmodel
time and uuid are pinned, so reruns write the same model and predictions; only
the order of MLmodel's skops_trusted_types, a Python set, may change):

    python gen.py
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import lightgbm as lgb  # noqa: E402
import mlflow.lightgbm  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.models import Model, infer_signature  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 11
ORIGIN = dt.date(2020, 2, 29)
PY_LAYOUT = "%d/%m/%Y"  # the Go layout 02/01/2006

TRANSFORM = {
    "date_format": "02/01/2006",
    "features": [
        {"name": "store", "source": "store", "op": "number"},
        {"name": "flag", "source": "flag", "op": "number"},
        {"name": "dow", "source": "date", "op": "weekday"},
        {"name": "doy", "source": "date", "op": "day_of_year"},
        {"name": "mon", "source": "date", "op": "month"},
        {"name": "dom", "source": "date", "op": "day_of_month"},
        {"name": "yr", "source": "date", "op": "year"},
        {"name": "age", "source": "date", "op": "days_since", "origin": ORIGIN.strftime(PY_LAYOUT)},
    ],
}


def features(store, flag, date):
    d = dt.datetime.strptime(date, PY_LAYOUT).date()
    return [float(store), float(flag), d.weekday(), d.timetuple().tm_yday, d.month, d.day, d.year, (d - ORIGIN).days]


def raw_rows(rng, n):
    start = dt.date(2016, 1, 1)
    days = rng.integers(0, 365 * 12, size=n)
    dates = [(start + dt.timedelta(days=int(k))).strftime(PY_LAYOUT) for k in days]
    dates[:4] = ["29/02/2020", "28/02/2020", "01/03/2020", "31/12/2024"]  # around the origin, a leap year's last day
    return pd.DataFrame({"store": rng.integers(1, 30, size=n), "flag": rng.integers(0, 2, size=n), "date": dates})


def main():
    rng = np.random.default_rng(SEED)
    raw = raw_rows(rng, 800)
    X = pd.DataFrame([features(*r) for r in raw.itertuples(index=False)], columns=[f["name"] for f in TRANSFORM["features"]])
    y = X["store"] * 0.5 + X["flag"] * 3 + np.sin(X["doy"] / 58) * 4 + X["dow"] + X["age"] / 500 + rng.normal(size=len(X))
    params = {"objective": "regression", "num_leaves": 7, "learning_rate": 0.3, "min_data_in_leaf": 10,
              "seed": SEED, "deterministic": True, "num_threads": 1, "verbosity": -1, "force_row_wise": True}
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=15)

    out = HERE / "every-op"
    if out.exists():
        shutil.rmtree(out)
    mlflow.lightgbm.save_model(
        booster, str(out),
        mlflow_model=Model(utc_time_created="2025-01-01 00:00:00.000000", model_uuid="0" * 32),
        signature=infer_signature(X.head(3), booster.predict(X.head(3))),
        input_example=X.head(3),
        metadata={"modelgate": {"feature_transform": TRANSFORM}},
    )

    probe = raw.head(200)
    Xp = pd.DataFrame([features(*r) for r in probe.itertuples(index=False)], columns=X.columns)
    pred = booster.predict(Xp)
    lines = ["store,flag,date,want"]
    for r, p in zip(probe.itertuples(index=False), pred):
        lines.append(f"{r.store},{r.flag},{r.date},{repr(float(p))}")
    (HERE / "every-op.csv").write_text("\n".join(lines) + "\n")
    print(f"every-op: {booster.num_trees()} trees, {len(probe)} golden rows")


if __name__ == "__main__":
    main()
