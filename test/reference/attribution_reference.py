#!/usr/bin/env python3
"""Independent reference for the rule-based attribution expectations.

expected/attribution.out is checked against these numbers: this script
implements the model definitions of docs/attribution.md from scratch (no
shared code with src/lib/rules.c) over the small data set of
sql/attribution.sql, and prints every figure the test prints, rounded the
way the test rounds them.  Run: python3 test/reference/attribution_reference.py
"""
from datetime import datetime, timedelta
from collections import OrderedDict

T = lambda s: datetime.fromisoformat(s)

# sql/attribution.sql: tables tp and cv
TOUCHES = [  # user, channel, time, stage
    (1, 'search', '2026-01-01 10:00', None),
    (1, 'referral', '2026-01-03 10:00', None),
    (1, 'email', '2026-01-05 10:00', 'lead'),
    (1, 'direct', '2026-01-09 10:00', 'opportunity'),
    (1, 'video', '2026-02-15 10:00', None),
    (2, 'social', '2026-01-01 10:00', None),
    (2, 'display', '2026-01-20 10:00', None),
    (2, 'email', '2026-01-26 10:00', None),
    (4, 'direct', '2026-01-02 10:00', None),
    (4, 'direct', '2026-01-03 10:00', None),
    (5, 'search', '2026-01-02 10:00', None),
]
CONVERSIONS = [  # id, user, time, revenue
    ('c1', 1, '2026-01-10 10:00', 100.0),
    ('c2', 2, '2026-01-25 10:00', 50.0),
    ('c3', 3, '2026-01-05 10:00', 30.0),
    ('c4', 4, '2026-01-04 10:00', 20.0),
    ('c5', 1, '2026-02-20 10:00', 40.0),
]


def credits(model, path, opts):
    """path: list of (channel, age_days, stage) in time order -> credit per touch."""
    n = len(path)
    if model == 'first_touch':
        return [1.0] + [0.0] * (n - 1)
    if model == 'last_touch':
        return [0.0] * (n - 1) + [1.0]
    if model == 'last_non_direct':
        direct = opts.get('direct', 'direct')
        idx = max((i for i, t in enumerate(path) if t[0] != direct), default=n - 1)
        return [1.0 if i == idx else 0.0 for i in range(n)]
    if model == 'linear':
        return [1.0 / n] * n
    if model == 'time_decay':
        h = opts.get('half_life', 7.0)
        w = [0.5 ** (age / h) for (_, age, _) in path]
        return [x / sum(w) for x in w]
    if model == 'position_based':
        f, m, l = opts.get('weights', (0.4, 0.2, 0.4))
        if n == 1:
            return [1.0]
        if n == 2:
            return [f / (f + l), l / (f + l)]
        return [f] + [m / (n - 2)] * (n - 2) + [l]
    if model == 'w_shaped':
        lead = next((i for i, t in enumerate(path) if t[2] and 'lead' in t[2]), None)
        opp = next((i for i, t in enumerate(path) if t[2] and 'opportunity' in t[2]), None)
        c = [0.0] * n
        c[0] += 0.3
        pool = 0.1
        if lead is None:
            pool += 0.3
        else:
            c[lead] += 0.3
        if opp is None:
            pool += 0.3
        else:
            c[opp] += 0.3
        milestones = {0, lead, opp} - {None}
        others = [i for i in range(n) if i not in milestones]
        for i in (others if others else sorted(milestones)):
            c[i] += pool / (len(others) if others else len(milestones))
        return c
    if model == 'custom':
        w = opts['weights']
        raw = [w[min(i, len(w) - 1)] for i in range(n)]
        return [x / sum(raw) for x in raw]
    raise ValueError(model)


def paths(lookback_days):
    for cid, user, ctime, rev in CONVERSIONS:
        ct = T(ctime)
        ts = sorted([t for t in TOUCHES if t[0] == user], key=lambda t: T(t[2]))
        win = [(ch, (ct - T(tt)).total_seconds() / 86400, st) for (_, ch, tt, st) in ts
               if T(tt) <= ct and (lookback_days is None or T(tt) > ct - timedelta(days=lookback_days))]
        yield cid, ct, rev, win


def report(model, lookback_days=30, opts=None):
    opts = opts or {}
    conv, revenue = {}, {}
    total = 0
    for cid, ct, rev, win in paths(lookback_days):
        total += 1
        if not win:
            conv['(none)'] = conv.get('(none)', 0) + 1
            revenue['(none)'] = revenue.get('(none)', 0) + rev
            continue
        for (ch, _, _), c in zip(win, credits(model, win, opts)):
            conv[ch] = conv.get(ch, 0) + c
            revenue[ch] = revenue.get(ch, 0) + c * rev
    rows = sorted(conv, key=lambda ch: (-round(conv[ch], 12), ch))
    return [(ch, conv[ch], revenue[ch], conv[ch] / total) for ch in rows]


def by_conversion(model, lookback_days=30, opts=None):
    opts = opts or {}
    out = []
    for cid, ct, rev, win in paths(lookback_days):
        if not win:
            out.append((cid, '(none)', 0, 1.0, rev))
            continue
        agg = OrderedDict()
        for (ch, _, _), c in zip(win, credits(model, win, opts)):
            n, s = agg.get(ch, (0, 0.0))
            agg[ch] = (n + 1, s + c)
        for ch, (n, s) in agg.items():
            out.append((cid, ch, n, s, s * rev))
    return sorted(out, key=lambda r: (r[0], r[1]))


def r6(x):
    return f"{x:.6f}"


if __name__ == '__main__':
    for model, opts in [('first_touch', {}), ('last_touch', {}), ('last_non_direct', {}),
                        ('linear', {}), ('time_decay', {}), ('position_based', {}),
                        ('w_shaped', {}), ('custom', {'weights': [0.5, 0.3, 0.2]})]:
        print(f"-- report {model}")
        for ch, c, r, s in report(model, 30, opts):
            print(f" {ch:<9} | {r6(c)} | {r6(r)} | {r6(s)}")
    print("-- report time_decay half_life 1 day")
    for ch, c, r, s in report('time_decay', 30, {'half_life': 1.0}):
        print(f" {ch:<9} | {r6(c)} | {r6(r)} | {r6(s)}")
    print("-- report position_based 30/60/10")
    for ch, c, r, s in report('position_based', 30, {'weights': (0.3, 0.6, 0.1)}):
        print(f" {ch:<9} | {r6(c)} | {r6(r)} | {r6(s)}")
    for lb in (10, None):
        print(f"-- report linear lookback {lb}")
        for ch, c, r, s in report('linear', lb):
            print(f" {ch:<9} | {r6(c)} | {r6(r)} | {r6(s)}")
    print("-- by_conversion time_decay")
    for cid, ch, n, c, r in by_conversion('time_decay'):
        print(f" {cid} | {ch:<9} | {n} | {r6(c)} | {r6(r)}")
