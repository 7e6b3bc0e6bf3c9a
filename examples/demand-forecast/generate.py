"""Generate the demand-forecast example: data, three MLflow LightGBM models, golden outputs.

The story
---------
A retailer forecasts daily ``units_sold`` per store. Three versions of the
registered model ``demand-forecast`` exist:

* **v1** -- "production today". A modest model (store, promo, weekday, month;
  60 trees, 15 leaves). It knows the season only by month.
* **v2** -- "better". Adds ``day_of_year`` and declares ``store_id`` as a
  LightGBM *categorical* feature (so the Go evaluator must handle categorical
  bitset splits). Clearly lower MAE/WAPE than v1 offline, and on live traffic
  its predictions are on the same level as v1's.
* **v3** -- "bad in a way the offline evaluation does not catch". Replaces the
  seasonal features by ``days_since_start``, a per-day index. The offline
  evaluation set is a random sample of days *inside* the training range, so v3
  interpolates well and beats v1 there. On live traffic (2025 dates, beyond the
  training range) every tree sends the request to its last leaf, i.e. to the
  late-December-2024 holiday peak, so v3 over-forecasts January/February by a
  wide margin. Only a canary on live traffic catches it.

How to run (from this directory)
--------------------------------
    python -m venv .venv
    .venv/bin/pip install -r requirements.txt
    .venv/bin/python generate.py

The script is seeded and single-threaded; reruns reproduce every output
(the MLmodel ``utc_time_created`` and ``model_uuid`` are pinned to fixed values
for that purpose). It asserts the properties the demo relies on (see
``check_story``) and fails loudly if they do not hold.

Outputs (all paths relative to this directory)
----------------------------------------------
data/sales.csv            training rows: store_id,date,promo,units_sold
                          (40 stores x every day 2023-01-01..2024-12-31, minus
                          the held-out rows)
data/ground_truth.csv     a random ~8% of those store-days, same columns: the
                          offline evaluation set
data/live_requests.csv    ~3000 requests store_id,date,promo dated
                          2025-01-01..2025-02-28: the "live" traffic of the demo
models/v1, models/v2, models/v3
                          MLflow model directories written by
                          mlflow.lightgbm.save_model (MLmodel, model.lgb,
                          environment files, input example). The MLmodel
                          ``metadata.modelgate.feature_transform`` declares how
                          raw request fields become the model's features.
models/metrics.json       offline metrics per version on ground_truth.csv:
                          mae, rmse, mape, wape, bias
versions.json             registry facts per version: stage, tags, approvals
golden/predictions.csv    store_id,date,promo,v1,v2,v3 for every ground-truth
                          row, the first 1000 live requests and the playbook
                          smoke request (store 42, 2025-01-15, promo 1);
                          vN = lightgbm's Booster.predict, written with
                          repr(float) (round-trip exact) for the Go evaluator
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

# MLflow 3 sends usage telemetry by default; this script must work offline.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import lightgbm as lgb  # noqa: E402
import mlflow.lightgbm  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.models import Model, infer_signature  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 20250101
MODEL_NAME = "demand-forecast"

N_STORES = 40
TRAIN_START, TRAIN_END = "2023-01-01", "2024-12-31"
LIVE_START, LIVE_END = "2025-01-01", "2025-02-28"
N_LIVE = 3000
HOLDOUT_FRACTION = 0.08
PROMO_RATE = 0.20
SMOKE_REQUEST = {"store_id": 42, "date": "2025-01-15", "promo": 1}
N_GOLDEN_LIVE = 1000

# MLmodel utc_time_created and model_uuid change on every save; pin them so
# reruns write byte-identical model directories (and digests). See also save().
MLMODEL_CREATED = "2025-01-01 00:00:00.000000"

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

# Monday=0 ... Sunday=6; weekends sell more.
WEEKDAY_FACTOR = np.array([0.90, 0.88, 0.92, 0.97, 1.08, 1.30, 1.22])
PROMO_UPLIFT = 1.25
TREND_PER_YEAR = 0.08
DECEMBER_PEAK = 0.60  # second half of December vs January
NOISE_SIGMA = 0.10


def seasonality(dates: pd.DatetimeIndex) -> np.ndarray:
    """Yearly shape: a mild summer bump plus a December ramp to +60%.

    The smooth part is nearly identical in January and late December, so the
    late-December level is ~1.6x the January level. The ramp climbs over
    December 1-15 and stays at its peak until the 31st.
    """
    doy = dates.day_of_year.to_numpy()
    smooth = 1.0 + 0.08 * np.sin(2 * np.pi * (doy - 80) / 365.25)
    is_dec = dates.month.to_numpy() == 12
    ramp = np.clip((dates.day.to_numpy() - 1) / 14.0, 0.0, 1.0)
    return smooth * (1.0 + DECEMBER_PEAK * ramp * is_dec)


def make_sales(rng: np.random.Generator) -> pd.DataFrame:
    """Every store x every day of 2023-2024 with its demand."""
    store_base = np.round(rng.lognormal(mean=np.log(120.0), sigma=0.45, size=N_STORES), 1)
    dates = pd.date_range(TRAIN_START, TRAIN_END, freq="D")
    grid = pd.MultiIndex.from_product([np.arange(1, N_STORES + 1), dates], names=["store_id", "date"])
    df = grid.to_frame(index=False)
    d = pd.DatetimeIndex(df["date"])
    promo = (rng.random(len(df)) < PROMO_RATE).astype(int)
    years = (d - pd.Timestamp(TRAIN_START)).days.to_numpy() / 365.25
    demand = (
        store_base[df["store_id"].to_numpy() - 1]
        * WEEKDAY_FACTOR[d.day_of_week.to_numpy()]
        * seasonality(d)
        * np.where(promo == 1, PROMO_UPLIFT, 1.0)
        * (1.0 + TREND_PER_YEAR) ** years
        * rng.lognormal(mean=0.0, sigma=NOISE_SIGMA, size=len(df))
    )
    return pd.DataFrame(
        {
            "store_id": df["store_id"].astype(int),
            "date": d.strftime("%Y-%m-%d"),
            "promo": promo,
            "units_sold": np.round(np.maximum(demand, 0.0), 2),
        }
    )


def make_live_requests(rng: np.random.Generator) -> pd.DataFrame:
    """Live traffic after training: uniform dates, stores and ~20% promos, in time order."""
    days = pd.date_range(LIVE_START, LIVE_END, freq="D")
    live = pd.DataFrame(
        {
            "store_id": rng.integers(1, N_STORES + 1, size=N_LIVE),
            "date": days[rng.integers(0, len(days), size=N_LIVE)].strftime("%Y-%m-%d"),
            "promo": (rng.random(N_LIVE) < PROMO_RATE).astype(int),
        }
    )
    return live.sort_values("date", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Feature transform: declared in the MLmodel metadata, implemented here once
# ---------------------------------------------------------------------------

# Go reference-time layouts this script understands, mapped to strptime.
GO_DATE_LAYOUTS = {"2006-01-02": "%Y-%m-%d"}


def feat(name: str, source: str, op: str, **extra) -> dict:
    return {"name": name, "source": source, "op": op, **extra}


def compute_features(raw: pd.DataFrame, transform: dict) -> pd.DataFrame:
    """Apply a declared feature transform to raw request rows.

    This is the single definition of the ops (training, evaluation and the
    golden file all use it); the Go evaluator must agree with it:

    number        float(raw value)
    weekday       Monday=0 ... Sunday=6
    day_of_year   1..366
    month         1..12
    day_of_month  1..31
    year          e.g. 2025
    days_since    whole days from ``origin`` (same date format) to the date
    """
    layout = GO_DATE_LAYOUTS[transform["date_format"]]
    out = {}
    for f in transform["features"]:
        col = raw[f["source"]]
        op = f["op"]
        if op == "number":
            values = pd.to_numeric(col).astype("float64")
        else:
            d = pd.DatetimeIndex(pd.to_datetime(col, format=layout))
            if op == "weekday":
                values = d.day_of_week
            elif op == "day_of_year":
                values = d.day_of_year
            elif op == "month":
                values = d.month
            elif op == "day_of_month":
                values = d.day
            elif op == "year":
                values = d.year
            elif op == "days_since":
                origin = pd.Timestamp(dt.datetime.strptime(f["origin"], layout))
                values = (d - origin).days
            else:
                raise ValueError(f"unknown op {op!r} for feature {f['name']!r}")
        out[f["name"]] = np.asarray(values, dtype="float64")
    return pd.DataFrame(out, index=raw.index)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

COMMON_PARAMS = {
    "objective": "regression",  # plain L2
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}

MODELS = {
    "v1": {
        "features": [
            feat("store_id", "store_id", "number"),
            feat("promo", "promo", "number"),
            feat("day_of_week", "date", "weekday"),
            feat("month", "date", "month"),
        ],
        "params": {"num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20},
        "num_boost_round": 60,
        "categorical": [],
    },
    "v2": {
        "features": [
            feat("store_id", "store_id", "number"),
            feat("promo", "promo", "number"),
            feat("day_of_week", "date", "weekday"),
            feat("day_of_year", "date", "day_of_year"),
            feat("month", "date", "month"),
        ],
        "params": {"num_leaves": 31, "learning_rate": 0.05, "min_data_in_leaf": 20},
        "num_boost_round": 200,
        "categorical": ["store_id"],
    },
    "v3": {
        "features": [
            feat("store_id", "store_id", "number"),
            feat("promo", "promo", "number"),
            feat("day_of_week", "date", "weekday"),
            feat("days_since_start", "date", "days_since", origin=TRAIN_START),
        ],
        "params": {"num_leaves": 31, "learning_rate": 0.05, "min_data_in_leaf": 20},
        "num_boost_round": 200,
        "categorical": [],
    },
}


def transform_of(version: str) -> dict:
    return {"date_format": "2006-01-02", "features": MODELS[version]["features"]}


def train(version: str, train_df: pd.DataFrame) -> lgb.Booster:
    spec = MODELS[version]
    X = compute_features(train_df, transform_of(version))
    ds = lgb.Dataset(
        X,
        label=train_df["units_sold"].to_numpy(dtype="float64"),
        categorical_feature=spec["categorical"] or "auto",
        free_raw_data=False,
    )
    booster = lgb.train({**COMMON_PARAMS, **spec["params"]}, ds, num_boost_round=spec["num_boost_round"])
    assert booster.feature_name() == [f["name"] for f in spec["features"]], booster.feature_name()
    return booster


def predict(booster: lgb.Booster, version: str, raw: pd.DataFrame) -> np.ndarray:
    return np.asarray(booster.predict(compute_features(raw, transform_of(version))), dtype="float64")


def save(version: str, booster: lgb.Booster, train_df: pd.DataFrame, out_dir: Path) -> None:
    example = compute_features(train_df.head(5), transform_of(version))
    signature = infer_signature(example, booster.predict(example))
    pinned = Model(
        utc_time_created=MLMODEL_CREATED,
        model_uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"modelgate/{MODEL_NAME}/{version}").hex,
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    mlflow.lightgbm.save_model(
        booster,
        str(out_dir),
        mlflow_model=pinned,
        signature=signature,
        input_example=example,
        metadata={"modelgate": {"feature_transform": transform_of(version)}},
    )
    # MLflow writes skops_trusted_types (unused for a Booster) from a set, in
    # hash-seed order; sort it so the MLmodel file is reproducible.
    mlmodel = Model.load(str(out_dir))
    mlmodel.flavors["lightgbm"]["skops_trusted_types"].sort()
    mlmodel.save(str(out_dir / "MLmodel"))


# ---------------------------------------------------------------------------
# Metrics, registry facts, golden file
# ---------------------------------------------------------------------------


def metrics(y: np.ndarray, yhat: np.ndarray) -> dict:
    err = yhat - y
    nz = y != 0
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(np.mean(np.abs(err[nz]) / np.abs(y[nz]))),
        "wape": float(np.sum(np.abs(err)) / np.sum(np.abs(y))),
        "bias": float(np.mean(err)),
    }


def fake_sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def registry_facts() -> dict:
    approvals = [
        {"role": "data_science_lead", "by": "priya.raman"},
        {"role": "compliance_officer", "by": "tomas.eriksen"},
    ]
    versions = []
    for n, stage in (("1", "Production"), ("2", "Staging"), ("3", "Staging")):
        versions.append(
            {
                "version": n,
                "dir": f"models/v{n}",
                "stage": stage,
                "tags": {
                    "git_sha": fake_sha(f"v{n}"),
                    "dataset_version": "sales-2024-12-31",
                    "approver": "priya.raman",
                },
                "approvals": approvals,
            }
        )
    return {"model": MODEL_NAME, "versions": versions}


def write_golden(path: Path, raw: pd.DataFrame, preds: dict[str, np.ndarray]) -> None:
    lines = ["store_id,date,promo,v1,v2,v3"]
    for i, row in enumerate(raw.itertuples(index=False)):
        vals = ",".join(repr(float(preds[v][i])) for v in ("v1", "v2", "v3"))
        lines.append(f"{int(row.store_id)},{row.date},{int(row.promo)},{vals}")
    path.write_text("\n".join(lines) + "\n")


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def check_story(offline: dict, live_mean: dict) -> None:
    """The properties the demo depends on."""
    assert offline["v2"]["wape"] < offline["v1"]["wape"], "v2 must beat v1 offline"
    assert offline["v3"]["wape"] < offline["v1"]["wape"], "v3 must beat v1 offline"
    r2 = live_mean["v2"] / live_mean["v1"] - 1
    r3 = live_mean["v3"] / live_mean["v1"] - 1
    assert abs(r2) < 0.03, f"v2 live mean must match v1 within 3%, got {r2:+.4f}"
    assert r3 > 0.15, f"v3 live mean must exceed v1 by >15%, got {r3:+.4f}"


def main() -> None:
    rng = np.random.default_rng(SEED)
    for sub in ("data", "models", "golden"):
        (HERE / sub).mkdir(exist_ok=True)

    full = make_sales(rng)
    holdout = rng.random(len(full)) < HOLDOUT_FRACTION
    sales = full[~holdout].reset_index(drop=True)
    ground_truth = full[holdout].reset_index(drop=True)
    live = make_live_requests(rng)
    sales.to_csv(HERE / "data/sales.csv", index=False)
    ground_truth.to_csv(HERE / "data/ground_truth.csv", index=False)
    live.to_csv(HERE / "data/live_requests.csv", index=False)
    print(f"sales: {len(sales)} rows, ground truth: {len(ground_truth)} rows, live: {len(live)} requests")

    golden_raw = pd.concat(
        [ground_truth[["store_id", "date", "promo"]], live.head(N_GOLDEN_LIVE), pd.DataFrame([SMOKE_REQUEST])],
        ignore_index=True,
    )

    y = ground_truth["units_sold"].to_numpy(dtype="float64")
    offline, live_mean, golden = {}, {}, {}
    for version in MODELS:
        booster = train(version, sales)
        save(version, booster, sales, HERE / "models" / version)
        offline[version] = metrics(y, predict(booster, version, ground_truth))
        live_mean[version] = float(np.mean(predict(booster, version, live)))
        golden[version] = predict(booster, version, golden_raw)

    write_json(HERE / "models/metrics.json", offline)
    write_json(HERE / "versions.json", registry_facts())
    write_golden(HERE / "golden/predictions.csv", golden_raw, golden)

    print(f"{'':4}{'MAE':>9}{'RMSE':>9}{'MAPE':>8}{'WAPE':>8}{'bias':>8}  live mean  vs v1")
    for v in MODELS:
        m = offline[v]
        print(
            f"{v:4}{m['mae']:9.3f}{m['rmse']:9.3f}{m['mape']:8.4f}{m['wape']:8.4f}{m['bias']:8.3f}"
            f"  {live_mean[v]:9.3f}  {live_mean[v] / live_mean['v1'] - 1:+.2%}"
        )
    print(f"smoke request {SMOKE_REQUEST}: " + ", ".join(f"{v}={golden[v][-1]:.3f}" for v in MODELS))
    check_story(offline, live_mean)
    print("story checks passed")


if __name__ == "__main__":
    main()
