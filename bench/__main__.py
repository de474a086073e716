"""`python -m bench --size small|full [--only NAME]`: run the benchmarks and print their figures."""

import argparse
import json
import time
from pathlib import Path

from bench import (
    backup,
    claims_payouts,
    coverage_lookup,
    ledger_core,
    load,
    person_search,
    region_ratio,
    report_roster,
    roster_upload,
    sponsor_upload,
)
from bench.common import machine

SUITES = {
    "ledger_core": ledger_core,
    "coverage_lookup": coverage_lookup,
    "person_search": person_search,
    "roster_upload": roster_upload,
    "sponsor_upload": sponsor_upload,
    "region_ratio": region_ratio,
    "claims_payouts": claims_payouts,
    "report_roster": report_roster,
    "load": load,
    "backup": backup,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--size",
        choices=["small", "medium", "full"],
        default="small",
        help="data set size (medium: only the suites that define it)",
    )
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only these suites")
    args = parser.parse_args()
    results = {"machine": machine(), "size": args.size, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for name in args.only or SUITES:
        suite = SUITES[name]
        if args.size not in suite.SIZES:
            print(f"== {name}: no {args.size} size, skipped", flush=True)
            continue
        print(f"== {name} ({args.size})", flush=True)
        results[name] = suite.run(size=args.size)
        print(json.dumps(results[name], indent=2), flush=True)
    out = Path(__file__).parent / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.size}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
