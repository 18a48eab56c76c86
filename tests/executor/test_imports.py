"""The executor loads its clients lazily: importing it (as `budget plan` imports every CLI
module) pulls in neither litellm, httpx, vllm nor the store's SQL libraries."""

from __future__ import annotations

import subprocess
import sys


def test_executor_imports_are_lazy() -> None:
    code = (
        "import sys\n"
        "import budget.cli.run, budget.report.run, budget.service.running, budget.executor.runner\n"
        "import budget.executor.backends.openai_server, budget.executor.backends.litellm_api\n"
        "import budget.executor.backends.vllm_offline\n"
        "print(','.join(m for m in ('litellm', 'vllm', 'openai', 'httpx', 'sqlmodel', 'sqlalchemy')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
