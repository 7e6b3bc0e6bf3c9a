"""Trains XGBoost models and writes XGBoost's own predictions for them.

Run by fidelity_test.go at test time with the MLflow virtualenv's Python:
    python gen.py OUTDIR
For every case it writes OUTDIR/NAME.json and OUTDIR/NAME.ubj (the same
booster in both formats) and OUTDIR/NAME.csv: the input rows (repr-exact
float64), whether XGBoost refused the row (ok=0), then the predictions p*
and output_margin=True margins m*, each repr-exact. OUTDIR/cases.json lists
the cases.
"""
import json
import sys

import numpy as np
import xgboost as xgb

OUT = sys.argv[1]
RNG = np.random.default_rng(20261201)
N_FEATURES = 5


def features(n, nan_rate=0.1, cat_cols=()):
    X = RNG.normal(size=(n, N_FEATURES)) * 3
    for c in cat_cols:
        X[:, c] = RNG.integers(0, 8, size=n)
    X[RNG.random(size=X.shape) < nan_rate] = np.nan
    return X


def probe_rows(booster, X, cat_cols):
    """Rows that sit exactly at split conditions and on their float32
    neighbours, and at float64 values that round to them, plus values XGBoost
    refuses or treats specially."""
    dump = json.loads(booster.save_raw("json"))
    gb = dump["learner"]["gradient_booster"]
    model = gb["model"] if "model" in gb else gb["gbtree"]["model"]
    base = np.nan_to_num(X[0].copy())
    rows = []
    for tree in model["trees"][:6]:
        for node, left in enumerate(tree["left_children"]):
            if left == -1:
                continue
            f = tree["split_indices"][node]
            c = np.float32(tree["split_conditions"][node])
            for v in (c, np.nextafter(c, np.float32(-np.inf)), np.nextafter(c, np.float32(np.inf))):
                r = base.copy()
                r[f] = float(v)
                rows.append(r)
            for v in (float(c) * (1 + 1e-12), float(c) * (1 - 1e-12)):
                r = base.copy()
                r[f] = v
                rows.append(r)
    for v in (np.inf, -np.inf, 1e39, -1e39, 3.4028235e38, 1e-45, -0.0, 0.0):
        r = base.copy()
        r[0] = v
        rows.append(r)
    for c in cat_cols:
        for v in (-1.0, 2.5, 7.999, 9.0, 40.0, 1e7, 16777216.0, -0.5):
            r = base.copy()
            r[c] = v
            rows.append(r)
    return np.array(rows)


def predict_rows(booster, X, ftypes):
    """XGBoost's predictions and margins row by row where it refuses a batch."""
    def one(A):
        d = xgb.DMatrix(A, missing=np.nan, feature_types=ftypes, enable_categorical=True)
        return booster.predict(d), booster.predict(d, output_margin=True)
    out = [None] * len(X)
    plain = [i for i in range(len(X)) if not np.any(np.abs(X[i]) > 3e38)]
    if plain:
        p, m = one(X[plain])
        for j, i in enumerate(plain):
            out[i] = (True, p[j], m[j])
    for i in range(len(X)):
        if out[i] is None:
            try:
                p, m = one(X[i : i + 1])
                out[i] = (True, p[0], m[0])
            except xgb.core.XGBoostError:
                out[i] = (False, None, None)
    return out


def flat(v):
    return [float(x) for x in np.atleast_1d(v)]


def write(name, booster, X, ftypes=None, cat_cols=()):
    booster.save_model(f"{OUT}/{name}.json")
    booster.save_model(f"{OUT}/{name}.ubj")
    rows = np.vstack([X, probe_rows(booster, X, cat_cols)])
    results = predict_rows(booster, rows, ftypes)
    n_out = n_margin = 0
    for ok, p, m in results:
        if ok:
            n_out, n_margin = len(flat(p)), len(flat(m))
            break
    with open(f"{OUT}/{name}.csv", "w") as f:
        header = [f"f{j}" for j in range(X.shape[1])] + ["ok"]
        header += [f"p{k}" for k in range(n_out)] + [f"m{k}" for k in range(n_margin)]
        f.write(",".join(header) + "\n")
        for r, (ok, p, m) in zip(rows, results):
            vals = [repr(float(v)) for v in r] + ["1" if ok else "0"]
            if ok:
                vals += [repr(v) for v in flat(p)] + [repr(v) for v in flat(m)]
            else:
                vals += [""] * (n_out + n_margin)
            f.write(",".join(vals) + "\n")
    CASES.append({"name": name, "outputs": n_out, "margins": n_margin, "rows": len(rows),
                  "refused": sum(1 for ok, _, _ in results if not ok)})


def train(name, params, y_fn, n=600, rounds=20, cat_cols=(), nan_rate=0.1, group=None, label_2d=False):
    X = features(n, nan_rate, cat_cols)
    ftypes = ["c" if j in cat_cols else "q" for j in range(N_FEATURES)] if cat_cols else None
    y = y_fn(np.nan_to_num(X))
    d = xgb.DMatrix(X, label=y, missing=np.nan, feature_types=ftypes, enable_categorical=True)
    if group is not None:
        d.set_group(group)
    booster = xgb.train({"seed": 7, "nthread": 1, **params}, d, rounds)
    write(name, booster, features(300, nan_rate, cat_cols), ftypes, cat_cols)


