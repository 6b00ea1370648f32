"""Shared fixtures: the repository, its samples, and the command-line
program the package is compared with."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def cli_path():
    """The wsdissect binary: $WSDISSECT_BIN, else the release build of this
    repository (under $CARGO_TARGET_DIR when set)."""
    if os.environ.get("WSDISSECT_BIN"):
        return pathlib.Path(os.environ["WSDISSECT_BIN"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "wsdissect"


@pytest.fixture(scope="session")
def cli():
    """Runs the CLI in the repository (so `capture` names match) and returns
    its JSON lines parsed."""
    exe = cli_path()
    if not exe.exists():
        pytest.fail(
            f"{exe} is missing: build the command-line program first "
            "(cargo build --release) or set WSDISSECT_BIN"
        )

    def run(*args, ok=(0, 1)):
        p = subprocess.run(
            [str(exe), *args], cwd=REPO, capture_output=True, timeout=300
        )
        assert p.returncode in ok, (args, p.returncode, p.stderr.decode(errors="replace"))
        return [json.loads(line) for line in p.stdout.splitlines()]

    return run


def sample_paths():
    """Every bundled capture, as a path relative to the repository."""
    out = []
    for p in sorted(SAMPLES.rglob("*")):
        if p.is_file() and (p.suffix in (".pcap", ".pcapng") or p.name.endswith(".pcap.gz")):
            out.append(str(p.relative_to(REPO)))
    return out


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    """Tests name captures relative to the repository, as the CLI runs there."""
    monkeypatch.chdir(REPO)


def synth_path():
    """The synth_capture example (built by `cargo test --release`)."""
    target = cli_path().parent
    return target / "examples" / "synth_capture"


@pytest.fixture(scope="session")
def synth():
    """Writes a generated capture: synth(OUT, MIB, KIND) runs
    `cargo run --release --example synth_capture -- OUT MIB KIND`."""

    def make(out, mib, kind="mixed"):
        exe = synth_path()
        if exe.exists():
            cmd = [str(exe), str(out), str(mib), kind]
        else:
            cmd = ["cargo", "run", "--quiet", "--release", "--example", "synth_capture", "--",
                   str(out), str(mib), kind]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=1200)
        return out

    return make
