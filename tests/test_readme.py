"""The README's Python blocks run as written (the block that trains is marked slow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_blocks():
    assert len(_blocks()) >= 2


def _run(code: str) -> dict:
    namespace: dict = {"__name__": "readme"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_readme_api_block_runs_as_written(capsys):
    ns = _run(_blocks()[0])
    assert ns["x"].shape == (2, 64, 64) and ns["authors"].images.shape == (1000, 63, 63)
    assert abs(ns["f"][0] - 1.0) < 1e-12 and abs(ns["f"][-1]) < 1e-12
    assert "holds" in capsys.readouterr().out.lower() or ns["theory"].prove_position_encoder().holds


@pytest.mark.slow
def test_readme_training_block_runs_as_written():
    ns = _run(_blocks()[1])
    codes, f = ns["codes"], ns["f"]
    assert f.shape == (64, 64)
    # the profile the README takes is the ray the codes live on: positive mass, and the
    # decoder's output for a code is |z| times it (homogeneity)
    import torch
    z = codes[:1]
    out = ns["ae"].decode(z.detach())[0, 0]
    assert torch.allclose(out, abs(float(z)) * f, atol=1e-5)
    assert float(f.sum()) > 0
    assert ns["hist"].final_val_mse < 0.06
