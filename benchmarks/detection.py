"""Labelled detection benchmark: sandbox episodes clean and under every registered
perturbation, judged by every registered detector running online inside the Shield.

* Baseline: :class:`~agentshield.detect.Profile` of the oracle's clean runs on the POI
  ``train`` split (task seed 0).
* Evaluation (seeds disjoint from the baseline's and from the tests'): POI ``test`` tasks
  generated with seed 7001, clean (``--clean`` of them) and under each perturbation
  (``--per`` of them, Shield seed 9000 + i); the held-out medical domain as the tier-4
  domain shift; and ``unsolvable_task`` once more with a *fabricating* agent (the oracle,
  but it invents a confirmation instead of refusing), the failure the study reports.
* Ground truth is the Shield's decision log: a perturbed run counts only if the
  perturbation acted on it. Each run gets a fresh Monitor (per-run verdicts); tool latency
  is measured on a fake clock, so it is the injected delay only.
* Streaming: one Monitor sees ``--stream`` clean runs, then runs under a perturbation; the
  delay is the number of tool calls from the first shifted call to the first alarm of
  ``error_rate`` / ``latency_shift`` (false alarms in the clean phase are counted).

Run: ``python benchmarks/detection.py [--per N] [--clean N] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentshield import Shield, create, registered
from agentshield.detect import Detection, Monitor, Profile, tier_label
from agentshield.detect import registered as detectors
from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode
from agentshield.sandbox.tasks import Task
from agentshield.testing import FakeClock
from agentshield.trajectory import Message, ToolSpec, Trajectory

TASK_SEED, SHIELD_SEED = 7001, 9000


class FabricatingAgent:
    """The oracle, except that where it would refuse it claims success with an invented
    verification code (what statically trained agents do on unsolvable tasks)."""

    def __init__(self, seed: int) -> None:
        self.oracle = OracleAgent()
        self.rng = random.Random(seed)

    def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        reply = self.oracle(messages, tools)
        if reply.tool_calls or "can't" not in reply.content:
            return reply
        code = "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        return Message(
            "assistant", f"Done: your request is confirmed. Verification code: VC-{code}."
        )


@dataclass
class Episode:
    label: str
    tier: int | None  # None: clean
    detections: list[Detection]
    calls: int


@dataclass
class Results:
    episodes: list[Episode] = field(default_factory=list)
    stream: dict[str, dict[str, Any]] = field(default_factory=dict)


def reader(clock: FakeClock) -> Callable[[], float]:
    """The fake clock's time, as the monitor's clock."""
    return lambda: clock.now


def baseline() -> Profile:
    runs = [
        run_episode(make_environment(t.domain), t, OracleAgent())
        for t in generate_tasks("poi", "train")
    ]
    latencies = {c.id: 0.0 for r in runs for c in r.tool_calls}
    return Profile.from_trajectories(runs, latencies=latencies)


def episode(
    profile: Profile,
    task: Task,
    perturbation: str | None,
    seed: int,
    *,
    policy: Any = None,
    monitor: Monitor | None = None,
    clock: FakeClock | None = None,
    run_id: str = "run",
) -> tuple[Trajectory, Shield, Monitor]:
    clock = clock or FakeClock()
    monitor = monitor or Monitor(profile, clock=reader(clock))
    specs = [create(perturbation, **task.perturbation_params(perturbation))] if perturbation else []
    shield = Shield(specs, seed=seed, sleep=clock.sleep, detectors=monitor)
    env = make_environment(task.domain)
    trajectory = run_episode(env, task, policy or OracleAgent(), shield=shield, run_id=run_id)
    if trajectory.final_answer is not None:  # what an adapter reports at the end of a run
        shield.observe_answer(run_id, trajectory.final_answer)
    return trajectory, shield, monitor


def per_run(profile: Profile, per: int, clean: int) -> list[Episode]:
    out = []
    for i, task in enumerate(generate_tasks("poi", "test", n=clean, seed=TASK_SEED)):
        tr, shield, monitor = episode(profile, task, None, SHIELD_SEED + i)
        out.append(Episode("clean", None, monitor.detections(), len(tr.tool_calls)))
    tasks = generate_tasks("poi", "test", n=per, seed=TASK_SEED + 1)
    for name, cls in registered().items():
        for i, task in enumerate(tasks):
            tr, shield, monitor = episode(profile, task, name, SHIELD_SEED + i)
            if shield.decisions("run"):
                out.append(Episode(name, int(cls.tier), monitor.detections(), len(tr.tool_calls)))
    for i, task in enumerate(tasks):
        name = "unsolvable_task"
        tr, shield, monitor = episode(
            profile, task, name, SHIELD_SEED + i, policy=FabricatingAgent(i)
        )
        if shield.decisions("run"):
            out.append(
                Episode(f"{name} (fabricating agent)", 4, monitor.detections(), len(tr.tool_calls))
            )
    for i, task in enumerate(generate_tasks("medical", "test", n=per, seed=TASK_SEED)):
        tr, _, monitor = episode(profile, task, None, SHIELD_SEED + i)
        out.append(Episode("domain_shift (medical)", 4, monitor.detections(), len(tr.tool_calls)))
    return out


def streaming(profile: Profile, n_clean: int, n_shift: int) -> dict[str, dict[str, Any]]:
    """Clean runs, then shifted runs, through one monitor: delay to the first alarm."""
    out = {}
    clean = generate_tasks("poi", "test", n=n_clean, seed=TASK_SEED + 2)
    shifted = generate_tasks("poi", "test", n=n_shift, seed=TASK_SEED + 3)
    for name in ("latency", "tool_error", "rate_limit", "timeout"):
        clock = FakeClock()
        monitor = Monitor(profile, ["error_rate", "latency_shift"], clock=reader(clock))
        for i, task in enumerate(clean):
            episode(profile, task, None, 1, monitor=monitor, clock=clock, run_id=f"c{i}")
        false_alarms = len(monitor.detections())
        position: dict[tuple[str, str], int] = {}
        onset = None
        for i, task in enumerate(shifted):
            rid = f"s{i}"
            tr, shield, _ = episode(
                profile, task, name, SHIELD_SEED + i, monitor=monitor, clock=clock, run_id=rid
            )
            acted = {d.key for d in shield.decisions(rid) if d.surface == "call"}
            for step, msg in tr.iter_steps():
                for index, _call in enumerate(msg.tool_calls):
                    key = f"{step}:{index}"
                    position[(rid, key)] = len(position) + 1
                    if onset is None and key in acted:
                        onset = len(position)
        first: dict[str, int] = {}
        for d in monitor.detections()[false_alarms:]:
            at = position.get((d.run_id, d.key))
            if at is not None and d.detector not in first:
                first[d.detector] = at
        out[name] = {
            "clean_runs": len(clean),
            "false_alarms": false_alarms,
            "onset_call": onset,
            "delay_calls": {k: v - (onset or 0) for k, v in first.items()},
        }
    return out


def _rate(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def summarise(episodes: list[Episode]) -> dict[str, Any]:
    clean = [e for e in episodes if e.tier is None]
    shifted = [e for e in episodes if e.tier is not None]
    table: dict[str, Any] = {"perturbations": {}, "detectors": {}, "tiers": {}}
    by_label: dict[str, list[Episode]] = defaultdict(list)
    for e in shifted:
        by_label[e.label].append(e)
    for label, eps in by_label.items():
        tier = eps[0].tier
        hit = sum(1 for e in eps if e.detections)
        own = sum(1 for e in eps if any(d.tier == tier for d in e.detections))
        which: dict[str, int] = defaultdict(int)
        for e in eps:
            for name in {d.detector for d in e.detections}:
                which[name] += 1
        table["perturbations"][label] = {
            "tier": tier,
            "runs": len(eps),
            "recall_any": hit / len(eps),
            "recall_own_tier": own / len(eps),
            "detectors": dict(sorted(which.items(), key=lambda kv: -kv[1])),
        }
    for name in detectors():
        tp = sum(1 for e in shifted if any(d.detector == name for d in e.detections))
        fp = sum(1 for e in clean if any(d.detector == name for d in e.detections))
        table["detectors"][name] = {
            "tier": int(detectors()[name].tier),
            "flagged_shifted": tp,
            "flagged_clean": fp,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / len(shifted) if shifted else None,
            "fpr": fp / len(clean) if clean else None,
        }
    for tier in sorted({e.tier for e in shifted if e.tier is not None}):
        pos = [e for e in shifted if e.tier == tier]
        flagged = [e for e in episodes if any(d.tier == tier for d in e.detections)]
        tp = sum(1 for e in flagged if e.tier == tier)
        table["tiers"][tier_label(tier)] = {
            "runs": len(pos),
            "recall": sum(1 for e in pos if any(d.tier == tier for d in e.detections)) / len(pos),
            "precision": tp / len(flagged) if flagged else None,
            "fpr": sum(1 for e in clean if any(d.tier == tier for d in e.detections)) / len(clean),
        }
    table["clean"] = {
        "runs": len(clean),
        "fpr_any": sum(1 for e in clean if e.detections) / len(clean),
    }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per", type=int, default=60, help="test tasks per perturbation")
    parser.add_argument("--clean", type=int, default=400, help="clean test runs")
    parser.add_argument("--stream", type=int, default=40, help="clean runs before the shift")
    parser.add_argument("--json", help="also write the full results here")
    args = parser.parse_args()
    start = time.perf_counter()
    profile = baseline()
    episodes = per_run(profile, args.per, args.clean)
    table = summarise(episodes)
    table["streaming"] = streaming(profile, args.stream, 10)
    table["seconds"] = round(time.perf_counter() - start, 1)
    print(
        f"clean runs: {table['clean']['runs']}, any-detector FPR {table['clean']['fpr_any']:.3f}\n"
    )
    print(f"{'perturbation':34} {'tier':>4} {'runs':>5} {'recall':>7} {'own tier':>8}  detectors")
    for label, row in table["perturbations"].items():
        top = ", ".join(f"{k} {v}" for k, v in list(row["detectors"].items())[:3])
        print(
            f"{label:34} {row['tier']:>4} {row['runs']:>5} {row['recall_any']:7.3f} "
            f"{row['recall_own_tier']:8.3f}  {top}"
        )
    print(f"\n{'tier':18} {'runs':>5} {'recall':>7} {'precision':>9} {'FPR':>6}")
    for label, row in table["tiers"].items():
        prec = "n/a" if row["precision"] is None else f"{row['precision']:.3f}"
        print(f"{label:18} {row['runs']:>5} {row['recall']:7.3f} {prec:>9} {row['fpr']:6.3f}")
    print(f"\n{'detector':20} {'tier':>4} {'precision':>9} {'recall':>7} {'FPR':>6}")
    for name, row in table["detectors"].items():
        prec = "n/a" if row["precision"] is None else f"{row['precision']:.3f}"
        print(f"{name:20} {row['tier']:>4} {prec:>9} {row['recall']:7.3f} {row['fpr']:6.3f}")
    print("\nstreaming (calls from the first shifted call to the first alarm):")
    for name, row in table["streaming"].items():
        print(
            f"  {name:12} clean-phase false alarms {row['false_alarms']}, "
            f"delay {row['delay_calls']}"
        )
    print(f"\n{table['seconds']} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(table, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
