"""Alerting benchmark: rule evaluation beside a real Prometheus 2.42, and an alert storm through
the notification pipeline to a real webhook (issue 6).

Run: `.venv/bin/python benchmarks/alerting.py` (about 6 minutes; needs Debian's `prometheus`
package and the `test` extra for cramjam). `--no-write` skips appending the results to
docs/benchmarks.md; `--instances 200 --rules 100 --storm-sources 10` for a quick look;
`--only rules` or `--only storm` runs one part.

(1) Rule evaluation (benchmarks/alerting_rules.py): 1,000 alerting rules in 10 groups over 10,000
    series, evaluated round after round by the console's `RuleEvaluator` and by a real Prometheus
    fed the same samples; CPU per round, and the active alerts of both compared.
    Target: <= 2 s CPU per round.

(2) Alert storm (benchmarks/alerting_storm.py): 5,000 alerts from 50 sources firing within one
    minute through the console's pipeline and outbox to a real webhook on 127.0.0.1; latency per
    alert after group_wait, every alert delivered. Target: p99 <= 5 s.

Timed on a shared 2-core machine where other work may run: the figures are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.alerting_rules import TARGET_CPU_SECONDS, OurFigures, PromFigures, RuleSizes, run_rules
from benchmarks.alerting_storm import TARGET_P99_SECONDS, StormFigures, StormSizes, quantile, storm
from benchmarks.machine import BENCHMARKS_MD, append_report, cpu_model, log, utc_stamp


@dataclass(frozen=True)
class Sizes:
    rules: RuleSizes
    storm: StormSizes


# -- the report ------------------------------------------------------------------------------------
def rules_table(ours: OurFigures, prom: PromFigures | None) -> list[str]:
    med_cpu, max_cpu = statistics.median(ours.cpu[1:]), max(ours.cpu[1:])
    med_wall = statistics.median(ours.wall[1:])
    p_wall = statistics.median(prom.round_seconds) if prom and prom.round_seconds else None
    p_cpu = prom.cpu_per_round if prom else None

    def ratio(x: float, y: float | None) -> str:
        return "-" if not y else f"{x / y:.1f}x"

    def fmt(y: float | None) -> str:
        return "-" if y is None else f"{y:.3f}"

    states = ", ".join(f"{v} {k}" for k, v in sorted(ours.states.items()))
    p_states = ", ".join(f"{v} {k}" for k, v in sorted(prom.states.items())) if prom else "-"
    return [
        "| per evaluation round (all groups) | ours | Prometheus 2.42 | ours / Prometheus | target |",
        "|---|---|---|---|---|",
        f"| CPU, s (median of {len(ours.cpu) - 1}; Prometheus: process CPU minus idle, per round) | {med_cpu:.3f} "
        f"| {fmt(p_cpu)} | {ratio(med_cpu, p_cpu)} | <= {TARGET_CPU_SECONDS:g} s |",
        f"| CPU, s, worst round | {max_cpu:.3f} | - | - | |",
        f"| CPU, s, first round (warm-up, not in the medians) | {ours.cpu[0]:.3f} | - | - | |",
        f"| wall, s (median; Prometheus: sum of rule_group_last_duration_seconds) | {med_wall:.3f} | {fmt(p_wall)} "
        f"| {ratio(med_wall, p_wall)} | |",
        f"| active alerts at the last round | {len(ours.alerts)} ({states}) | "
        f"{len(prom.alerts) if prom else '-'} ({p_states}) | | |",
    ]


def storm_table(s: StormFigures, sizes: Sizes) -> list[str]:
    lat = s.latencies

    def q(p: float) -> str:
        return f"{quantile(lat, p):.2f}" if lat else "-"

    mb = 1024 * 1024
    return [
        "| alert storm | value | target |",
        "|---|---|---|",
        f"| alerts handed / delivered to the webhook | {s.handed:,} / {s.delivered:,} (over {s.last_handed:.0f} s) "
        f"| all {sizes.storm.sources * sizes.storm.per_source:,} |",
        f"| webhook notifications received | {s.notifications} | |",
        f"| latency after group_wait, s: p50 / p95 / p99 / max | {q(0.5)} / {q(0.95)} / {q(0.99)} / "
        f"{lat[-1] if lat else float('nan'):.2f} | p99 <= {TARGET_P99_SECONDS:g} s |",
        f"| resident memory before / after, MB | {s.rss_before / mb:.0f} / {s.rss_after / mb:.0f} "
        f"(+{(s.rss_after - s.rss_before) / mb:.0f}) | |",
        f"| CPU of this process during the storm, s | {s.cpu:.1f} | |",
    ]


def reading(ours: OurFigures | None, prom: PromFigures | None, s: StormFigures | None, sizes: Sizes) -> list[str]:
    lines = []
    if ours is not None:
        med = statistics.median(ours.cpu[1:])
        verdict = "met" if med <= TARGET_CPU_SECONDS else f"missed ({med:.2f} s > {TARGET_CPU_SECONDS:g} s)"
        lines.append(f"- (1) CPU per evaluation round: {verdict}.")
        if ours.errors:
            lines.append(f"  {len(ours.errors)} rule evaluations failed, e.g. `{ours.errors[0]}`.")
        if prom is not None and prom.alerts:
            same = ours.alerts == prom.alerts
            lines.append(
                "  Active alerts: the same label sets as Prometheus."
                if same
                else f"  Active alerts differ: {len(ours.alerts - prom.alerts)} only ours, "
                f"{len(prom.alerts - ours.alerts)} only Prometheus'."
            )
            for key in sorted(ours.alerts ^ prom.alerts)[:3]:
                lines.append(f"  e.g. {'ours' if key in ours.alerts else 'Prometheus'}: `{dict(key)}`")
        elif prom is None:
            lines.append("  Prometheus not run (--no-prometheus): our figure against the target only.")
        if ours.profile:
            lines.append("  Where one round's time goes (cProfile of one more round):\n\n```")
            lines.extend(ours.profile)
            lines.append("```")
    if s is not None:
        total = sizes.storm.sources * sizes.storm.per_source
        p99 = quantile(s.latencies, 0.99) if s.latencies else float("inf")
        verdict = "met" if p99 <= TARGET_P99_SECONDS else f"missed ({p99:.2f} s > {TARGET_P99_SECONDS:g} s)"
        lines.append(f"- (2) storm p99 latency after group_wait: {verdict}.")
        lines.append(
            f"  Every alert delivered: {'yes' if s.delivered == total else f'NO ({s.delivered:,} of {total:,})'}."
        )
    return lines


DESCRIPTION = """
## `benchmarks/alerting.py`: rule evaluation beside Prometheus 2.42, and an alert storm

