"""Benchmark: supply scenarios' aggregate plan, 50 families × 18 months.

    .venv/bin/python bench/aggregate_plan.py [--families 50] [--months 18] [--seed 7]

Generates seasonal families (a yearly sine wave on a random level, noise, Red-Tomato-like
costs with random spreads, a workforce cap on a third of them), then for each family and
each workforce kind (continuous: ``linprog``; whole workers: ``milp``, both HiGHS) times

* building the model's matrices alone (``build_lp``), and
* building and solving it (``solve``: the plain infeasibility checks, the matrices, HiGHS),

and prints the time per family of each, and the ratio solve / build measured in this run.
Nothing here is asserted: a two-core machine shared with others varies from run to run.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planning_bridge.supply.model import Costs, Limits, Scenario, build_lp, price_plan, solve  # noqa: E402


def family(rng: random.Random, months: int) -> Scenario:
    level = rng.uniform(500, 5000)
    demand = tuple(max(0.0, level * (1 + 0.4 * math.sin(2 * math.pi * (m + rng.randrange(12)) / 12))
                       * rng.uniform(0.9, 1.1)) for m in range(months))
    hpu = rng.uniform(2, 6)
    workers = level * hpu / 160
    costs = Costs(material=rng.uniform(5, 20), holding=rng.uniform(1, 3), backlog=rng.uniform(3, 8),
                  hiring=rng.uniform(200, 600), layoff=rng.uniform(300, 900), regular_hourly=rng.uniform(3, 6),
                  overtime_hourly=rng.uniform(5, 9), subcontract=rng.uniform(25, 45))
    capped = rng.random() < 1 / 3
    return Scenario(
        periods=tuple(f"{2027 + m // 12}-{m % 12 + 1:02d}" for m in range(months)), demand=demand,
        price=rng.uniform(40, 60), costs=costs, labour_hours_per_unit=hpu, hours_per_worker_month=160,
        max_overtime_hours_per_worker=10, start_workers=round(workers), start_inventory=level * 0.3,
        min_end_inventory=level * 0.2, limits=Limits(max_workforce=workers * 1.2 if capped else None),
    )


def timed(function, repeat: int = 3) -> float:
    """The best of ``repeat`` runs, in seconds (best: the least disturbed by other work)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=50)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    families = [family(rng, args.months) for _ in range(args.families)]
    print(f"{args.families} families × {args.months} months "
          f"({8 * args.months} variables, {4 * args.months} constraints each)")
    for integer in (False, True):
        kind = "whole workers (milp)" if integer else "continuous (linprog)"
        build, full, cost = [], [], 0.0
        for scenario in families:
            s = replace(scenario, integer_workers=integer)
            build.append(timed(lambda: build_lp(s)))
            full.append(timed(lambda: solve(s)))
            cost += float(price_plan(s, solve(s), "optimal").total_cost)
        per_build, per_solve = statistics.mean(build) * 1000, statistics.mean(full) * 1000
        print(f"{kind:22s} build {per_build:7.2f} ms/family   build+solve {per_solve:7.2f} ms/family   "
              f"ratio {per_solve / per_build:6.1f}   total {sum(full):6.2f} s   "
              f"(median {statistics.median(full) * 1000:.2f} ms, max {max(full) * 1000:.2f} ms; "
              f"total cost of the plans {cost:,.0f})")


if __name__ == "__main__":
    main()
