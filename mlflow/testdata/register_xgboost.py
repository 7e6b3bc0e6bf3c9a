"""Trains two XGBoost boosters and registers them with MLflow's own Python
client, as a training pipeline would: mlflow.xgboost.log_model (version 1 in
the default UBJSON model_format, version 2 in JSON), register_model, the tags
modelgate requires (model_sha256 by the README's rule, see
register_example.py), version 1 @champion and version 2 @challenger. It then
writes what MLflow's pyfunc (the scoring server's route) predicts for each
version on the request rows.

usage: register_xgboost.py MODEL_NAME OUTDIR
writes OUTDIR/instances.json (request rows, "NaN" for a missing value) and
OUTDIR/expected.json ({"1": [...], "2": [...]}, floats written exactly).
MLFLOW_TRACKING_URI names the server.
"""

import json
import os
import pathlib
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient

from register_example import dir_digest

FEATURES = ["temperature", "humidity", "hour", "promo"]


def frame(rng, n):
    df = pd.DataFrame({
        "temperature": rng.normal(15, 8, n),
        "humidity": rng.uniform(20, 95, n),
        "hour": rng.integers(0, 24, n).astype(float),
        "promo": rng.integers(0, 2, n).astype(float),
    })
    df.loc[rng.random(n) < 0.05, "humidity"] = np.nan
    return df


def main() -> None:
    name, out = sys.argv[1], pathlib.Path(sys.argv[2])
    rng = np.random.default_rng(11)
    train = frame(rng, 2000)
    y = 120 + 2 * train["temperature"] - 0.3 * train["humidity"].fillna(50) + 15 * train["promo"] + 5 * np.sin(train["hour"])
    client = MlflowClient()
    mlflow.set_experiment("modelgate-xgboost")
    rows = frame(rng, 300)
    expected = {}
    for version, (rounds, depth, fmt, alias) in enumerate(
            [(40, 3, "ubj", "champion"), (60, 4, "json", "challenger")], start=1):
        booster = xgb.train({"objective": "reg:squarederror", "max_depth": depth, "eta": 0.2, "seed": 3},
                            xgb.DMatrix(train, label=y), rounds)
        with mlflow.start_run(run_name=f"{name}-v{version}"):
            mlflow.log_metrics({"rmse": float(np.sqrt(np.mean((booster.predict(xgb.DMatrix(train)) - y) ** 2)))})
            info = mlflow.xgboost.log_model(booster, name="model", model_format=fmt, input_example=train.head(3))
        with tempfile.TemporaryDirectory() as tmp:
            location = client.get_logged_model(info.model_id).artifact_location
            digest = dir_digest(pathlib.Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp)))
        mv = mlflow.register_model(info.model_uri, name)
        tags = {"git_sha": f"{version:040x}", "dataset_version": "weather-2025-06", "approver": "priya.raman",
                "model_sha256": digest}
        for k, v in tags.items():
            client.set_model_version_tag(name, mv.version, k, v)
        client.set_registered_model_alias(name, alias, mv.version)
        pred = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}").predict(rows[FEATURES])
        expected[mv.version] = [float(p) for p in np.asarray(pred).ravel()]
        print(f"registered {name} version {mv.version} ({fmt}) as @{alias}")
    # A missing value is sent as "NaN", as MLflow's scoring server reads it
    # for a double column its signature requires.
    instances = [{k: ("NaN" if pd.isna(v) else float(v)) for k, v in r.items()} for r in rows.to_dict("records")]
    (out / "instances.json").write_text(json.dumps(instances))
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    main()
