"""Log, register and check the LightGBM models of TestFlavorsPromoted with
MLflow's own client (MLFLOW_TRACKING_URI names the server).

usage:
  python flavors.py register KIND NAME VERSION ALIAS OUT_DIR
      train version VERSION of a KIND model (category: a Booster trained
      on pandas category columns; sklearn: an LGBMRegressor, LightGBM's
      scikit-learn API), log it with mlflow.lightgbm.log_model (with an
      input example), register it as NAME, tag it as modelgate's
      preconditions require and give it ALIAS. Writes OUT_DIR/requests.csv
      (request rows for modelgate replay) and OUT_DIR/rows.json (request
      rows as JSON, unseen category values and nulls among them).
  python flavors.py check KIND NAME VERSION ROWS URL
      send ROWS (rows.json) to the gateway's V1 route at URL and compare
      each answer with MLflow's pyfunc prediction of models:/NAME/VERSION
      on the same row; exits 1 beyond 1e-12 relative.
"""

import csv
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

CATEGORY_COLUMNS = ("color", "size")


def data(kind, n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"num one": rng.normal(size=n), "x": rng.normal(size=n)})
    # Centred on 10, not 0: the judge compares mean predictions relatively.
    y = 10 + 2 * df["num one"] + 0.3 * df["x"] + rng.normal(size=n) * 0.1
    if kind == "category":
        df["color"] = pd.Categorical(rng.choice(["red", "green", "blue"], n))
        df["size"] = pd.Categorical(rng.choice([1, 2, 3], n))
        y = y + df["color"].map({"red": 1.0, "green": -1.0, "blue": 0.2}).astype(float) + 0.5 * df["size"].astype(int)
    return df, y


def train(kind, version):
    df, y = data(kind, 500, 1)
    rounds = 30 + int(version)  # the versions differ a little
    if kind == "category":
        params = {"objective": "regression", "verbose": -1, "num_threads": 1, "seed": 1,
                  "min_data_per_group": 5, "cat_smooth": 1, "max_cat_to_onehot": 2}
        return lgb.train(params, lgb.Dataset(df, y), num_boost_round=rounds), df
    model = lgb.LGBMRegressor(n_estimators=rounds, verbose=-1, n_jobs=1, random_state=1)
    return model.fit(df, y), df


def request_rows(kind):
    df, _ = data(kind, 40, 2)
    rows = json.loads(df.to_json(orient="records"))
    if kind == "category":
        rows += [
            {"num one": 0.1, "x": 0.2, "color": "purple", "size": 7},   # unseen
            {"num one": 0.5, "x": -1.0, "color": "red", "size": 2.0},   # 2.0 == 2
        ]
    return rows


def register(kind, name, version, alias, out):
    out = Path(out)
    model, df = train(kind, version)
    mlflow.set_experiment(name)
    with mlflow.start_run():
        info = mlflow.lightgbm.log_model(model, name="model", input_example=df.head(3))
    mv = mlflow.register_model(info.model_uri, name)
    client = MlflowClient()
    tags = {"git_sha": "5d41402abc4b2a76b9719d911017c592ae2f1b1e", "dataset_version": "flavors-1", "approver": "ada"}
    for key, value in tags.items():
        client.set_model_version_tag(name, mv.version, key, value)
    client.set_registered_model_alias(name, alias, mv.version)
    rows = request_rows(kind)
    (out / "rows.json").write_text(json.dumps(rows))
    with open(out / "requests.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if None not in r.values())
    print(f"registered {name} version {mv.version} ({type(model).__name__}) as @{alias}")


def pyfunc_predictions(kind, name, version, rows):
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    out = []
    for row in rows:
        df = pd.DataFrame([row])[["num one", "x"] + (list(CATEGORY_COLUMNS) if kind == "category" else [])]
        for col in CATEGORY_COLUMNS if kind == "category" else ():
            df[col] = df[col].astype(object).astype("category")  # LightGBM recodes them itself
        out.append(float(np.asarray(model.predict(df)).reshape(-1)[0]))
    return out


def check(kind, name, version, rows_path, url):
    rows = json.loads(Path(rows_path).read_text())
    want = pyfunc_predictions(kind, name, version, rows)
    body = json.dumps({"instances": rows}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        got = json.loads(urllib.request.urlopen(req).read())["predictions"]
    except urllib.error.HTTPError as e:
        sys.exit(f"{name}: the gateway answered {e.code}: {e.read().decode()}")
    worst = max(abs(g - w) / max(1.0, abs(w)) for g, w in zip(got, want))
    print(f"{name}: {len(got)} rows, largest relative difference from pyfunc {worst:.3g}")
    if len(got) != len(want) or worst > 1e-12:
        print(f"gateway {got}\npyfunc  {want}")
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "register":
        register(*sys.argv[2:7])
    else:
        check(*sys.argv[2:7])
