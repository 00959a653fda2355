#!/usr/bin/env python3
"""topics_spike_oracle.py — how soon could ANY count test see a demo spike?

For each injected spike of the demo world in the database (VIGIL_DSN), the
spiked problem's tickets are counted by the demo's truth (perfect grouping:
every language, every sub-topic, nothing else) and tested as vigil's trend
test does (topics/trend.c): expectation = the problem's share of the
baseline (28 days) x the other tickets of the tested days (so weekday and
volume swings cancel), the scan of the last 1..3 days with a factor 3,
Poisson tail (the lower bound: vigil's negative binomial is never below
it). Prints, per spike and per day after onset, the tested days' counts
against their expectation and the p-value: the best a detector could do
with these tickets, whatever its grouping.

    VIGIL_DSN=... bench/topics_spike_oracle.py [WORLD]
"""
import math
import os
import subprocess
import sys


def q(sql):
    out = subprocess.run(["psql", os.environ["VIGIL_DSN"], "-XAtF\t", "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def poisson_tail(k, mu):
    """P(X >= k), X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    # 1 - P(X <= k-1), summed in log space from the upper side for accuracy.
    terms = [math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1))
             for i in range(k, k + 400)]
    return min(1.0, sum(terms))


def scan(counts, totals, a, base=28, w=3):
    """p-value of the scan at as_of index a (days a-w..a-1 tested)."""
    b = sum(counts[a - w - base:a - w])
    tb = sum(totals[a - w - base:a - w])
    share = (b + 0.5) / (tb - b + 1.0)
    best, o, tot, best_k = 1.0, 0, 0, w
    for k in range(1, w + 1):
        o += counts[a - k]
        tot += totals[a - k]
        e = share * (tot - o)
        p = poisson_tail(o, e)
        if p < best:
            best, best_k = p, k
    o_k = sum(counts[a - best_k:a])
    e_k = share * (sum(totals[a - best_k:a]) - o_k)
    return min(1.0, w * best), best_k, o_k, e_k


def main():
    world = sys.argv[1] if len(sys.argv) > 1 else "-"
    spikes = q("SELECT topic, spike_of, onset FROM vigil_demo_truth.emerging_issues "
               "WHERE kind = 'spike' AND spike_of IS NOT NULL ORDER BY onset")
    for name, base_topic, onset in spikes:
        rows = q(f"""
          WITH d AS (SELECT generate_series(DATE '{onset}' - 40, DATE '{onset}' + 10,
                                            '1 day')::date AS day)
          SELECT d.day, extract(isodow FROM d.day),
            (SELECT count(*) FROM tickets t JOIN vigil_demo_truth.ticket_topics g
               USING (ticket_id) WHERE g.topic IN ('{base_topic}', '{name}')
               AND t.created_at >= d.day AND t.created_at < d.day + 1),
            (SELECT count(*) FROM tickets t WHERE t.created_at >= d.day
               AND t.created_at < d.day + 1)
          FROM d ORDER BY d.day""")
        days = [r[0] for r in rows]
        dow = [int(float(r[1])) for r in rows]
        counts = [int(r[2]) for r in rows]
        totals = [int(r[3]) for r in rows]
        i0 = days.index(onset)
        print(f"| {world} | {name} ({base_topic}) | {onset} "
              f"({'Mon Tue Wed Thu Fri Sat Sun'.split()[dow[i0] - 1]}) | "
              + " | ".join(
                  "{:d}/{:.1f} ({}d) p={:.1g}".format(o, e, k, p)
                  for p, k, o, e in (scan(counts, totals, i0 + n) for n in range(1, 6)))
              + " |")


if __name__ == "__main__":
    main()
