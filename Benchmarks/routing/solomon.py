#!/usr/bin/env python3
"""Runs `civitas routes solve` on every Solomon instance and compares with the best-known solutions.

    swift build -c release --product civitas && python3 Benchmarks/routing/solomon.py --time-limit 30

One core per instance: as many instances run at once as --jobs (default: the machine's cores).
Gap = (distance - bks) / bks, counted only where the vehicle count equals the best known."""
import argparse
import concurrent.futures
import csv
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "vrp"
FETCH = f"""Benchmarks/routing/solomon.py needs, next to the repository, in {DATA}:
  solomon/*.txt     the 56 Solomon VRPTW instances with 100 customers (C101 ... RC208), in Solomon's text format,
                    from the CVRPLIB "Vrp-Set-Solomon" files (github.com/PyVRP/VRPLIB, MIT);
  solomon_bks.csv   their best-known solutions, columns instance,vehicles,distance (hierarchical objective:
                    fewest vehicles, then distance, Euclidean in double precision), from SINTEF's TOP table
                    (sintef.no/projectweb/top/vrptw/100-customers/).
Fetch them there. (The tests need none of this: they use their own copies in Tests/Fixtures.)"""


def missing_data(names):
    """What is not there, or an empty list: the instance folder, the best-known table, any instance --only names."""
    missing = [path for path in (DATA / "solomon", DATA / "solomon_bks.csv") if not path.exists()]
    if not missing and not any((DATA / "solomon").glob("*.txt")):
        missing.append(DATA / "solomon" / "*.txt")
    if not missing:
        missing += [DATA / "solomon" / f"{name}.txt" for name in names if not (DATA / "solomon" / f"{name}.txt").exists()]
    return missing


def solve(binary, path, seconds, seed):
    out = subprocess.run([binary, "routes", "solve", str(path), "--time-limit", str(seconds), "--seed", str(seed), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "civitas"))
    parser.add_argument("--only", default="", help="comma list of instance names")
    args = parser.parse_args()

    missing = missing_data([name for name in args.only.split(",") if name])
    if missing:
        sys.exit("missing: " + ", ".join(str(path) for path in missing) + "\n" + FETCH)

    bks = {row["instance"]: (int(row["vehicles"]), float(row["distance"])) for row in csv.DictReader(open(DATA / "solomon_bks.csv"))}
    files = sorted((DATA / "solomon").glob("*.txt"))
    if args.only:
        files = [f for f in files if f.stem in args.only.split(",")]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = dict(zip(files, pool.map(lambda f: solve(args.binary, f, args.time_limit, args.seed), files)))

    print(f"Solomon VRPTW, {args.time_limit:g} s per instance, seed {args.seed}, {args.jobs} at a time")
    print(f"{'instance':9} {'veh':>4} {'bks':>4} {'distance':>10} {'bks dist':>10} {'gap %':>7}")
    gaps, matched = [], 0
    for path, result in results.items():
        best_vehicles, best_distance = bks[path.stem]
        vehicles, distance = result["vehicles"], result["distance"]
        same = vehicles == best_vehicles
        matched += same
        gap = (distance - best_distance) / best_distance * 100
        if same:
            gaps.append(gap)
        print(f"{path.stem:9} {vehicles:4d} {best_vehicles:4d} {distance:10.2f} {best_distance:10.2f} {gap if same else float('nan'):7.2f}")
    mean = sum(gaps) / len(gaps) if gaps else float("nan")
    print(f"best-known vehicle count on {matched} of {len(results)} instances; "
          f"mean distance gap {mean:.2f}% over those {len(gaps)}")


if __name__ == "__main__":
    sys.exit(main())
