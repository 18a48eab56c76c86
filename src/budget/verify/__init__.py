"""Verification: decide whether a sample solves a problem.

- ``protocol``: the verdict every verifier returns and the verifier interface;
- ``sandbox``: running untrusted commands under bubblewrap (``get_sandbox().run(...)``), the
  start-up probe and the refusal (:class:`~budget.errors.SandboxError`) where none works;
  its parts in ``limits``, ``bubblewrap``, ``streams``, ``cgroups`` and ``seccomp``;
- ``harness``: the proof-of-completion harness that runs *inside* the sandbox (standard library
  only): sample and tests in separate processes, success only with a per-job nonce;
- ``pool``: warm sandboxed workers holding that harness, shared by threads;
- ``plugins``: the loader of the verifiers themselves, plug-ins in the top-level ``verifiers/``
  folder (packaged into the wheel).

Importing this package imports only the protocol.
"""

from budget.verify.protocol import Outcome, Verdict, Verifier

__all__ = ["Outcome", "Verdict", "Verifier"]
