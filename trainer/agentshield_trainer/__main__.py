"""``python -m agentshield_trainer`` runs ``agentshield train`` (for ``accelerate launch``)."""

from agentshield_trainer.cli import main

if __name__ == "__main__":
    main()
