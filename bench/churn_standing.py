#!/usr/bin/python3
"""churn_standing.py — vigil against a reference pipeline on the same
customers, with a paired bootstrap: the Python half of
bench/churn_standing.sh.

    churn_standing.py vigil-dump DSN HORIZON DATE OUT.csv
        vigil's churn_risk as of DATE from vigil.scores, with the label of
        tests/outside_eval.h (canceled_at in [DATE, DATE + HORIZON), UTC):
        customer_id, p, y
    churn_standing.py compare NAME DIR GROUP [GROUP ...]
        for each GROUP (a date, or a fold): DIR/vigil-GROUP.csv against
        DIR/REF-GROUP.csv (both customer_id, p, y; REF=ref unless the
        environment sets REF, e.g. REF=lr), joined on customer_id; one JSON
        object on stdout (see below). A GROUP SUB/G reads DIR/SUB/vigil-G.csv:
        several worlds' dates pooled into one mean (each date one group)
    churn_standing.py table FILE.json [FILE.json ...]
        compare's results as a Markdown table, one row per file

compare: per group, each pipeline's ROC AUC and Brier on its own rows and
on the rows both scored (the paired set; a label disagreement on a shared
customer is an error), then the mean over the groups of vigil − reference
and a paired bootstrap of it: B = 2,000 replicates (BOOT=...), seed
20261207 (SEED=...); each replicate draws every group's paired customers
with replacement, the same draw for both pipelines (multinomial weights),
and takes the mean over groups of AUC(vigil) − AUC(reference) and of the
Brier difference. Reported: the percentile 95 % interval, the share of
replicates with a difference ≥ +0.01 and ≥ 0, and the bootstrap standard
error. The AUC is the Mann–Whitney one with ties counted half, weighted by
the draw, so the unweighted value equals scikit-learn's roc_auc_score
(checked on every group). CLUSTER=1 draws customers instead of
customer-dates: a customer scored at several dates is drawn once with one
weight for all of them (a check on the independence of the dates)."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score


def vigil_dump(dsn, horizon, day, out):
    np.datetime64(day, "D")  # a date, nothing else, goes into the SQL
    sql = ("SELECT s.customer_id, s.churn_risk AS p, "
           f"coalesce(c.canceled_at >= '{day}'::date AND c.canceled_at < "
           f"'{day}'::date + {int(horizon)}, false)::int AS y FROM vigil.scores s "
           f"JOIN customers c USING (customer_id) WHERE s.as_of = '{day}'::date "
           "ORDER BY 1")
    csv = subprocess.run(["psql", dsn, "-qAtX", "-c", "SET TIME ZONE 'UTC'", "-c",
                          f"COPY ({sql}) TO STDOUT WITH CSV HEADER"],
                         check=True, capture_output=True, text=True).stdout
    d = pd.read_csv(io.StringIO(csv), dtype={"customer_id": str})
    if d.empty:
        sys.exit(f"churn_standing.py: no scores as of {day}")
    d.to_csv(out, index=False, float_format="%.9g")


class Group:
    """One date's (or fold's) paired customers, sorted once so that every
    bootstrap replicate's AUC is a few bincounts."""

    def __init__(self, y, pv, pr):
        self.y, self.pv, self.pr = y, pv, pr
        self.tie_v = np.unique(pv, return_inverse=True)[1]
        self.tie_r = np.unique(pr, return_inverse=True)[1]

    @staticmethod
    def auc(ties, y, w):
        pos = np.bincount(ties, weights=w * y)
        neg = np.bincount(ties, weights=w * (1 - y))
        below = np.cumsum(neg) - neg
        return float(np.sum(pos * (below + 0.5 * neg)) / (pos.sum() * neg.sum()))

    def diff(self, w):
        """AUC and Brier of vigil minus the reference's, rows weighted by w."""
        a = self.auc(self.tie_v, self.y, w) - self.auc(self.tie_r, self.y, w)
        b = np.sum(w * ((self.pv - self.y) ** 2 - (self.pr - self.y) ** 2)) / w.sum()
        return a, float(b)


def metrics(d):
    return {"rows": len(d), "churned": int(d.y.sum()),
            "auc": roc_auc_score(d.y, d.p), "brier": brier_score_loss(d.y, d.p)}


