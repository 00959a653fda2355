#!/usr/bin/python3
"""churn_protocol.py — which part of a churn pipeline makes the difference on
one demo world: the features or the way the model is trained.

    churn_protocol.py DSN FEATURE_DIR VARIANT [VARIANT ...]

FEATURE_DIR holds `vigil features --as-of D --out FEATURE_DIR/D.csv` for
every observation date the variants need (the script names the missing
ones). Each VARIANT is FEATURES:PROTOCOL[:OPTION=VALUE,...]:

  FEATURES  ref    bench/churn_reference.py's eleven hand-written features
            vigil  vigil's own matrix, as `vigil features` writes it
  PROTOCOL  ref    churn_reference.py's training: 6 monthly dates, eta 0.05,
                   depth 4, early stopping on the latest date, refit on all
            vigil  vigil's purged stages re-enacted (README, "Training"):
                   dates D-H-k*step over 180 days, select stage fitted on
                   t_k <= t_s - H with early stopping on t_s, the grid
                   of two settings by churned rows, final refit on all
                   dates with the chosen rounds (no calibration: the
                   ranking is what is measured)
  OPTION    step=30    days between observation dates (vigil protocol)
            lookback=N days of observation dates (vigil protocol)
            reg=K      lambda and min_child_weight times K (vigil protocol):
                       what weights of 1/K on every row would do

For the dates 2026-08-02, 2026-09-01 and 2026-10-01 (30-day horizon) it
prints the ROC AUC of each variant on the customers active at the date
against the churn realised in the 30 days after it, and the top features by
gain of the middle date's model. Reads the source tables with psql and the
CSVs; writes nothing."""
import os
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import churn_reference as R  # noqa: E402

H = 30
DATES = ["2026-08-02", "2026-09-01", "2026-10-01"]


def day(s):
    return int((np.datetime64(s) - np.datetime64("1970-01-01")).astype(int))


def iso(d):
    return str(np.datetime64("1970-01-01") + np.timedelta64(d, "D"))


class Data:
    def __init__(self, dsn, fdir):
        self.cust, self.ev, self.tk = R.load(dsn)
        self.fdir = fdir
        self.csv = {}

    def feats(self, t, kind):
        x, y = R.features(self.cust, self.ev, self.tk, t, H)
        if kind == "ref":
            return x.astype(float), y
        if t not in self.csv:
            path = f"{self.fdir}/{iso(t)}.csv"
            if not os.path.exists(path):
                sys.exit(f"missing {path}: run `vigil features --as-of {iso(t)} --out {path}`")
            v = pd.read_csv(path).set_index("customer_id").drop(columns=["as_of"])
            self.csv[t] = v
        # the same customers as the reference's (active at t), its labels
        return self.csv[t].reindex(x.index).astype(float), y

    def stack(self, dates, kind):
        parts = [self.feats(t, kind) for t in dates]
        cols = list(parts[0][0].columns)
        for p in parts[1:]:
            cols += [c for c in p[0].columns if c not in cols]
        xs = [p[0].reindex(columns=cols) for p in parts]
        k = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(parts)])
        return pd.concat(xs), pd.concat([p[1] for p in parts]), k, cols


def params(eta, depth, mcw, lam, max_bin):
    return {"objective": "binary:logistic", "eval_metric": "logloss",
            "eta": eta, "max_depth": depth, "min_child_weight": mcw,
            "lambda": lam, "subsample": 0.8, "colsample_bytree": 0.8,
            "tree_method": "hist", "max_bin": max_bin, "nthread": 2, "seed": 1}


def early_stop(p, xf, yf, xh, yh, rounds, patience):
    b = xgb.train(p, xgb.DMatrix(xf, yf), rounds,
                  evals=[(xgb.DMatrix(xh, yh), "v")],
                  early_stopping_rounds=patience, verbose_eval=False)
    r = b.best_iteration + 1
    return r, log_loss(yh, b.predict(xgb.DMatrix(xh), iteration_range=(0, r)))


def ref_protocol(data, d, kind):
    dates = [d - H - 30 * k for k in range(6)]
    x, y, k, cols = data.stack(dates, kind)
    p = dict(R.PARAMS)
    r, _ = early_stop(p, x[k > 0], y[k > 0], x[k == 0], y[k == 0], 2000, 50)
    return xgb.train(p, xgb.DMatrix(x, y), r), r, cols


def vigil_protocol(data, d, kind, step=7, lookback=180, reg=1):
    dates = [d - H - step * k for k in range(lookback // step + 1)]
    x, y, k, cols = data.stack(dates, kind)
    ts = next(i for i in range(1, len(dates)) if dates[i] + H <= dates[0])
    tf = next(i for i in range(ts + 1, len(dates)) if dates[i] + H <= dates[ts])
    fit, ho = k >= tf, k == ts
    pos, rows = y[fit].sum(), fit.sum()
    eta, rounds, patience, depth, lam = (
        (0.05, 1000, 50, (2, 3), (5, 10)) if pos <= 500 else
        (0.1, 500, 30, (3, 5), (2, 5)) if pos <= 5000 else
        (0.2, 300, 20, (4, 6), (2, 5)))
    mcw = min(max(rows / 20000, 1), 20)
    best = None
    for i in range(2):
        p = params(eta, depth[i], reg * mcw * (i + 1), reg * lam[i], 64)
        r, ll = early_stop(p, x[fit], y[fit], x[ho], y[ho], rounds, patience)
        if best is None or ll < best[2]:
            best = (p, r, ll)
    p, r, _ = best
    return xgb.train(p, xgb.DMatrix(x, y), r), r, cols


def run(data, variant):
    kind, proto, *rest = variant.split(":")
    opts = {}
    for o in (rest[0].split(",") if rest else []):
        key, val = o.split("=")
        opts[key] = int(val)
    aucs, trees, imp = [], [], {}
    for s in DATES:
        d = day(s)
        if proto == "ref":
            model, r, cols = ref_protocol(data, d, kind)
        else:
            model, r, cols = vigil_protocol(data, d, kind, **opts)
        xs, ys = data.feats(d, kind)
        aucs.append(roc_auc_score(ys, model.predict(xgb.DMatrix(xs.reindex(columns=cols)))))
        trees.append(r)
        if s == DATES[1]:
            imp = model.get_score(importance_type="total_gain")
    print(f"| {variant} | " + " | ".join(f"{a:.4f}" for a in aucs) +
          f" | {np.mean(aucs):.4f} | {', '.join(map(str, trees))} |", flush=True)
    tot = sum(imp.values())
    top = sorted(imp.items(), key=lambda z: -z[1])[:8]
    print("    top gain (" + DATES[1] + "): " +
          ", ".join(f"{n} {g / tot:.2f}" for n, g in top), flush=True)


def main():
    data = Data(sys.argv[1], sys.argv[2])
    print("| variant | " + " | ".join(DATES) + " | mean | trees |")
    print("|---|---|---|---|---|---|")
    for v in sys.argv[3:]:
        run(data, v)


if __name__ == "__main__":
    main()
