"""Write a LightGBM model trained on pandas category columns, and pyfunc's
predictions for request rows, for mlmodel's TestPandasCategory.

usage: python pandas_category.py OUT_DIR

OUT_DIR/model        mlflow.lightgbm.save_model of a Booster trained on a
                     DataFrame with two category columns (strings, ints)
                     and a numeric column named with a space ("num one")
OUT_DIR/rows.json    [{"row": {...}, "want": prediction}]: request rows
                     (JSON as a client sends them) and MLflow's pyfunc
                     prediction for each, the category columns made
                     category dtype as a caller in Python would, so that
                     LightGBM's own recoding (set_categories) codes them
"""

import json
import sys
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

out = Path(sys.argv[1])
rng = np.random.default_rng(7)
n = 400
train = pd.DataFrame({
    "num one": rng.normal(size=n),
    "color": pd.Categorical(rng.choice(["red", "green", "blue", "teal"], n)),
    "size": pd.Categorical(rng.choice([1, 2, 3, 5], n)),
    "x": rng.normal(size=n),
})
effect = {"red": 3.0, "green": -1.0, "blue": 0.5, "teal": 1.5}
y = (2 * train["num one"] + train["color"].map(effect).astype(float)
     + train["size"].astype(int) * 0.7 + 0.2 * train["x"] + rng.normal(size=n) * 0.1)
params = {"objective": "regression", "verbose": -1, "num_threads": 1, "seed": 1,
          "min_data_per_group": 5, "cat_smooth": 1, "max_cat_to_onehot": 2}
booster = lgb.train(params, lgb.Dataset(train, y), num_boost_round=20)
mlflow.lightgbm.save_model(booster, str(out / "model"), input_example=train.head(3))

rows = [
    {"num one": 0.3, "color": "red", "size": 2, "x": 0.1},
    {"num one": -1.2, "color": "teal", "size": 5, "x": -0.4},
    {"num one": 0.0, "color": "purple", "size": 4, "x": 1.0},   # unseen values
    {"num one": 1.1, "color": None, "size": None, "x": 0.0},    # missing
    {"num one": 0.7, "color": "blue", "size": 3.0, "x": 2.0},   # 3.0 == 3
    {"num one": 0.7, "color": "blue", "size": "3", "x": 2.0},   # "3" != 3
    {"num one": -0.5, "color": 1, "size": True, "x": 0.5},      # 1 != "1"; a bool is no int
    {"num one": 2.5, "color": "Red", "size": 1, "x": -1.0},     # case matters
]
model = mlflow.pyfunc.load_model(str(out / "model"))
result = []
for row in rows:
    df = pd.DataFrame([row])
    for col in ("color", "size"):
        df[col] = df[col].astype(object).astype("category")
    result.append({"row": row, "want": float(model.predict(df)[0])})
(out / "rows.json").write_text(json.dumps(result))
