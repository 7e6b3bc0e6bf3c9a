"""Saves XGBoost models with mlflow.xgboost.save_model, as log_model writes
them, and what MLflow's pyfunc predicts for them.

usage: xgb_gen.py OUTDIR
writes OUTDIR/<case>/ (an MLflow model directory) for booster_ubj,
booster_json, booster_xgb, regressor, classifier and regressor_early_stop,
OUTDIR/rows.json (request rows as objects, "NaN" for a missing value) and
OUTDIR/expected.json (pyfunc predictions per servable case, exact floats).
"""
import json
import sys

import mlflow.pyfunc
import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb

out = sys.argv[1]
rng = np.random.default_rng(5)


def frame(n):
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(-3, 3, n), "c": rng.integers(0, 5, n).astype(float)})
    df.loc[rng.random(n) < 0.1, "b"] = np.nan
    return df


X = frame(500)
y = (X["a"] + X["b"].fillna(0) * X["c"] > 0.5).astype(float)
rows = frame(100)
expected = {}
booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "seed": 1}, xgb.DMatrix(X, label=y), 25)
for fmt in ("ubj", "json", "xgb"):
    mlflow.xgboost.save_model(booster, f"{out}/booster_{fmt}", model_format=fmt)
reg = xgb.XGBRegressor(n_estimators=20, max_depth=3).fit(X, y)
mlflow.xgboost.save_model(reg, f"{out}/regressor")
mlflow.xgboost.save_model(xgb.XGBClassifier(n_estimators=5).fit(X, y), f"{out}/classifier")
early = xgb.XGBRegressor(n_estimators=200, early_stopping_rounds=3).fit(X, y, eval_set=[(X, y)], verbose=False)
mlflow.xgboost.save_model(early, f"{out}/regressor_early_stop")
for case in ("booster_ubj", "booster_json", "booster_xgb", "regressor"):
    pred = mlflow.pyfunc.load_model(f"{out}/{case}").predict(rows)
    expected[case] = [float(p) for p in np.asarray(pred).ravel()]
instances = [{k: ("NaN" if pd.isna(v) else float(v)) for k, v in r.items()} for r in rows.to_dict("records")]
json.dump(instances, open(f"{out}/rows.json", "w"))
json.dump(expected, open(f"{out}/expected.json", "w"))
