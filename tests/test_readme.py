"""Every README code block marked ``<!-- runnable -->`` runs as written, in order, on the
bundled sample, in a fresh folder (as a new user's checkout would be)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

MARKER = "<!-- runnable -->"
BLOCK = re.compile(r"^" + re.escape(MARKER) + r"\n```(bash|python)\n(.*?)^```", re.M | re.S)


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def test_readme_marks_its_blocks_correctly():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = runnable_blocks(text)
    assert text.count(MARKER) == len(blocks) >= 2, "a runnable marker must sit right above a bash/python block"
    assert text.index("```bash\npython -m pip install") < 200, "the two set-up lines come first"


def test_readme_runnable_blocks_run_as_written(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for number, (language, code) in enumerate(runnable_blocks((ROOT / "README.md").read_text(encoding="utf-8")), 1):
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            pytest.fail(f"README block {number} ({language}) failed, exit {run.returncode}:\n{code}\n"
                        f"--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}")
        assert "Traceback" not in run.stderr, run.stderr
