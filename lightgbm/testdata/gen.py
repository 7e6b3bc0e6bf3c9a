"""Generate the lightgbm package's test models and golden predictions.

Each case NAME writes two files next to this script:

  NAME.txt  the model, as lightgbm's Booster.save_model writes it
  NAME.csv  golden rows: f0..f<n-1> are the features fed to Booster.predict,
            p0..p<k-1> its outputs (k = 1, or the number of classes), every
            value written with repr(float) so it round-trips exactly; "nan"
            is a missing value.

The Go tests only read these files; nothing runs Python at test time. The
rows mix random inputs with the awkward ones: NaN in every feature, zeros and
values within 1e-35 of zero, every split threshold and its two float64
neighbours, and for categorical features negative, fractional, unseen and
out-of-int-range values.

Run (lightgbm 4.6.0, numpy 2.x; seeded and single-threaded, so reruns write
the same files):

    python gen.py
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 7
N_TRAIN = 600
N_RANDOM = 120

BASE = {"seed": SEED, "deterministic": True, "num_threads": 1, "verbosity": -1, "force_row_wise": True}


def numeric_data(rng, n, with_nan=True):
    """Four numeric features: f0 with NaNs, f1 often exactly zero, f2/f3 dense."""
    X = rng.normal(size=(n, 4))
    X[rng.random(n) < 0.3, 1] = 0.0
    if with_nan:
        X[rng.random(n) < 0.15, 0] = np.nan
    y = 2.0 * np.nan_to_num(X[:, 0], nan=1.5) + np.where(X[:, 1] == 0, 3.0, X[:, 1]) + np.sin(X[:, 2]) + 0.1 * rng.normal(size=n)
    return X, y


def categorical_data(rng, n):
    """c0 has 70 categories (bitsets span three 32-bit words), c1 has 3, x2 is numeric."""
    c0 = rng.integers(0, 70, size=n).astype(float)
    c1 = rng.integers(0, 3, size=n).astype(float)
    x2 = rng.normal(size=n)
    effect = np.sin(c0 * 1.7) * 3.0
    y = effect + np.array([0.0, 2.0, -1.0])[c1.astype(int)] + x2
    c0[rng.random(n) < 0.05] = np.nan
    return np.column_stack([c0, c1, x2]), y


def thresholds(booster):
    """(feature, threshold) of every numerical split in the model."""
    out = []

    def walk(node):
        if "split_index" not in node:
            return
        if node["decision_type"] == "<=":
            out.append((node["split_feature"], float(node["threshold"])))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return out


def edge_rows(booster, X, rng, categorical=()):
    """Rows that probe NaN, zero, tiny values, exact thresholds and odd categories."""
    n_feat = X.shape[1]
    base = np.nan_to_num(X[:8].copy(), nan=0.5)
    rows = []
    specials = [np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, 1.0000000180025095e-35, -1.0000000180025095e-35, 2e-35]
    if categorical:
        specials += [-1.0, -0.5, -0.99, 0.5, 2.7, 31.0, 32.0, 33.0, 63.0, 64.0, 69.0, 70.0, 100.0, 1e10, 2.0**31, -1e10]
    for j in range(n_feat):
        for s in specials:
            r = base[rng.integers(0, len(base))].copy()
            r[j] = s
            rows.append(r)
    seen = set()
    for f, t in thresholds(booster):
        for v in (np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf)):
            if (f, v) in seen:
                continue
            seen.add((f, v))
            r = base[rng.integers(0, len(base))].copy()
            r[f] = v
            rows.append(r)
    rows.append(np.full(n_feat, np.nan))
    return np.array(rows)


def write_case(name, booster, X_probe):
    booster.save_model(str(HERE / f"{name}.txt"))
    # Predict with a model reloaded from the file, as a server would.
    loaded = lgb.Booster(model_file=str(HERE / f"{name}.txt"))
    pred = np.asarray(loaded.predict(X_probe), dtype="float64")
    assert np.array_equal(pred, np.asarray(booster.predict(X_probe)), equal_nan=True)
    if pred.ndim == 1:
        pred = pred[:, None]
    cols = [f"f{j}" for j in range(X_probe.shape[1])] + [f"p{k}" for k in range(pred.shape[1])]
    lines = [",".join(cols)]
    for x, p in zip(X_probe, pred):
        lines.append(",".join(repr(float(v)) for v in list(x) + list(p)))
    (HERE / f"{name}.csv").write_text("\n".join(lines) + "\n")
    size = (HERE / f"{name}.txt").stat().st_size
    assert size < 50_000, f"{name}.txt is {size} bytes"
    print(f"{name}: {booster.num_trees()} trees, {len(X_probe)} golden rows, {size} bytes")


def train(params, X, y, rounds, categorical="auto"):
    ds = lgb.Dataset(X, label=y, categorical_feature=categorical, free_raw_data=False)
    return lgb.train({**BASE, **params}, ds, num_boost_round=rounds)


def probe(booster, X, rng, categorical=()):
    return np.vstack([X[:N_RANDOM], edge_rows(booster, X, rng, categorical)])


def main():
    rng = np.random.default_rng(SEED)
    X, y = numeric_data(rng, N_TRAIN)
    Xt, _ = numeric_data(rng, N_RANDOM)
    small = {"num_leaves": 7, "learning_rate": 0.2, "min_data_in_leaf": 10}

    # Numerical splits with NaN missing type (f0), None (f2, f3) and zeros in f1.
    b = train({**small, "objective": "regression"}, X, y, 12)
    write_case("regression_nan", b, probe(b, Xt, rng))

    # zero_as_missing: missing type Zero, NaN and zero both take the default side.
    b = train({**small, "objective": "regression", "zero_as_missing": True}, X, y, 12)
    write_case("regression_zero", b, probe(b, Xt, rng))

    # reg_sqrt: output is sign(x)*x*x.
    b = train({**small, "objective": "regression", "reg_sqrt": True}, X, y, 8)
    write_case("regression_sqrt", b, probe(b, Xt, rng))

    # Categorical bitsets over several words, plus a one-hot style feature.
    Xc, yc = categorical_data(rng, N_TRAIN)
    Xct, _ = categorical_data(rng, N_RANDOM)
    b = train({**small, "objective": "regression", "max_cat_to_onehot": 4, "min_data_per_group": 5, "cat_smooth": 1},
              Xc, yc, 12, categorical=[0, 1])
    write_case("categorical", b, probe(b, Xct, rng, categorical=(0, 1)))

    # Binary with a non-default sigmoid.
    yb = (y > np.median(y)).astype(float)
    b = train({**small, "objective": "binary", "sigmoid": 0.7}, X, yb, 10)
    write_case("binary", b, probe(b, Xt, rng))

    # Count objectives: exp of the raw score.
    ycount = rng.poisson(np.exp(0.3 * np.nan_to_num(X[:, 0]) + 0.2 * X[:, 2] + 1.0)).astype(float)
    b = train({**small, "objective": "poisson"}, X, ycount, 10)
    write_case("poisson", b, probe(b, Xt, rng))
    b = train({**small, "objective": "tweedie"}, X, ycount, 6)
    write_case("tweedie", b, probe(b, Xt, rng))

    # cross_entropy on labels in [0, 1].
    yp = 1.0 / (1.0 + np.exp(-y / 3.0))
    b = train({**small, "objective": "cross_entropy"}, X, yp, 8)
    write_case("xentropy", b, probe(b, Xt, rng))

    # Multiclass softmax; class 3 never occurs, so its trees are single leaves.
    ym = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(float)
    b = train({**small, "objective": "multiclass", "num_class": 4}, X, ym, 6)
    write_case("multiclass", b, probe(b, Xt, rng))

    # One-vs-all multiclass: per-class sigmoid.
    b = train({**small, "objective": "multiclassova", "num_class": 3, "sigmoid": 1.3}, X, ym, 5)
    write_case("multiclassova", b, probe(b, Xt, rng))

    # Random forest: average_output divides by the number of iterations.
    b = train({**small, "objective": "regression", "boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1}, X, y, 8)
    write_case("rf", b, probe(b, Xt, rng))

    # Nothing can split: a single one-leaf tree holding the mean.
    b = train({"objective": "regression", "min_gain_to_split": 1e12}, X, y, 3)
    write_case("single_leaf", b, probe(b, Xt, rng))

    # Linear trees: the Go evaluator must refuse them.
    Xl = np.nan_to_num(X)
    b = train({"objective": "regression", "linear_tree": True, "num_leaves": 3}, Xl, y, 2)
    b.save_model(str(HERE / "linear.txt"))
    print("linear: model only")


if __name__ == "__main__":
    main()
