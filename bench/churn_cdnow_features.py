#!/usr/bin/python3
"""churn_cdnow_features.py — which purchase-log features could lift a churn
model on cdnow above the plain reference (docs/BENCHMARKS.md, "Family
`lifetime`")? Reads CDNOW_master.txt directly (no PostgreSQL), builds the
same label as bench/churn_real.sh (lost = a purchase followed by 180 days
without one; horizon 90 days) and the same pipeline as
bench/churn_reference.py (6 monthly observation dates, early stopping on the
latest, refit on all), then adds feature sets one at a time:

  reference  days since the last purchase (uncapped), events in 7/30/90
             days, tenure  (= churn_reference.py on these relations)
  +lifetime  vigil's family lifetime: whole-history event rows, money, CDs,
             events per 30 days of tenure
  +gaps      BTYD-style regularity: active days, mean gap between them
             ((last - first) / (days - 1)), days since the last purchase
             over the mean gap, money per active day
  +gap_cv    the spread of the gaps (CV, largest gap, since-last over it)

    churn_cdnow_features.py CDNOW_master.txt

Prints the realised ROC AUC per date and the mean, one line per set."""
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

DATES = ("1998-01-31", "1998-03-02", "1998-04-01")
H = 90
PARAMS = {"objective": "binary:logistic", "eval_metric": "logloss", "eta": 0.05,
          "max_depth": 4, "subsample": 0.8, "colsample_bytree": 0.8,
          "tree_method": "hist", "nthread": 1, "seed": 1}


def day(s):
    return (pd.Timestamp(s) - pd.Timestamp("1970-01-01")).days


def load(path):
    df = pd.read_csv(path, sep=r"\s+", header=0,
                     names=["id", "date", "cds", "dollars"])
    df["day"] = (pd.to_datetime(df.date.astype(str))
                 - pd.Timestamp("1970-01-01")).dt.days
    p = (df.groupby(["id", "day"])
         .agg(cds=("cds", "sum"), dol=("dollars", "sum"), n=("cds", "size"))
         .reset_index().sort_values(["id", "day"]))
    nxt = p.groupby("id").day.shift(-1)
    lapse = p[(nxt.fillna(10**9) > p.day + 180) & (p.day + 180 <= day("1998-06-30"))]
    cust = pd.DataFrame({"created": p.groupby("id").day.min()})
    cust["canceled"] = lapse.groupby("id").day.min() + 180
    return p, cust


def features(p, cust, t, level):
    c = cust[(cust.created < t) & (cust.canceled.isna() | (cust.canceled >= t))].copy()
    e = p[p.day < t]
    g = e.groupby("id")
    c["since_last"] = t - g.day.max()
    for w in (7, 30, 90):  # two usage events per purchase, as mapped
        c[f"ev_{w}"] = (e[e.day >= t - w].groupby("id").n.sum() * 2).reindex(c.index).fillna(0)
    c["tenure"] = t - c.created
    if level >= 1:
        c["life_rows"] = g.n.sum() * 2
        c["life_dol"] = g.dol.sum()
        c["life_cds"] = g.cds.sum()
        c["life_rate"] = c.life_rows * 30 / np.maximum(c.tenure, 30)
    if level >= 2:
        x, first, last = g.day.nunique(), g.day.min(), g.day.max()
        c["act_days"] = x
        c["mean_gap"] = (last - first) / (x - 1).where(x > 1)
        c["since_over_gap"] = c.since_last / c.mean_gap
        c["dol_per_day"] = c.life_dol / x
    if level >= 3:
        gaps = e.assign(prev=g.day.shift()).dropna(subset=["prev"])
        gg = (gaps.day - gaps.prev).groupby(gaps.id)
        c["gap_cv"] = gg.std() / gg.mean()
        c["gap_max"] = gg.max()
        c["since_over_max"] = c.since_last / c.gap_max
    y = ((c.canceled >= t) & (c.canceled < t + H)).astype(int)
    return c.drop(columns=["created", "canceled"]), y


def one_date(p, cust, d, level):
    parts = [features(p, cust, d - H - 30 * k, level) for k in range(6)]
    xv, yv = parts[0]
    xt = pd.concat([q[0] for q in parts[1:]])
    yt = pd.concat([q[1] for q in parts[1:]])
    b = xgb.train(PARAMS, xgb.DMatrix(xt, yt), 2000,
                  evals=[(xgb.DMatrix(xv, yv), "v")], early_stopping_rounds=50,
                  verbose_eval=False)
    xa = pd.concat([q[0] for q in parts])
    ya = pd.concat([q[1] for q in parts])
    final = xgb.train(PARAMS, xgb.DMatrix(xa, ya), b.best_iteration + 1)
    xs, ys = features(p, cust, d, level)
    return roc_auc_score(ys, final.predict(xgb.DMatrix(xs)))


def main():
    p, cust = load(sys.argv[1])
    names = ("reference", "+lifetime", "+gaps", "+gap_cv")
    for level, name in enumerate(names):
        aucs = [one_date(p, cust, day(s), level) for s in DATES]
        print(f"{name:10s} " + " ".join(f"{a:.4f}" for a in aucs)
              + f"  mean {np.mean(aucs):.4f}", flush=True)


if __name__ == "__main__":
    main()