```sh
.venv/bin/python benchmarks/alerting.py     # about 6 minutes; Debian's prometheus package and the test extra
```

(1) 1,000 alerting rules in 10 groups over 10,000 series, evaluated at one 15-s slot after another
(issue #6): CPU per round of the console's `RuleEvaluator` (`time.process_time()`, every thread,
the ALERTS samples flushed), against a real Prometheus with the same rule file and samples (the sum
of its `prometheus_rule_group_last_duration_seconds`, and its process CPU minus idle per round);
the active alerts of both are compared. Target: <= 2 s CPU per round. (2) 5,000 alerts from 50
rule groups firing within one minute through the console's pipeline and outbox (`Alerting.open`,
real time, SQLite) to a real webhook on 127.0.0.1, group_wait 30 s: latency per alert from
(handed + group_wait) to its first arrival at the webhook. Target: p99 <= 5 s, every alert
delivered. The machine is shared (2 cores): figures are noisy.
"""


def append_docs(
    ours: OurFigures | None, prom: PromFigures | None, s: StormFigures | None, sizes: Sizes, command: str
) -> None:
    text = BENCHMARKS_MD.read_text()
    parts = [] if "## `benchmarks/alerting.py`" in text else [DESCRIPTION]
    parts.append(f"\n## Alerting benchmark, {utc_stamp()}\n")
    parts.append(
        f"\nMachine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; Prometheus 2.42 "
        f"(Debian); shared with other work, figures noisy.  \n"
        f"(1) {sizes.rules.instances * 5:,} series ({sizes.rules.minutes} min at 15 s), {sizes.rules.rules:,} rules in "
        f"{sizes.rules.groups} groups, {sizes.rules.rounds} rounds after a warm-up. (2) {sizes.storm.sources} sources x "
        f"{sizes.storm.per_source} alerts over {sizes.storm.seconds:g} s, group_by [alertname, site] "
        f"({sizes.storm.sites} sites). Command: `{command}`.\n\n"
    )
    if ours is not None:
        parts.append("\n".join(rules_table(ours, prom)) + "\n\n")
    if s is not None:
        parts.append("\n".join(storm_table(s, sizes)) + "\n")
    parts.append("\nTargets (computed by the script):\n\n" + "\n".join(reading(ours, prom, s, sizes)) + "\n")
    append_report("".join(parts))


# -- main ------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=2_000, help="5 series each")
    parser.add_argument("--minutes", type=int, default=20)
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds after one warm-up")
    parser.add_argument("--storm-sources", type=int, default=50)
    parser.add_argument("--storm-per-source", type=int, default=100)
    parser.add_argument("--storm-sites", type=int, default=5)
    parser.add_argument("--storm-seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=("rules", "storm"))
    parser.add_argument("--no-prometheus", action="store_true", help="our rule figures against the target only")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()
    sizes = Sizes(
        RuleSizes(args.instances, args.minutes, args.rules, args.groups, args.rounds),
        StormSizes(args.storm_sources, args.storm_per_source, args.storm_sites, args.storm_seconds),
    )
    workdir = Path(tempfile.mkdtemp(prefix="alerting-bench-"))
    ours: OurFigures | None = None
    prom: PromFigures | None = None
    s: StormFigures | None = None
    try:
        if args.only != "storm":
            ours, prom = run_rules(sizes.rules, workdir, not args.no_prometheus)
            print("\n".join(rules_table(ours, prom)) + "\n")
        if args.only != "rules":
            log(
                f"(2) storm: {sizes.storm.sources * sizes.storm.per_source:,} alerts over {sizes.storm.seconds:g} s ..."
            )
            s = storm(sizes.storm, workdir)
            print("\n".join(storm_table(s, sizes)) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(reading(ours, prom, s, sizes)))
    if not args.no_write:
        command = "python benchmarks/alerting.py " + " ".join(a for a in sys.argv[1:] if a != "--no-write")
        append_docs(ours, prom, s, sizes, command.strip())
        log("appended to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
