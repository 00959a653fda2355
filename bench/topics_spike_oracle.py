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
    VIGIL_DSN=... /usr/bin/python3 bench/topics_spike_oracle.py --words [WORLD]
    VIGIL_DSN=... /usr/bin/python3 bench/topics_spike_oracle.py --grouping [WORLD]

--grouping (same database after a `vigil topics` backfill) shows where
each spike's tickets sat in vigil's own topics on the days after onset (the
assignment valid that day, from vigil.ticket_topics and
vigil.ticket_topic_history), in its sums of sibling topics and in the
tickets carrying its support notion: coverage (the problem's tickets held)
and purity (the share that are the problem's), the scan's p; and how pure
a unit holding all of the problem's tickets would have to be to reach
trend.topic_max_p. Optional scipy: the negative binomial p as well.

--words (needs numpy and scipy: Debian's python3-scipy) counts by words
instead of by the truth: every case-folded word of subject and body with
at least MIN_BASE tickets in the baseline, and every notion of vigil's
en/de/fr/es support vocabulary (topics/issues.c: a ticket carries
"~password" when a word starts with passwort, contraseña, ...), each tested
like a topic; Bonferroni over the items tested that day (x its count). Per
spike and day after onset: the best item whose excess is mostly the
spike's tickets (corrected p). Then false alerts: runs of days on which an
item is significant at the threshold and its excess is NOT mostly injected
tickets (any injected issue), per 30 replayed days (2026-09-02..11-01),
for the words and the notions.
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


VOCAB = {
    "~login": "login logon anmeld einlogg connexion sesión sesion acceso acceder",
    "~password": "password passwort kennwort contraseña",
    "~export": "export", "~import": "import",
    "~invoice": "invoice rechnung factur",
    "~payment": "payment zahlung paiement pago",
    "~refund": "refund erstatt rembours reembols",
    "~slow": "slow langsam lent lento lenta",
    "~certificate": "certificat zertifikat",
    "~encoding": "encoding kodierung encodage codificac umlaut accent acent "
                 "charact caract zeichen",
    "~webhook": "webhook", "~permission": "permission berechtigung permiso droits",
    "~invite": "invit einladung", "~notification": "notif benachrichtig",
    "~report": "report bericht rapport informe",
    "~timezone": "timezone zeitzone fuseau horari",
    "~cancel": "cancel kündig résili", "~crash": "crash absturz abstürz bloque",
    "~upgrade": "upgrade", "~sync": "sync synchron",
}
# Month and weekday names (and their short forms) burst with the calendar
# ("since September 1"); vigil masks them too (topics/issues.c).
CALENDAR = set("""january february march april may june july august september
october november december monday tuesday wednesday thursday friday saturday
sunday januar februar märz mai juni juli oktober dezember montag dienstag
mittwoch donnerstag freitag samstag sonntag janvier février mars avril juin
juillet août septembre octobre novembre décembre lundi mardi mercredi jeudi
vendredi samedi dimanche enero febrero marzo abril mayo junio julio agosto
septiembre setiembre octubre noviembre diciembre lunes martes miércoles
jueves viernes sábado domingo jan feb mar apr jun jul aug sep sept oct nov
dec okt dez""".split())
MIN_BASE = 10
FIRST, LAST = "2026-09-02", "2026-11-01"


def words_main(world):
    import datetime as dt
    import re
    import numpy as np
    from scipy.stats import poisson
    day0 = dt.date(2026, 7, 20)
    ndays = (dt.date(2026, 11, 2) - day0).days
    spikes = q("SELECT topic, spike_of, onset FROM vigil_demo_truth.emerging_issues "
               "WHERE kind = 'spike' AND spike_of IS NOT NULL ORDER BY onset")
    injected = {r[0] for r in q("SELECT topic FROM vigil_demo_truth.emerging_issues")}
    rows = q(f"""SELECT (t.created_at AT TIME ZONE 'UTC')::date - DATE '{day0}',
                   coalesce(g.topic, ''), translate(lower(coalesce(t.subject, '')
                   || ' ' || left(coalesce(t.body, ''), 3000)), E'\\n\\r\\t', '   ')
                 FROM tickets t LEFT JOIN vigil_demo_truth.ticket_topics g USING (ticket_id)
                 WHERE t.created_at >= DATE '{day0}' AND t.created_at < DATE '2026-11-02'""")
    tok = re.compile(r"[^\W\d_]{3,}")
    prefixes = [(c, p) for c, ps in VOCAB.items() for p in ps.split()]
    idx, names = {}, []
    total = np.zeros(ndays)
    cnt, inj = {}, {}  # item -> per-day tickets, per-day injected tickets
    spike_of = {}      # item -> per-spike per-day tickets of that spike
    by_topic = {}      # notion -> truth topic -> per-day tickets
    topic_days = {}    # truth topic -> per-day tickets
    for d, topic, text in rows:
        d = int(d)
        if d < 0 or d >= ndays:
            continue
        total[d] += 1
        topic_days.setdefault(topic, np.zeros(ndays))[d] += 1
        items = set(tok.findall(text)) - CALENDAR
        items |= {c for w in items for c, p in prefixes if w.startswith(p)}
        for it in items:
            a = cnt.get(it)
            if a is None:
                a = cnt[it] = np.zeros(ndays)
                inj[it] = np.zeros(ndays)
                spike_of[it] = {}
            a[d] += 1
            if it.startswith("~"):
                by = by_topic.setdefault(it, {}).setdefault(topic, np.zeros(ndays))
                by[d] += 1
            if topic in injected:
                inj[it][d] += 1
                sp = spike_of[it].setdefault(topic, np.zeros(ndays))
                sp[d] += 1
    items = [it for it in cnt]
    C = np.array([cnt[it] for it in items])
    I = np.array([inj[it] for it in items])
    notion = np.array([it.startswith("~") for it in items])

    def test(a):
        """corrected-free scan p, its window, o, e and the tested mask at as_of a."""
        b = C[:, a - 31:a - 3].sum(1)
        tb = total[a - 31:a - 3].sum()
        share = (b + 0.5) / (tb - b + 1.0)
        best = np.ones(len(items))
        bk = np.ones(len(items), dtype=int)
        for k in (1, 2, 3):
            o = C[:, a - k:a].sum(1)
            e = share * (total[a - k:a].sum() - o)
            p = poisson.sf(o - 1, e)
            upd = p < best
            best[upd], bk[upd] = p[upd], k
        best = np.minimum(1.0, 3 * best)
        tested = b >= MIN_BASE
        o = np.array([C[i, a - bk[i]:a].sum() for i in range(len(items))])
        e = share * (np.array([total[a - k:a].sum() for k in bk]) - o)
        return best, bk, o, e, tested, b

    first = (dt.date.fromisoformat(FIRST) - day0).days
    last = (dt.date.fromisoformat(LAST) - day0).days
    cache = {a: test(a) for a in range(first, last + 1)}
    for name, base_topic, onset in spikes:
        a0 = (dt.date.fromisoformat(onset) - day0).days
        cells = []
        for n in range(1, 6):
            best, bk, o, e, tested, b = cache[a0 + n] if a0 + n in cache else test(a0 + n)
            for kind, mask in (("word", tested & ~notion), ("notion", tested & notion)):
                m = mask.sum()
                cand = []
                for i in np.nonzero(mask)[0]:
                    sp = spike_of[items[i]].get(name)
                    s_in = sp[a0 + n - bk[i]:a0 + n].sum() if sp is not None else 0
                    if o[i] - e[i] > 0 and s_in >= (o[i] - e[i]) / 2:
                        cand.append((best[i] * m, items[i], o[i], e[i], bk[i]))
                if cand:
                    pc, it, oo, ee, k = min(cand)
                    cells.append(f"{kind} {it} {oo:.0f}/{ee:.1f} ({k}d) {min(pc, 1):.1g}")
                else:
                    cells.append(f"{kind} -")
        # The spiked problem's notions in the 28 days before: coverage (its
        # tickets carrying the notion) and purity (the notion's tickets
        # that are the problem's): a word test sees the excess of the
        # covered tickets against the noise of all the notion's tickets.
        lo, hi = a0 - 28, a0
        mine = topic_days[base_topic][lo:hi].sum()
        notes = []
        for nt, by in sorted(by_topic.items()):
            own = by.get(base_topic, np.zeros(ndays))[lo:hi].sum()
            alln = sum(v[lo:hi].sum() for v in by.values())
            if own >= 0.2 * mine:
                notes.append(f"{nt} cov {own / mine:.2f} pur {own / alln:.2f}")
        print(f"  {world} {base_topic}: {mine / 28:.1f} tickets/day; " + "; ".join(notes))
        print(f"| {world} | {name} | {onset} | " + " | ".join(
            " / ".join(cells[2 * j:2 * j + 2]) for j in range(5)) + " |")
    # false alerts: runs of significant, unexplained days per item
    for thr in (1e-2, 3e-3, 1e-3, 1e-4, 1e-6):
        for kind, sel in (("word", ~notion), ("notion", notion)):
            runs, prev = 0, set()
            for a in range(first, last + 1):
                best, bk, o, e, tested, b = cache[a]
                mask = tested & sel
                m = mask.sum()
                ii = np.array([I[i, a - bk[i]:a].sum() for i in range(len(items))])
                hit = mask & (best * m <= thr) & (ii < (o - e) / 2)
                now = {items[i] for i in np.nonzero(hit)[0]}
                runs += len(now - prev)
                if thr == 1e-2 and now - prev:
                    print(f"  false {kind} {day0 + dt.timedelta(a)}: "
                          + ", ".join(sorted(now - prev)[:8]))
                prev = now
            ntest = np.mean([(cache[a][4] & sel).sum() for a in range(first, last + 1)])
            print(f"false {world} {kind} thr={thr:g} items={ntest:.0f} alerts={runs} "
                  f"per30={runs * 30 / (last - first + 1):.2f}")


def spike_days(base_topic, name, onset):
    """Days onset-40 .. onset+10: dates, weekdays, the problem's tickets by
    the truth, all tickets."""
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
    return ([r[0] for r in rows], [int(float(r[1])) for r in rows],
            [int(r[2]) for r in rows], [int(r[3]) for r in rows])


def cusum_threshold(np, rng, e, budget, f=2.0, days=400000):
    """Smallest CUSUM threshold h (rise to x f) whose false alarms under
    Poisson(e, the baseline's weekday pattern cycled) stay at or below
    budget per day; an alarm restarts the statistic (a new alert)."""
    grid = np.arange(0.5, 20.0, 0.05)
    s = np.zeros(grid.size)
    alarms = np.zeros(grid.size)
    lf = math.log(f)
    e = np.asarray(e, float)
    x = rng.poisson(np.resize(e, days))
    ee = np.resize(e, days)
    for t in range(days):
        s = np.maximum(0.0, s + x[t] * lf - (f - 1.0) * ee[t])
        hit = s >= grid
        alarms += hit
        s[hit] = 0.0
    ok = alarms / days <= budget
    return float(grid[np.argmax(ok)]) if ok.any() else float("inf")


def cusum_main(world, tests_a_day=50):
    """Per spike: the problem's baseline rate, its first two days, and what
    the optimal sequential test for a x2 rise (Poisson CUSUM, threshold set
    so that tests_a_day tests x 30 days give at most 1 false alert) sees:
    the day it alarms on these tickets, and its chance to alarm within 2
    days on a true x2 of the same baseline. Then the same chance for a flat
    baseline of lambda tickets a day (the floor)."""
    import numpy as np
    rng = np.random.default_rng(7)
    budget = 1.0 / (30.0 * tests_a_day)
    lf = math.log(2.0)
    spikes = q("SELECT topic, spike_of, onset FROM vigil_demo_truth.emerging_issues "
               "WHERE kind = 'spike' AND spike_of IS NOT NULL ORDER BY onset")
    for name, base_topic, onset in spikes:
        days, dow, counts, totals = spike_days(base_topic, name, onset)
        i0 = days.index(onset)
        b, tb = sum(counts[i0 - 28:i0]), sum(totals[i0 - 28:i0])
        share = (b + 0.5) / (tb - b + 1.0)
        e = [share * (totals[i] - counts[i]) for i in range(len(days))]
        lam = b / 28.0
        h = cusum_threshold(np, rng, e[i0 - 28:i0], budget)
        # On these tickets, from 28 days before onset.
        st, first, pre = 0.0, None, 0
        for i in range(i0 - 28, len(days)):
            st = max(0.0, st + counts[i] * lf - e[i])
            if st >= h:
                if i < i0:
                    pre += 1
                elif first is None:
                    first = i - i0 + 1
                st = 0.0
        # A true x2 of the same expectation, from S = 0 at onset.
        sims = 100000
        s = np.zeros(sims)
        hit = np.zeros(sims, bool)
        by = []
        for k in range(5):
            x = rng.poisson(2.0 * e[i0 + k], sims)
            s = np.maximum(0.0, s + x * lf - e[i0 + k])
            hit |= s >= h
            by.append(hit.mean())
        print(f"| {world} | {name} | {onset} "
              f"({'Mon Tue Wed Thu Fri Sat Sun'.split()[dow[i0] - 1]}) | "
              f"{lam:.1f} | {counts[i0]}/{e[i0]:.1f}, {counts[i0 + 1]}/{e[i0 + 1]:.1f} | "
              f"{h:.2f} | {first if first else '>10'} | {pre} | "
              f"{by[0]:.2f} / {by[1]:.2f} / {by[2]:.2f} |")
    print()
    print("| baseline tickets a day | CUSUM threshold h | CUSUM: P(alert "
          "within 1 day) | within 2 days | within 3 days | scan: threshold "
          "| P(alert within 1 day) | within 2 days | within 3 days |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lam in (3, 5, 7, 10, 15, 20, 30, 50):
        h = cusum_threshold(np, rng, [lam], budget, days=200000)
        s = np.zeros(100000)
        hit = np.zeros(100000, bool)
        by = []
        for k in range(3):
            s = np.maximum(0.0, s + rng.poisson(2.0 * lam, s.size) * lf - lam)
            hit |= s >= h
            by.append(hit.mean())
        sc = scan_power(np, rng, lam, budget)
        print(f"| {lam} | {h:.2f} | {by[0]:.2f} | {by[1]:.2f} | {by[2]:.2f} | "
              f"{sc[0]:.1g} | {sc[1]:.2f} | {sc[2]:.2f} | {sc[3]:.2f} |")


def scan_power(np, rng, lam, budget, days=200000, sims=100000):
    """vigil's scan (the last 1, 2 and 3 days' sums, the smallest Poisson
    tail) with its threshold set to the same false-alert budget (an alert
    opens when the scan crosses it): the threshold, and the chance to
    alert within 1, 2, 3 days of a x2 rise."""
    from scipy.stats import poisson

    def minp(x, mu):
        c = np.cumsum(x[:, ::-1], axis=1)[:, :3]
        p = poisson.sf(c - 1, mu * np.arange(1, 4))
        return p.min(axis=1)

    x = rng.poisson(lam, days + 2)
    w = np.stack([x[2:], x[1:-1], x[:-2]], axis=1)[:, ::-1]
    m = minp(w, lam)
    best = 0.0
    for c in np.logspace(-8, -2, 61):
        hit = m <= c
        onsets = hit[1:] & ~hit[:-1]
        if onsets.mean() <= budget:
            best = c
    out = [best]
    seq = np.concatenate([rng.poisson(lam, (sims, 3)),
                          rng.poisson(2 * lam, (sims, 3))], axis=1)
    hit = np.zeros(sims, bool)
    for k in range(1, 4):
        # day k after onset tests the 3 days ending with the k-th spike day
        hit |= minp(seq[:, k:k + 3], lam) <= best
        out.append(hit.mean())
    return out


def notions_of(words):
    """vigil's support notions of a list of case-folded words (issues.c)."""
    out = []
    for w in words:
        for c, ps in VOCAB.items():
            if c not in out and any(w.startswith(x) for x in ps.split()):
                out.append(c)
    return out


def grouping_main(world, max_p=1e-4):
    """Where a spike's tickets sat in vigil's topics and notions on the
    days after onset (the assignment valid that day, from
    vigil.ticket_topics and vigil.ticket_topic_history, the model of that
    day and its labels), and how pure a unit holding all of them would
    have to be for the scan to reach max_p (trend.topic_max_p)."""
    import datetime as dt
    import re
    tok = re.compile(r"[^\W\d_]{3,}")
    spikes = q("SELECT topic, spike_of, onset FROM vigil_demo_truth.emerging_issues "
               "WHERE kind = 'spike' AND spike_of IS NOT NULL ORDER BY onset")
    for name, base_topic, onset in spikes:
        mine = (name, base_topic)
        o0 = dt.date.fromisoformat(onset)
        print(f"\n## world {world}: {name} ({base_topic}), onset {onset}")
        for n in (1, 2):
            a = o0 + dt.timedelta(n)
            lo = a - dt.timedelta(31)
            model = q(f"SELECT model_id, as_of FROM vigil.topic_models WHERE as_of <= '{a}' "
                      "ORDER BY as_of DESC LIMIT 1")
            if not model:
                print("no topic model on", a)
                continue
            mid = model[0][0]
            labels = {int(r[0]): (r[1], r[2]) for r in q(
                f"SELECT topic_id, label, array_to_string(surface_terms[1:3], '|') "
                f"FROM vigil.topic_centroids WHERE model_id = {mid}")}
            rows = q(f"""
              SELECT '{a}'::date - (t.created_at AT TIME ZONE 'UTC')::date,
                coalesce(g.topic, ''), coalesce(g.language, ''),
                coalesce(h.topic_id, CASE WHEN c.assigned_on <= '{a}' THEN c.topic_id END, 0),
                translate(lower(coalesce(t.subject, '')), E'\\n\\r\\t', '   '),
                translate(lower(coalesce(t.subject, '') || ' ' || left(coalesce(t.body, ''), 3000)),
                          E'\\n\\r\\t', '   ')
              FROM tickets t LEFT JOIN vigil_demo_truth.ticket_topics g USING (ticket_id)
              LEFT JOIN vigil.ticket_topics c USING (ticket_id)
              LEFT JOIN LATERAL (SELECT h.topic_id FROM vigil.ticket_topic_history h
                 WHERE h.ticket_id = t.ticket_id AND h.assigned_on <= '{a}'
                   AND h.replaced_on > '{a}' ORDER BY h.assigned_on DESC LIMIT 1) h ON true
              WHERE t.created_at >= '{lo}' AND t.created_at < '{a}'""")
            recs = []
            for ago, truth, lang, tid, subj, text in rows:
                words = set(tok.findall(text)) - CALENDAR
                recs.append((31 - int(ago), truth in mine, lang, int(tid), subj,
                             words, set(notions_of(words)), set(notions_of(tok.findall(subj)))))
            totals = [0] * 31
            for r in recs:
                totals[r[0]] += 1

            def days(sel):
                c = [0] * 31
                for r in recs:
                    if sel(r):
                        c[r[0]] += 1
                return c

            def line(what, sel):
                c = days(sel)
                pc = days(lambda r: sel(r) and r[1])
                p, k, o, e = scan(c, totals, 31)
                base, pb = sum(c[:28]), sum(pc[:28])
                allp = sum(days(lambda r: r[1])[:28])
                win = sum(c[31 - k:])
                pw = sum(pc[31 - k:])
                print(f"| {what} | {base} | {pb / allp if allp else 0:.2f} | "
                      f"{pb / base if base else 0:.2f} | {win} ({pw}) | {o}/{e:.1f} ({k}d) | {p:.1g} |")

            print(f"\n### as of {a} (model {mid} of {model[0][1]}), the {onset} onset "
                  f"{'day' if n == 1 else 'and the day after'} tested\n")
            print("| tickets counted | baseline (28 d) | coverage | purity | last days (problem's) | scan | p |")
            print("|---|---|---|---|---|---|---|")
            line("the problem, by the truth", lambda r: r[1])
            byt = {}
            for r in recs:
                if r[1] and r[0] < 28:
                    byt[r[3]] = byt.get(r[3], 0) + 1
            allp = sum(byt.values())
            for tid, k in sorted(byt.items(), key=lambda x: -x[1]):
                if k < 0.05 * allp:
                    continue
                lab, st = labels.get(tid, ("(no topic)", ""))
                nts = notions_of(w for s in st.split("|") for w in s.split())
                line(f"topic {tid} `{lab}` {' '.join(nts)}", lambda r, t=tid: r[3] == t)
            # vigil's sums of sibling topics: the topics whose first three
            # label terms carry a notion (alerts.c add_units)
            lead = {}
            for tid, (lab, st) in labels.items():
                for c in notions_of(w for s in st.split("|") for w in s.split())[:4]:
                    lead.setdefault(c, set()).add(tid)
            pn = {}
            for r in recs:
                if r[1] and r[0] < 28:
                    for c in r[5 + 1]:
                        pn[c] = pn.get(c, 0) + 1
            for c in sorted(pn, key=lambda x: -pn[x]):
                if pn[c] < 0.5 * allp:
                    continue
                m = lead.get(c, set())
                if len(m) >= 2:
                    line(f"sum of the {len(m)} topics led by {c}", lambda r, m=m: r[3] in m)
                    # the scan over subsets (a spatial scan, Kulldorff-style):
                    # the j topics of the notion with the smallest p of
                    # their own, summed, j = 1 .. |m|; the best, times |m|
                    own = sorted(m, key=lambda t: scan(days(lambda r, t=t: r[3] == t),
                                                       totals, 31)[0])
                    best = None
                    for j in range(1, len(own) + 1):
                        sel = set(own[:j])
                        res = scan(days(lambda r, sel=sel: r[3] in sel), totals, 31)
                        if best is None or res[0] < best[0][0]:
                            best = (res, j, sel)
                    (pp, k, o, e), j, sel = best
                    pur = sum(1 for r in recs if r[0] < 28 and r[3] in sel and r[1]) / max(
                        1, sum(1 for r in recs if r[0] < 28 and r[3] in sel))
                    print(f"| the {j} of them that rose most (subset scan, x{len(m)}) | | | "
                          f"{pur:.2f} | | {o}/{e:.1f} ({k}d) | {min(1.0, pp * len(m)):.1g} |")
                line(f"tickets carrying {c}", lambda r, c=c: c in r[6])
                line(f"tickets carrying {c} and no other notion",
                     lambda r, c=c: r[6] == {c})
                line(f"subject carrying {c}, no other notion in the ticket",
                     lambda r, c=c: c in r[7] and r[6] == {c})
            # the purity a unit holding every one of the problem's tickets
            # would need: background at its expectation added to both sides;
            # Poisson, and the negative binomial with vigil's dispersion
            # (trend.c: the median over the model's topics with >= 20
            # baseline tickets of their Pearson chi-square / (days - 1))
            ratios = []
            for tid in labels:
                ct = days(lambda r, t=tid: r[3] == t)
                b, tb = sum(ct[:28]), sum(totals[:28])
                if b < 20:
                    continue
                x2 = sum((ct[d] - b / tb * totals[d]) ** 2 / (b / tb * totals[d])
                         for d in range(28) if totals[d] > 0)
                ratios.append(x2 / 27)
            ratios.sort()
            phi = max(1.0, ratios[len(ratios) // 2] if len(ratios) % 2 else
                      (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2) if ratios else 1.0
            c = days(lambda r: r[1])
            p, k, o, e = scan(c, totals, 31)
            need = []
            try:
                from scipy.stats import nbinom
            except ImportError:
                nbinom = None
            for pur in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
                bg = e * (1 - pur) / pur
                x, mu = round(o + bg), e + bg
                cell = f"{pur:.1f}: {min(1.0, 3 * poisson_tail(x, mu)):.1g}"
                if nbinom is not None and phi > 1:
                    cell += f" ({min(1.0, 3 * nbinom.sf(x - 1, mu / (phi - 1), 1 / phi)):.1g})"
                need.append(cell)
            print(f"\nA unit with all the problem's tickets ({o} against {e:.1f} over {k} days) "
                  f"at purity π (others at their expectation), p Poisson (negative binomial, "
                  f"dispersion {phi:.2f}): " + ", ".join(need)
                  + f" (trend.topic_max_p {max_p:g})")
            if n == 1:
                # the words the problem's tickets share, per language: those in
                # at least 30 % of its baseline tickets of that language, with
                # the share of all tickets carrying the word that are its own
                print("\nWords in >= 30 % of the problem's baseline tickets, per language "
                      "(coverage / purity):")
                for lang in sorted({r[2] for r in recs if r[1]}):
                    own = [r for r in recs if r[1] and r[2] == lang and r[0] < 28]
                    cnt = {}
                    for r in own:
                        for w in r[5]:
                            cnt[w] = cnt.get(w, 0) + 1
                    cells = []
                    for w, k in sorted(cnt.items(), key=lambda x: -x[1])[:8]:
                        if k < 0.3 * len(own):
                            break
                        tot = sum(1 for r in recs if r[0] < 28 and w in r[5])
                        cells.append(f"{w} {k / len(own):.2f}/{k / tot:.2f}")
                    subj = {}
                    for r in own:
                        s = re.sub(r"^(re|aw|fw|wg|tr|rv|urgent|dringend|urgente?)\s*:\s*", "", r[4])
                        s = " ".join(tok.findall(s)[:4])
                        subj[s] = subj.get(s, 0) + 1
                    print(f"- {lang} ({len(own)} tickets, {len(subj)} subjects): " + ", ".join(cells))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--cusum":
        cusum_main(sys.argv[2] if len(sys.argv) > 2 else "-")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--grouping":
        grouping_main(sys.argv[2] if len(sys.argv) > 2 else "-")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--words":
        words_main(sys.argv[2] if len(sys.argv) > 2 else "-")
        return
    world = sys.argv[1] if len(sys.argv) > 1 else "-"
    spikes = q("SELECT topic, spike_of, onset FROM vigil_demo_truth.emerging_issues "
               "WHERE kind = 'spike' AND spike_of IS NOT NULL ORDER BY onset")
    for name, base_topic, onset in spikes:
        days, dow, counts, totals = spike_days(base_topic, name, onset)
        i0 = days.index(onset)
        print(f"| {world} | {name} ({base_topic}) | {onset} "
              f"({'Mon Tue Wed Thu Fri Sat Sun'.split()[dow[i0] - 1]}) | "
              + " | ".join(
                  "{:d}/{:.1f} ({}d) p={:.1g}".format(o, e, k, p)
                  for p, k, o, e in (scan(counts, totals, i0 + n) for n in range(1, 6)))
              + " |")


if __name__ == "__main__":
    main()
