"""Verification: decide whether a sample solves a problem.

``protocol`` defines the verdict every verifier returns and the verifier interface; the
sandbox, the proof-of-completion harness and the worker pool live beside it; the verifiers
themselves are plug-ins in the top-level ``verifiers/`` folder (packaged into the wheel).
"""

from budget.verify.protocol import Outcome, Verdict, Verifier

__all__ = ["Outcome", "Verdict", "Verifier"]
