"""validation.runners.report: the one-page report, on fake outcomes (the experiments have their own tests)."""

from __future__ import annotations


import pytest

from validation.runners import report


def test_render_lists_tables_figures_and_failures(tmp_path):
    (tmp_path / "disk_vs_airy").mkdir()
    (tmp_path / "disk_vs_airy" / "profile_vs_airy.png").write_bytes(b"png")
    outcomes = {
        "disk_vs_airy": {"table": "quantity  value\n|AE - Airy|  0.012", "metrics": {},
                         "out": tmp_path / "disk_vs_airy", "seconds": 170.0},
        "interpolation": {"error": "RuntimeError: boom", "trace": "..."},
    }
    text = report.render(outcomes, report.ReportConfig(quick=True, out=str(tmp_path)))
    assert "## Decoding a disk (`python -m validation.disk_vs_airy`)" in text
    assert "|AE - Airy|  0.012" in text
    assert "![disk_vs_airy: profile_vs_airy](disk_vs_airy/profile_vs_airy.png)" in text
    assert "**Failed:** `RuntimeError: boom`" in text
    assert "Encoding position" not in text          # not run, not reported
    assert "--quick" in text


def test_every_listed_experiment_has_a_module_with_the_common_shape():
    import importlib

    for name, _, _ in report.EXPERIMENTS:
        mod = importlib.import_module(f"validation.{name}")
        assert callable(mod.main) and callable(mod.cli), name
        assert isinstance(mod.Config.quick(), mod.Config), name
        assert mod.__doc__ and "python -m validation." in mod.__doc__, name


def test_unknown_experiment_is_rejected():
    with pytest.raises(ValueError, match="only"):
        report.ReportConfig(only=("nope",))
