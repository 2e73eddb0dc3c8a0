"""Apps are plug-ins: a package outside gazer registers through the ``gazer.apps`` group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TINY_APP = '''
from gazer import Pipeline, step
from gazer.catalog import register_app


@step(outputs="n")
def count(n: int = 3) -> int:
    return n


@register_app("tiny", description="a plug-in app from another package")
def build() -> Pipeline:
    return Pipeline("tiny", [count])
'''


def install_tiny_app(site: Path) -> None:
    """What ``pip install tiny-gazer-app`` leaves: the module and its entry point."""
    (site / "tiny_gazer_app.py").write_text(TINY_APP)
    info = site / "tiny_gazer_app-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-gazer-app\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gazer.apps]\ntiny = tiny_gazer_app\n")


def test_an_app_from_another_package_is_listed_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_tiny_app(site)
    env = {"PYTHONPATH": str(site), "GAZER_HOME": str(tmp_path / "home"),
           "GAZER_TRACKING__CO2": "false", "PATH": "/usr/bin:/bin"}
    listed = subprocess.run([sys.executable, "-m", "gazer.cli", "pipelines"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "tiny" in listed.stdout and "a plug-in app from another package" in listed.stdout
    assert "wordpredict" in listed.stdout  # the built-ins come through the same group
    ran = subprocess.run([sys.executable, "-m", "gazer.cli", "run", "tiny", "-p", "count.n=5"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "run " in ran.stdout and "succeeded" in ran.stdout


def test_the_platform_imports_no_app_by_name() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "gazer"
    platform = [p for p in src.rglob("*.py")
                if "apps" not in p.relative_to(src).parts and p.name != "cli.py"]
    offenders = [str(p.relative_to(src)) for p in platform
                 if "from gazer.apps" in p.read_text() or "import gazer.apps" in p.read_text()]
    assert offenders == []
