#!/usr/bin/python3
"""churn_reference.py — the plain pandas + python-xgboost churn pipeline that
vigil's backtest is compared with (bench/churn_worlds.sh).

    churn_reference.py [--predictions DIR] [--seed S] DSN HORIZON DATE [DATE ...]

For each DATE d: 6 monthly observation dates d-H-30k (k = 0..5), hand-written
features (events in 7/30/90 days, active days, days since the last event,
tickets and CSAT in 90 days, tenure, MRR, seats, plan), early stopping on the
latest date, a refit on all six with the chosen rounds, then ROC AUC and Brier
on the customers active at d against churn in [d, d+H). One JSON line per
date. Reads the source tables with psql; writes nothing to it. With
--predictions DIR it also writes DIR/ref-DATE.csv (customer_id, p, y: each
scored customer's predicted probability and label), for paired comparisons
(bench/churn_standing.py); the JSON lines are the same with or without it.
--seed S sets xgboost's seed (default 1: row and column subsampling), to see
how much the reference's own draw moves its AUC."""
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import brier_score_loss, roc_auc_score


def query(dsn, sql):
    out = subprocess.run(["psql", dsn, "-qAt", "-c",
                          f"COPY ({sql}) TO STDOUT WITH CSV HEADER"],
                         check=True, capture_output=True, text=True).stdout
    # ids stay text: cdnow's "00005" must not become 5 (the predictions
    # are joined with vigil's on the id)
    return pd.read_csv(io.StringIO(out), dtype={"customer_id": str})


DAY = "(({c}) AT TIME ZONE 'UTC')::date - date '1970-01-01'"


def load(dsn):
    cust = query(dsn, f"SELECT customer_id, {DAY.format(c='created_at')} AS created, "
                 f"{DAY.format(c='canceled_at')} AS canceled, plan, mrr, seats "
                 "FROM customers WHERE customer_id IS NOT NULL AND created_at IS NOT NULL")
    ev = query(dsn, f"SELECT customer_id, {DAY.format(c='occurred_at')} AS day, "
               "count(*) AS n FROM usage_events WHERE occurred_at IS NOT NULL "
               "AND customer_id IS NOT NULL GROUP BY 1, 2")
    tk = query(dsn, f"SELECT customer_id, {DAY.format(c='created_at')} AS day, "
               f"{DAY.format(c='resolved_at')} AS resolved, csat FROM tickets "
               "WHERE customer_id IS NOT NULL AND created_at IS NOT NULL")
    cust["plan"] = cust["plan"].astype("category").cat.codes
    return cust, ev, tk


def features(cust, ev, tk, t, horizon):
    c = cust[(cust.created < t) & (cust.canceled.isna() | (cust.canceled >= t))].copy()
    c = c.set_index("customer_id")
    e = ev[(ev.day < t) & (ev.day >= t - 90)]
    for w in (7, 30, 90):
        c[f"ev_{w}"] = e[e.day >= t - w].groupby("customer_id").n.sum()
    c["active_30"] = e[e.day >= t - 30].groupby("customer_id").day.nunique()
    c["since_last"] = t - ev[ev.day < t].groupby("customer_id").day.max()
    k = tk[(tk.day < t) & (tk.day >= t - 90)]
    c["tickets_90"] = k.groupby("customer_id").day.count()
    r = k[k.resolved < t]
    # float even with no rated ticket (an empty mean is an object column)
    c["csat_90"] = r.groupby("customer_id").csat.mean().astype(float)
    for col in ("ev_7", "ev_30", "ev_90", "active_30", "tickets_90"):
        c[col] = c[col].fillna(0)
    c["tenure"] = t - c.created
    y = ((c.canceled >= t) & (c.canceled < t + horizon)).astype(int)
    x = c.drop(columns=["created", "canceled"])
    return x, y


PARAMS = {"objective": "binary:logistic", "eval_metric": "logloss", "eta": 0.05,
          "max_depth": 4, "subsample": 0.8, "colsample_bytree": 0.8,
          "tree_method": "hist", "nthread": 2, "seed": 1}


def one_date(cust, ev, tk, d, horizon, params, pred_csv=None):
    obs = [d - horizon - 30 * k for k in range(6)]
    parts = [features(cust, ev, tk, t, horizon) for t in obs]
    xv, yv = parts[0]
    xt = pd.concat([p[0] for p in parts[1:]])
    yt = pd.concat([p[1] for p in parts[1:]])
    dt, dv = xgb.DMatrix(xt, yt), xgb.DMatrix(xv, yv)
    b = xgb.train(params, dt, 2000, evals=[(dv, "v")], early_stopping_rounds=50,
                  verbose_eval=False)
    rounds = b.best_iteration + 1
    xa = pd.concat([p[0] for p in parts])
    ya = pd.concat([p[1] for p in parts])
    final = xgb.train(params, xgb.DMatrix(xa, ya), rounds)
    xs, ys = features(cust, ev, tk, d, horizon)
    p = final.predict(xgb.DMatrix(xs))
    if pred_csv:
        pd.DataFrame({"customer_id": xs.index, "p": p, "y": ys.values}).to_csv(
            pred_csv, index=False, float_format="%.9g")
    return {"as_of_day": d, "customers": len(ys), "churned": int(ys.sum()),
            "rounds": rounds, "auc": roc_auc_score(ys, p),
            "brier": brier_score_loss(ys, p)}


def main():
    args, pred_dir, params = sys.argv[1:], None, dict(PARAMS)
    while args[:1] in (["--predictions"], ["--seed"]):
        if args[0] == "--seed":
            params["seed"] = int(args[1])
        else:
            pred_dir = args[1]
        args = args[2:]
    dsn, horizon = args[0], int(args[1])
    cust, ev, tk = load(dsn)
    for s in args[2:]:
        d = int((np.datetime64(s) - np.datetime64("1970-01-01")).astype(int))
        r = one_date(cust, ev, tk, d, horizon, params,
                     pred_dir and f"{pred_dir}/ref-{s}.csv")
        r["as_of"] = s
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
