#!/usr/bin/python3
"""churn_real.py — the Python half of bench/churn_real.sh: preparing the two
real shared data sets for PostgreSQL, their reference pipelines, and the
outside evaluation of vigil on the attribute-only set.

    churn_real.py bank-prepare Churn_Modelling.csv OUT.csv
        stratified 5 folds (by Exited, deterministic), one CSV to COPY
    churn_real.py bank-reference OUT.csv
        per fold: scikit-learn logistic regression (standardised numbers,
        one-hot categories) and plain xgboost (early stopping on a
        stratified fifth of the training folds, then a refit with the
        chosen rounds) trained on the other four folds; one JSON line each;
        with PRED_DIR also PRED_DIR/{lr,xgb}-foldF.csv (customer_id, p, y)
    churn_real.py bank-eval DSN OUT.csv FOLD AS_OF [PRED_DIR]
        vigil's churn_risk (vigil.scores as of AS_OF) for the customers of
        FOLD against Exited: one JSON line; with PRED_DIR also
        PRED_DIR/vigil-foldF.csv (customer_id, p, y), for
        bench/churn_standing.py compare
    churn_real.py cdnow-prepare CDNOW_master.txt OUT.csv
        the purchase log as CSV (customer_id, day, cds, dollars)

Writes nothing to PostgreSQL; reads with psql."""
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUM = ["credit_score", "age", "tenure_years", "balance", "num_products",
       "has_cr_card", "is_active_member", "estimated_salary"]
CAT = ["geography", "gender"]
FOLDS = 5


def bank_prepare(src, out):
    d = pd.read_csv(src)
    d = d.rename(columns={
        "CustomerId": "customer_id", "CreditScore": "credit_score",
        "Geography": "geography", "Gender": "gender", "Age": "age",
        "Tenure": "tenure_years", "Balance": "balance",
        "NumOfProducts": "num_products", "HasCrCard": "has_cr_card",
        "IsActiveMember": "is_active_member",
        "EstimatedSalary": "estimated_salary", "Exited": "exited"})
    # Stratified: within each class, rows in a fixed pseudo-random order
    # dealt round-robin to the folds.
    rng = np.random.default_rng(20240101)
    d["fold"] = -1
    for _, idx in d.groupby("exited").groups.items():
        idx = np.array(idx)
        rng.shuffle(idx)
        d.loc[idx, "fold"] = np.arange(len(idx)) % FOLDS
    cols = ["customer_id", "fold", "exited"] + NUM + CAT
    d[cols].to_csv(out, index=False)


def write_pred(pred_dir, name, ids, p, y):
    if pred_dir:
        pd.DataFrame({"customer_id": ids.astype(str).values, "p": p,
                      "y": y.values}).to_csv(f"{pred_dir}/{name}.csv",
                                             index=False, float_format="%.9g")


def bank_reference(path, pred_dir=None):
    d = pd.read_csv(path)
    xgb_params = {"objective": "binary:logistic", "eval_metric": "logloss",
                  "eta": 0.05, "max_depth": 4, "subsample": 0.8,
                  "colsample_bytree": 0.8, "tree_method": "hist",
                  "nthread": 2, "seed": 1}
    for f in range(FOLDS):
        tr, te = d[d.fold != f], d[d.fold == f]
        lr = make_pipeline(
            ColumnTransformer([("n", StandardScaler(), NUM),
                               ("c", OneHotEncoder(), CAT)]),
            LogisticRegression(max_iter=1000))
        lr.fit(tr[NUM + CAT], tr.exited)
        p_lr = lr.predict_proba(te[NUM + CAT])[:, 1]

        def mat(x):
            m = x[NUM].copy()
            for c in CAT:
                m[c] = x[c].astype("category").cat.codes
            return m
        a, b = train_test_split(tr, test_size=0.2, stratify=tr.exited,
                                random_state=1)
        bst = xgb.train(xgb_params, xgb.DMatrix(mat(a), a.exited), 2000,
                        evals=[(xgb.DMatrix(mat(b), b.exited), "v")],
                        early_stopping_rounds=50, verbose_eval=False)
        rounds = bst.best_iteration + 1
        full = xgb.train(xgb_params, xgb.DMatrix(mat(tr), tr.exited), rounds)
        p_x = full.predict(xgb.DMatrix(mat(te)))
        write_pred(pred_dir, f"lr-fold{f}", te.customer_id, p_lr, te.exited)
        write_pred(pred_dir, f"xgb-fold{f}", te.customer_id, p_x, te.exited)
        print(json.dumps({
            "fold": f, "customers": len(te), "churned": int(te.exited.sum()),
            "logreg": {"auc": roc_auc_score(te.exited, p_lr),
                       "brier": brier_score_loss(te.exited, p_lr)},
            "xgboost": {"auc": roc_auc_score(te.exited, p_x),
                        "brier": brier_score_loss(te.exited, p_x),
                        "rounds": rounds}}), flush=True)


def query(dsn, sql):
    out = subprocess.run(["psql", dsn, "-qAt", "-c",
                          f"COPY ({sql}) TO STDOUT WITH CSV HEADER"],
                         check=True, capture_output=True, text=True).stdout
    return pd.read_csv(io.StringIO(out))


def bank_eval(dsn, path, fold, as_of, pred_dir=None):
    d = pd.read_csv(path)
    te = d[d.fold == int(fold)].copy()
    te["customer_id"] = te.customer_id.astype(str)
    s = query(dsn, "SELECT customer_id, churn_risk FROM vigil.scores "
              f"WHERE as_of = '{as_of}'")
    s["customer_id"] = s.customer_id.astype(str)
    m = te.merge(s, on="customer_id", how="left")
    missing = int(m.churn_risk.isna().sum())
    m = m.dropna(subset=["churn_risk"])
    write_pred(pred_dir, f"vigil-fold{fold}", m.customer_id, m.churn_risk.values,
               m.exited)
    print(json.dumps({"fold": int(fold), "customers": len(m),
                      "unscored": missing, "churned": int(m.exited.sum()),
                      "auc": roc_auc_score(m.exited, m.churn_risk),
                      "brier": brier_score_loss(m.exited, m.churn_risk)}),
          flush=True)


def cdnow_prepare(src, out):
    d = pd.read_csv(src, sep=r"\s+", dtype={"customer_id": str})
    d["day"] = pd.to_datetime(d.date.astype(str), format="%Y%m%d")
    d = d.rename(columns={"number_of_cds": "cds", "dollar_value": "dollars"})
    d[["customer_id", "day", "cds", "dollars"]].to_csv(out, index=False)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"bank-prepare": bank_prepare, "bank-reference": bank_reference,
     "bank-eval": bank_eval, "cdnow-prepare": cdnow_prepare}[cmd](*args)


if __name__ == "__main__":
    main()
