#!/usr/bin/python3
"""churn_real_line.py — is vigil's linear model as good a line as
scikit-learn's logistic regression? On bank_churn's five folds (the CSV
that `churn_real.py bank-prepare` writes), both fitted on the same rows and
measured on the same test fold:

  - scikit-learn LogisticRegression on standardised numbers and one-hot
    categories (the reference pipeline of churn_real.py);
  - the line vigil fits, rebuilt in python-xgboost: one-hot levels + other
    (features/), log1p for non-negative columns wider than 20,
    standardised, clipped to +-5 (model/lininput.c); gblinear, shotgun on
    one thread, eta 0.5, lambda from {1e-4, 1e-3, 1e-2} by held-out log
    loss on a fifth of the training rows, early stopping 5 (model/booster.c);
  - the same line without log1p, and scikit-learn on vigil's inputs.

    churn_real_line.py build/bench/real-bank-folds.csv

One JSON line per fold, then the means."""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUM = ["credit_score", "age", "tenure_years", "balance", "num_products",
       "has_cr_card", "is_active_member", "estimated_salary"]
CAT = ["geography", "gender"]


def onehot(x, levels):
    m = x[NUM].astype(float).copy()
    for c in CAT:
        for lv in levels[c]:
            m[f"{c}={lv}"] = (x[c] == lv).astype(float)
        m[f"{c}=other"] = (~x[c].isin(levels[c])).astype(float)
    return m.values


def fit_tf(x, log):
    tf = []
    for j in range(x.shape[1]):
        v = x[:, j]
        lg = log and v.min() >= 0 and v.max() > 20
        w = np.log1p(v) if lg else v
        sd = w.std()
        tf.append((lg, w.mean(), sd if sd > 1e-6 else 1.0))
    return tf


def apply_tf(tf, x):
    z = np.empty_like(x)
    for j, (lg, mu, sd) in enumerate(tf):
        v = np.log1p(np.maximum(x[:, j], 0)) if lg else x[:, j]
        z[:, j] = np.clip((v - mu) / sd, -5, 5)
    return z


def vigil_line(ztr, ytr, zho, yho):
    best = None
    for lam in (1e-4, 1e-3, 1e-2):
        p = {"objective": "binary:logistic", "eval_metric": "logloss",
             "booster": "gblinear", "updater": "shotgun",
             "feature_selector": "cyclic", "eta": 0.5, "lambda": lam,
             "nthread": 1}
        b = xgb.train(p, xgb.DMatrix(ztr, ytr), 100,
                      evals=[(xgb.DMatrix(zho, yho), "v")],
                      early_stopping_rounds=5, verbose_eval=False)
        if best is None or b.best_score < best.best_score:
            best = b
    return best


def main(path):
    d = pd.read_csv(path)
    rows = []
    for f in range(5):
        tr, te = d[d.fold != f], d[d.fold == f]
        levels = {c: list(tr[c].value_counts().index) for c in CAT}
        xtr, xte = onehot(tr, levels), onehot(te, levels)
        ytr, yte = tr.exited.values, te.exited.values
        rng = np.random.default_rng(f)
        idx = rng.permutation(len(tr))
        ho, fi = idx[: len(tr) // 5], idx[len(tr) // 5:]
        r = {"fold": f}
        lr = make_pipeline(
            ColumnTransformer([("n", StandardScaler(), NUM),
                               ("c", OneHotEncoder(), CAT)]),
            LogisticRegression(max_iter=1000))
        lr.fit(tr[NUM + CAT], ytr)
        r["sklearn_lr"] = roc_auc_score(yte, lr.predict_proba(te[NUM + CAT])[:, 1])
        for name, log in (("vigil_line", True), ("vigil_line_no_log1p", False)):
            tf = fit_tf(xtr[fi], log)
            b = vigil_line(apply_tf(tf, xtr[fi]), ytr[fi],
                           apply_tf(tf, xtr[ho]), ytr[ho])
            p = b.predict(xgb.DMatrix(apply_tf(tf, xte)),
                          iteration_range=(0, b.best_iteration + 1))
            r[name] = roc_auc_score(yte, p)
            r[name + "_rounds"] = b.best_iteration + 1
            if log:
                lz = LogisticRegression(max_iter=2000).fit(apply_tf(tf, xtr[fi]), ytr[fi])
                r["sklearn_lr_on_vigil_inputs"] = roc_auc_score(
                    yte, lz.predict_proba(apply_tf(tf, xte))[:, 1])
        rows.append(r)
        print(json.dumps(r), flush=True)
    m = pd.DataFrame(rows).drop(columns="fold").mean()
    print(json.dumps({"mean": {k: round(v, 4) for k, v in m.items()}}))


if __name__ == "__main__":
    main(sys.argv[1])