def load_group(path, g):
    sub, name = os.path.split(g)
    ref = os.environ.get("REF", "ref")
    v = pd.read_csv(os.path.join(path, sub, f"vigil-{name}.csv"), dtype={"customer_id": str})
    r = pd.read_csv(os.path.join(path, sub, f"{ref}-{name}.csv"), dtype={"customer_id": str})
    j = v.merge(r, on="customer_id", suffixes=("_v", "_r"))
    if (j.y_v != j.y_r).any():
        sys.exit(f"churn_standing.py: {g}: the two label the same customer differently")
    y = j.y_v.to_numpy(float)
    grp = Group(y, j.p_v.to_numpy(float), j.p_r.to_numpy(float))
    grp.keys = (sub + "/" + j.customer_id).to_numpy()
    one = np.ones(len(y))
    pv, pr = metrics(j.rename(columns={"p_v": "p", "y_v": "y"})), \
        metrics(j.rename(columns={"p_r": "p", "y_r": "y"}).drop(columns="y_v"))
    for name, m, p in (("vigil", pv, grp.pv), ("ref", pr, grp.pr)):
        own = Group.auc(np.unique(p, return_inverse=True)[1], y, one)
        assert abs(own - m["auc"]) < 1e-9, (g, name, own, m["auc"])
    row = {"group": g, "vigil_own": metrics(v), "ref_own": metrics(r),
           "paired": {"rows": len(j), "churned": int(y.sum()),
                      "vigil_only": len(v) - len(j), "ref_only": len(r) - len(j),
                      "vigil": pv, "ref": pr,
                      "auc_diff": pv["auc"] - pr["auc"],
                      "brier_diff": pv["brier"] - pr["brier"]}}
    return row, grp


def summarise(x):
    x = np.asarray(x)
    lo, hi = np.percentile(x, [2.5, 97.5])
    return {"lo95": float(lo), "hi95": float(hi), "se": float(x.std(ddof=1)),
            "share_ge_0.01": float(np.mean(x >= 0.01)),
            "share_ge_0": float(np.mean(x >= 0))}


def compare(name, path, groups):
    boot = int(os.environ.get("BOOT", 2000))
    seed = int(os.environ.get("SEED", 20261207))
    cluster = os.environ.get("CLUSTER", "0") == "1"
    rows, grps = zip(*(load_group(path, g) for g in groups))
    # CLUSTER=1: a customer is drawn once for all the groups it is in (its
    # dates are not independent draws), the weight its rows share
    keys, inv = np.unique(np.concatenate([g.keys for g in grps]), return_inverse=True)
    at = np.cumsum([0] + [len(g.y) for g in grps])
    rng = np.random.default_rng(seed)
    da, db = np.zeros(boot), np.zeros(boot)
    for i in range(boot):
        if cluster:
            wu = np.bincount(rng.integers(0, len(keys), len(keys)), minlength=len(keys))
        for k, gr in enumerate(grps):
            n = len(gr.y)
            if cluster:
                w = wu[inv[at[k]:at[k + 1]]].astype(float)
            else:
                w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            a, b = gr.diff(w)
            da[i] += a / len(grps)
            db[i] += b / len(grps)
    mean = lambda k: float(np.mean([r["paired"][k] for r in rows]))
    out = {"name": name, "groups": list(rows), "bootstrap": boot, "seed": seed,
           "cluster": cluster,
           "auc_diff": mean("auc_diff"), "brier_diff": mean("brier_diff"),
           "vigil_auc": float(np.mean([r["paired"]["vigil"]["auc"] for r in rows])),
           "ref_auc": float(np.mean([r["paired"]["ref"]["auc"] for r in rows])),
           "vigil_brier": float(np.mean([r["paired"]["vigil"]["brier"] for r in rows])),
           "ref_brier": float(np.mean([r["paired"]["ref"]["brier"] for r in rows])),
           "auc_boot": summarise(da), "brier_boot": summarise(db)}
    print(json.dumps(out))


def table(files):
    print("| set | vigil AUC | reference AUC | vigil − reference | 95 % interval | "
          "share ≥ +0.01 | share ≥ 0 | vigil Brier | reference Brier | "
          "Brier difference (95 % interval) | groups: customers, churned |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        x = json.load(open(f))
        a, b = x["auc_boot"], x["brier_boot"]
        g = "; ".join(f"{r['group']}: {r['paired']['rows']}, {r['paired']['churned']}"
                      for r in x["groups"])
        print(f"| {x['name']} | {x['vigil_auc']:.4f} | {x['ref_auc']:.4f} | "
              f"{x['auc_diff']:+.4f} | {a['lo95']:+.4f} … {a['hi95']:+.4f} | "
              f"{a['share_ge_0.01']:.3f} | {a['share_ge_0']:.3f} | {x['vigil_brier']:.4f} | "
              f"{x['ref_brier']:.4f} | {x['brier_diff']:+.5f} ({b['lo95']:+.5f} … "
              f"{b['hi95']:+.5f}) | {g} |")


def main():
    a = sys.argv[1:]
    if a[:1] == ["vigil-dump"] and len(a) == 5:
        vigil_dump(a[1], a[2], a[3], a[4])
    elif a[:1] == ["compare"] and len(a) >= 4:
        compare(a[1], a[2], a[3:])
    elif a[:1] == ["table"] and len(a) >= 2:
        table(a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
