"""Apply shifts offline: one recorded run, augmented with the right recovery behaviour.

Run: ``python examples/offline_augment.py``. It prints the clean run and the same run under a
renamed tool, a failing call and a removed tool, as the trainer's PAFT dataset would see them.
"""

from __future__ import annotations

import agentshield
from agentshield.testing import sample_trajectory


def show(title: str, trajectory: agentshield.Trajectory) -> None:
    """Print a trajectory as a short transcript."""
    print(f"--- {title}: outcome={trajectory.outcome.status}")
    print("    tools:", ", ".join(t.name for t in trajectory.tools))
    for m in trajectory.messages:
        if m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                print(f"    call  {c.name}({dict(c.args)})")
        elif m.role == "tool":
            print(f"    {'error' if m.is_error else 'obs  '} {m.content[:90]}")
        elif m.role in ("user", "assistant"):
            print(f"    {m.role:5} {m.content[:90]}")


def main() -> None:
    """Augment the sample run three ways and print each."""
    clean = sample_trajectory()
    show("clean", clean)
    shifts = {
        "identity erasure": [agentshield.create("tool_rename_noise")],
        "error with guidance": [agentshield.create("tool_error", when=agentshield.at_step(1))],
        "unsolvable": [agentshield.create("unsolvable_task", tool="book_table")],
    }
    for title, perturbations in shifts.items():
        show(title, agentshield.augment(clean, perturbations, seed=1))


if __name__ == "__main__":
    main()
