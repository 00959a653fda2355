#!/usr/bin/env python3
"""backend_cpu.py — where a PostgreSQL cluster's CPU goes during one command.

    bench/backend_cpu.py PGDIR TAIL_SECONDS -- COMMAND [ARGS...]

Polls every 0.1 s the postmaster's children in /proc (utime + stime, and
their process titles), runs COMMAND, keeps polling TAIL_SECONDS after it
exits (autovacuum, the checkpointer's work after a big write), and prints
one JSON object: CPU seconds per process, grouped by role — each client
backend with the statements pg_stat_activity showed for it (sampled every
second), its parallel workers folded into it, autovacuum workers with the
table they worked on, and the long-lived processes (checkpointer,
walwriter, background writer, ...). A process seen only once it started
counts from zero; one alive before counts from the first sample. A
process's last 0.1 s before it exits can be lost; the postmaster's reaped
children's total is printed beside for comparison (it also holds the
sampling's own short psql sessions, one a second, which the per-process
list leaves out when they end between two polls).
"""
import json, os, subprocess, sys, time

TCK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        f = s[s.rindex(")") + 2:].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f2:
            title = f2.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return int(f[1]), (int(f[11]) + int(f[12])) / TCK, \
            (int(f[13]) + int(f[14])) / TCK, title
    except (OSError, ValueError):
        return None


def main():
    pgdir, tail = sys.argv[1], float(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pm = int(open(f"{pgdir}/data/postmaster.pid").readline())
    dsn = subprocess.check_output(["scripts/pg.sh", "dsn", pgdir], text=True).strip()
    procs = {}  # pid -> {"c0", "c", "titles"}

    def poll(first=False):
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            st = stat(d)
            if not st or st[0] != pm:
                continue
            pid = int(d)
            p = procs.get(pid)
            if p is None:
                p = procs[pid] = {"c0": st[1] if first else 0.0, "titles": []}
            p["c"] = st[1]
            t = st[3]
            if t and (not p["titles"] or p["titles"][-1] != t) and len(p["titles"]) < 40:
                p["titles"].append(t)

    queries = {}

    def sample_activity():
        try:
            out = subprocess.run(
                ["psql", dsn, "-XAtF", "\t", "-c",
                 "SELECT pid, coalesce(leader_pid, 0), backend_type, "
                 "regexp_replace(left(query, 70), '\\s+', ' ', 'g') FROM pg_stat_activity "
                 "WHERE pid <> pg_backend_pid()"],
                capture_output=True, text=True, timeout=5).stdout
        except subprocess.TimeoutExpired:
            return
        for line in out.splitlines():
            pid, leader, btype, q = (line.split("\t") + ["", "", "", ""])[:4]
            e = queries.setdefault(int(pid), {"type": btype, "leader": int(leader), "q": []})
            if q and q not in e["q"] and len(e["q"]) < 6:
                e["q"].append(q)
            if int(leader):
                e["leader"] = int(leader)

    cpm0 = stat(pm)[2]
    poll(first=True)
    t0 = time.time()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    last_act = 0
    end = None
    while True:
        poll()
        now = time.time()
        if now - last_act >= 1.0:
            sample_activity()
            last_act = now
        if end is None and child.poll() is not None:
            end = now
        if end is not None and now - end >= tail:
            break
        time.sleep(0.1)
    cpm1 = stat(pm)[2]
    rows = []
    for pid, p in procs.items():
        cpu = round(p["c"] - p["c0"], 2)
        if cpu <= 0:
            continue
        a = queries.get(pid, {})
        rows.append({"pid": pid, "cpu": cpu, "type": a.get("type", ""),
                     "leader": a.get("leader", 0), "titles": p["titles"][:8],
                     "queries": a.get("q", [])})
    rows.sort(key=lambda r: -r["cpu"])
    print(json.dumps({"cmd": " ".join(cmd), "rc": child.returncode,
                      "wall": round(end - t0, 1), "tail": tail,
                      "reaped_children_cpu": round(cpm1 - cpm0, 2),
                      "total_cpu": round(sum(r["cpu"] for r in rows), 2),
                      "procs": rows}, indent=1))


main()
