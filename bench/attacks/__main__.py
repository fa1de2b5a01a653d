"""`python -m bench.attacks [--db sqlite|postgres] [--only SUBSTRING]`: start LeadApp on loopback, run every
registered attack against it, one line each, then `attacks tried=N succeeded=S`. Exit status 1 when any attack
succeeded or could not be run."""

from __future__ import annotations

import argparse
import sys
import time

from bench.attacks import load_all, run_one
from bench.attacks.world import started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attacks")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--only", default="", help="run only the attacks whose family/name contains this")
    args = parser.parse_args(argv)
    attacks = [a for a in load_all() if args.only in a.label]
    print(f"starting the stack ({args.db}) for {len(attacks)} attacks…", flush=True)
    tried = succeeded = errors = 0
    with started(args.db) as target:
        for item in attacks:
            if "postgres" in item.needs and args.db != "postgres":
                print(f"[skipped ] {item.label}: needs PostgreSQL (--db postgres)", flush=True)
                continue
            began = time.monotonic()
            verdict, outcome = run_one(item, target)
            tried += 1
            succeeded += verdict == "BREACHED"
            errors += verdict == "ERROR"
            took = time.monotonic() - began
            print(f"[{verdict:8}] {item.label}: {outcome.detail} ({took:.1f} s)", flush=True)
    print(f"attacks tried={tried} succeeded={succeeded}" + (f" errors={errors}" if errors else ""), flush=True)
    return 1 if succeeded or errors else 0


if __name__ == "__main__":
    sys.exit(main())