CASES = []
lin = lambda X: X[:, 0] * 2 - X[:, 1] + np.sin(X[:, 2]) * 3
binary = lambda X: (X[:, 0] + X[:, 1] * X[:, 2] > 0.5).astype(float)
count = lambda X: RNG.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1]).clip(0, 50)).astype(float)
positive = lambda X: np.exp(0.3 * X[:, 0]) + 0.1
multi3 = lambda X: np.digitize(X[:, 0] + X[:, 3], [-1.5, 1.5]).astype(float)
multi4 = lambda X: np.digitize(X[:, 0] - X[:, 2], [-2, 0, 2]).astype(float)
rank = lambda X: np.digitize(X[:, 0], [-2, 0, 2]).astype(float)
cat_bin = lambda X: (np.isin(X[:, 1], [2, 5, 6]) ^ (X[:, 0] > 1)).astype(float)

train("squarederror_d3", {"objective": "reg:squarederror", "max_depth": 3}, lin)
train("squarederror_d8_nan", {"objective": "reg:squarederror", "max_depth": 8, "eta": 0.5}, lin, nan_rate=0.3)
train("squarederror_stumps", {"objective": "reg:squarederror", "max_depth": 1}, lin, rounds=120)
train("squaredlogerror", {"objective": "reg:squaredlogerror", "max_depth": 4}, positive)
train("pseudohuber", {"objective": "reg:pseudohubererror", "max_depth": 4}, lin)
train("absoluteerror", {"objective": "reg:absoluteerror", "max_depth": 4}, lin)
train("quantile", {"objective": "reg:quantileerror", "quantile_alpha": 0.8, "max_depth": 4}, lin)
train("quantile_2", {"objective": "reg:quantileerror", "quantile_alpha": [0.2, 0.8], "max_depth": 3}, lin)
train("reg_logistic", {"objective": "reg:logistic", "max_depth": 4}, lambda X: 1 / (1 + np.exp(-X[:, 0])))
train("binary_logistic", {"objective": "binary:logistic", "max_depth": 5}, binary)
train("binary_logistic_base", {"objective": "binary:logistic", "max_depth": 3, "base_score": 0.3}, binary)
train("binary_logistic_saturated", {"objective": "binary:logistic", "max_depth": 6, "eta": 1.0}, binary, rounds=60)
train("binary_logitraw", {"objective": "binary:logitraw", "max_depth": 4}, binary)
train("binary_hinge", {"objective": "binary:hinge", "max_depth": 4}, binary)
train("poisson", {"objective": "count:poisson", "max_depth": 4}, count)
train("gamma", {"objective": "reg:gamma", "max_depth": 4}, positive)
train("tweedie", {"objective": "reg:tweedie", "tweedie_variance_power": 1.3, "max_depth": 4}, count)
train("cox", {"objective": "survival:cox", "max_depth": 3}, lambda X: np.where(X[:, 1] > 0, 1, -1) * (np.abs(X[:, 0]) + 1))
train("softprob_3", {"objective": "multi:softprob", "num_class": 3, "max_depth": 4}, multi3)
train("softmax_4", {"objective": "multi:softmax", "num_class": 4, "max_depth": 3}, multi4)
train("rank_pairwise", {"objective": "rank:pairwise", "max_depth": 4}, rank, group=[100] * 6)
train("rank_ndcg", {"objective": "rank:ndcg", "max_depth": 4}, rank, group=[100] * 6)
train("categorical_binary", {"objective": "binary:logistic", "max_depth": 4, "max_cat_to_onehot": 1}, cat_bin, cat_cols=(1, 3))
train("categorical_onehot", {"objective": "reg:squarederror", "max_depth": 3, "max_cat_to_onehot": 16}, cat_bin, cat_cols=(1,))
train("categorical_softprob", {"objective": "multi:softprob", "num_class": 3, "max_depth": 4, "max_cat_to_onehot": 1},
      lambda X: (X[:, 1] % 3), cat_cols=(1, 4))
train("dart", {"objective": "reg:squarederror", "booster": "dart", "rate_drop": 0.3, "skip_drop": 0.0, "max_depth": 3}, lin)
train("random_forest", {"objective": "binary:logistic", "num_parallel_tree": 4, "subsample": 0.7,
                        "colsample_bynode": 0.6, "max_depth": 4}, binary, rounds=3)
train("multi_target", {"objective": "reg:squarederror", "max_depth": 3, "multi_strategy": "one_output_per_tree"},
      lambda X: np.stack([lin(X), X[:, 3] * 2], axis=1))

with open(f"{OUT}/cases.json", "w") as f:
    json.dump(CASES, f, indent=1)



def refused(name, params, X, y, **dm):
    booster = xgb.train({"seed": 7, "nthread": 1, **params}, xgb.DMatrix(X, label=y, **dm), 3)
    booster.save_model(f"{OUT}/refuse_{name}.json")
    booster.save_model(f"{OUT}/refuse_{name}.ubj")


# Models the Go package must refuse, each with a clear error.
Xr = features(200, 0.0)
refused("gblinear", {"booster": "gblinear"}, Xr, lin(Xr))
refused("vector_leaf", {"tree_method": "hist", "multi_strategy": "multi_output_tree"}, Xr,
        np.stack([lin(Xr), Xr[:, 1]], axis=1))
import pandas as pd  # noqa: E402

df = pd.DataFrame({"colour": pd.Categorical(RNG.choice(["red", "green", "blue"], 200)), "x": Xr[:, 0]})
refused("pandas_categories", {"max_depth": 2}, df, lin(Xr), enable_categorical=True)
