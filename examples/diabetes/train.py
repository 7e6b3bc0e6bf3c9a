"""Trains three LightGBM regressors on scikit-learn's diabetes data set and
registers them in MLflow as versions 1, 2 and 3 of one model, ready for
modelgate's alias mode: v1 @champion (production), v2 @challenger.

usage: train.py MODEL_NAME [--out DIR] [--approver NAME]

MLFLOW_TRACKING_URI names the tracking server. Nothing is downloaded: the
data set ships inside the scikit-learn package
(sklearn.datasets.load_diabetes). Everything is seeded, and LightGBM runs
single-threaded and deterministic, so a rerun trains the same trees.

The versions (hyperparameters in MODELS below):

v1  production: a modest first model, 100 trees of 7 leaves trained on the
    first 60% of the training rows only.
v2  a genuine retrain: every training row, 200 shallower trees with a lower
    learning rate, row and feature subsampling, L2 regularisation and
    another seed. At least as accurate as v1 on the held-out rows (asserted).
v3  bad: v2's recipe trained on 3 x the target, so it forecasts about three
    times too high (asserted: mean forecast > 2.5 x v1's on the live rows).

Each is logged with mlflow.lightgbm.log_model (signature and input example
from the raw feature columns, whose names are the booster's feature names,
so requests carry age, sex, bmi, bp, s1..s6 and need no feature transform),
with its held-out metrics on its run, registered, and tagged with what
modelgate requires: git_sha (the git blob sha1 of this script, what
`git hash-object train.py` prints), dataset_version
(sklearn-diabetes-<scikit-learn version>), approver, and model_sha256 (the
README's digest of the logged files).

Written to --out (default ./data next to this script):

live_requests.csv  the data set's 442 feature rows, shuffled with a fixed seed:
                   the live traffic (header: the feature names)
holdout.csv        the held-out 20% with the target column: an optional
                   evaluation set (evaluation.dataset, evaluation.target: target)
metrics.json       per version: mae, rmse, bias on holdout.csv; mean forecast,
                   its shift against v1 and the Kolmogorov-Smirnov distance to
                   v1's forecasts on the live rows

The last line on stdout is JSON: {"versions": {"1": {...}, ...}}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import tempfile

# MLflow 3 sends usage telemetry by default; this script must work offline.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

import lightgbm as lgb  # noqa: E402
import mlflow  # noqa: E402
import mlflow.lightgbm  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SEED = 20250101
HOLDOUT_FRACTION = 0.2
TARGET = "target"

COMMON_PARAMS = {
    "objective": "regression",  # plain L2
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}

RETRAIN = {
    "params": {
        "num_leaves": 8,
        "learning_rate": 0.03,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": 2,
    },
    "num_boost_round": 200,
    "rows": 1.0,
}

MODELS = {
    "v1": {
        "params": {"num_leaves": 7, "learning_rate": 0.05, "min_data_in_leaf": 20, "seed": 1},
        "num_boost_round": 100,
        "rows": 0.6,  # the first 60% of the training rows
        "target_scale": 1.0,
    },
    "v2": {**RETRAIN, "target_scale": 1.0},
    "v3": {**RETRAIN, "target_scale": 3.0},  # the bug: trained on 3 x y
}


def load() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The training rows, the held-out rows (both with the target) and the
    live rows (every feature row, shuffled)."""
    frame = load_diabetes(as_frame=True).frame
    train, holdout = train_test_split(frame, test_size=HOLDOUT_FRACTION, random_state=SEED)
    features = frame.drop(columns=TARGET)
    live = features.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    return train.reset_index(drop=True), holdout.reset_index(drop=True), live


