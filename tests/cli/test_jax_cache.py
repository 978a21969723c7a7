"""The CLI's persistent JAX compilation cache folder: default, override, and off switches."""

from pathlib import Path

import pytest

from toyrd.cli import CACHE_ENV, jax_cache_dir


def test_default_is_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jax_cache_dir() == tmp_path / "toyrd" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert jax_cache_dir() == Path.home() / ".cache" / "toyrd" / "jax"


def test_env_overrides_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert jax_cache_dir() == tmp_path / "c"


@pytest.mark.parametrize("off", ["0", "off", "OFF", "false", "no", ""])
def test_env_switches_it_off(monkeypatch, off):
    monkeypatch.setenv(CACHE_ENV, off)
    assert jax_cache_dir() is None