def train(spec: dict, rows: pd.DataFrame) -> lgb.Booster:
    used = rows.head(int(round(spec["rows"] * len(rows))))
    X = used.drop(columns=TARGET)
    y = spec["target_scale"] * used[TARGET].to_numpy(dtype="float64")
    ds = lgb.Dataset(X, label=y, free_raw_data=False)
    booster = lgb.train({**COMMON_PARAMS, **spec["params"]}, ds, num_boost_round=spec["num_boost_round"])
    assert booster.feature_name() == list(X.columns), booster.feature_name()
    return booster


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov distance."""
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def evaluate(boosters: dict, holdout: pd.DataFrame, live: pd.DataFrame) -> dict:
    X, y = holdout.drop(columns=TARGET), holdout[TARGET].to_numpy(dtype="float64")
    base = boosters["v1"].predict(live)
    out = {}
    for v, b in boosters.items():
        err = b.predict(X) - y
        lp = b.predict(live)
        out[v] = {
            "mae": float(np.mean(np.abs(err))),
            "rmse": float(np.sqrt(np.mean(err**2))),
            "bias": float(np.mean(err)),
            "live_mean": float(np.mean(lp)),
            "live_shift_vs_v1": float(np.mean(lp) / np.mean(base) - 1),
            "live_ks_vs_v1": ks_distance(lp, base),
        }
    return out


def check_story(m: dict) -> None:
    """The properties the example is about."""
    assert m["v2"]["mae"] <= m["v1"]["mae"], f"v2 must be at least as accurate as v1 on held-out rows: {m}"
    assert m["v3"]["live_mean"] > 2.5 * m["v1"]["live_mean"], f"v3 must forecast about 3x too high: {m}"


def dir_digest(root: pathlib.Path) -> str:
    """model_sha256 as the README defines it: sha256 over the sorted
    "<sha256>  <relative path>" lines of every file."""
    lines = []
    for p in root.rglob("*"):
        if p.is_file():
            lines.append((p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()))
    lines.sort(key=lambda x: x[0].encode())
    return hashlib.sha256("".join(f"{h}  {rel}\n" for rel, h in lines).encode()).hexdigest()


def git_blob_sha1(path: pathlib.Path) -> str:
    """What `git hash-object PATH` prints."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def log_and_register(client: MlflowClient, name: str, version: str, booster: lgb.Booster,
                     example: pd.DataFrame, metrics: dict, tags: dict) -> dict:
    spec = MODELS[version]
    signature = infer_signature(example, booster.predict(example))
    with mlflow.start_run(run_name=f"{name}-{version}"):
        mlflow.log_params({**spec["params"], "num_boost_round": spec["num_boost_round"],
                           "rows": spec["rows"], "target_scale": spec["target_scale"]})
        mlflow.log_metrics({k: metrics[k] for k in ("mae", "rmse", "bias")})
        info = mlflow.lightgbm.log_model(booster, name="model", signature=signature, input_example=example)
    with tempfile.TemporaryDirectory() as tmp:
        # The stored files, by their artifact location: downloading models:/…
        # makes the client add a registered_model_meta file the server lacks.
        location = client.get_logged_model(info.model_id).artifact_location
        digest = dir_digest(pathlib.Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp)))
    mv = mlflow.register_model(info.model_uri, name)
    for k, val in {**tags, "model_sha256": digest}.items():
        client.set_model_version_tag(name, mv.version, k, val)
    return {"version": mv.version, "source": mv.source, "digest": digest, "metrics": metrics}


def write_data(out: pathlib.Path, holdout: pd.DataFrame, live: pd.DataFrame, metrics: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    live.to_csv(out / "live_requests.csv", index=False, float_format="%.17g")
    holdout.to_csv(out / "holdout.csv", index=False, float_format="%.17g")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_name")
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "data")
    ap.add_argument("--approver", default=os.environ.get("USER", "unknown"))
    args = ap.parse_args()

    train_rows, holdout, live = load()
    boosters = {v: train(spec, train_rows) for v, spec in MODELS.items()}
    metrics = evaluate(boosters, holdout, live)
    check_story(metrics)
    write_data(args.out, holdout, live, metrics)

    tags = {"git_sha": git_blob_sha1(pathlib.Path(__file__)),
            "dataset_version": f"sklearn-diabetes-{sklearn.__version__}",
            "approver": args.approver}
    client = MlflowClient()
    mlflow.set_experiment(f"modelgate-{args.model_name}")
    example = train_rows.drop(columns=TARGET).head(5)
    out = {}
    for v, b in boosters.items():
        reg = log_and_register(client, args.model_name, v, b, example, metrics[v], tags)
        assert reg["version"] == v[1:], f"{v} registered as version {reg['version']}: is {args.model_name} new?"
        out[reg["version"]] = reg
    client.set_registered_model_alias(args.model_name, "champion", "1")
    client.set_registered_model_alias(args.model_name, "challenger", "2")

    print(f"diabetes: {len(train_rows)} training rows, {len(holdout)} held out, {len(live)} live rows")
    for v, m in metrics.items():
        print(f"{v}: held-out MAE {m['mae']:.2f} RMSE {m['rmse']:.2f} bias {m['bias']:+.2f}; live mean "
              f"{m['live_mean']:.1f} ({m['live_shift_vs_v1']:+.1%} vs v1, KS {m['live_ks_vs_v1']:.3f})")
    print(json.dumps({"versions": out}))


if __name__ == "__main__":
    main()
