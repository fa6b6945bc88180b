"""Configuration files: found from the Dockerfile upwards, checked, and overridden by flags."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.project.config import ConfigFinder, ConfigProblem, load_config_file
from support import sample_rules

NAIVE = b'FROM node\nMAINTAINER me\nRUN npm install\nCMD ["node", "server.js"]\n'


@pytest.fixture(autouse=True)
def sample_rule_table(monkeypatch):
    sample_rules.install(monkeypatch)


def dockfix(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_the_nearest_configuration_wins_and_pyproject_without_the_table_is_passed_over(tmp_path):
    (tmp_path / ".dockfix.toml").write_text('select = ["DF901"]\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pyproject.toml").write_text('[tool.dockfix]\nignore = ["DF903"]\nunsafe-fixes = true\n')
    finder = ConfigFinder()
    assert finder.for_file(tmp_path / "a" / "Dockerfile").path == tmp_path / ".dockfix.toml"
    config = finder.for_file(tmp_path / "b" / "deep" / "Dockerfile")
    assert (config.path, config.ignore, config.unsafe_fixes) == (tmp_path / "b" / "pyproject.toml", ("DF903",), True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("select = [", "not valid TOML"),
        ("colour = true", "unknown key 'colour'"),
        ("unsafe-fixes = 'yes'", "unsafe-fixes must be true or false"),
        ("exclude = [1]", "exclude must be a list of strings"),
        (
            'node-version = "banana"',
            "node-version: not a Node.js version like 22 or 22.11.0, nor lts-oldest or lts-newest: banana$",
        ),
        ("node-version = 22.5", "node-version must be a string"),
    ],
)
def test_bad_configuration_is_named(tmp_path, text, message):
    (tmp_path / ".dockfix.toml").write_text(text)
    with pytest.raises(ConfigProblem, match=message):
        load_config_file(tmp_path / ".dockfix.toml")


def test_the_configuration_selects_rules_and_enables_unsafe_fixes_and_flags_win(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_bytes(NAIVE)
    (tmp_path / "pyproject.toml").write_text('[tool.dockfix]\nselect = ["DF902", "DF903"]\nunsafe-fixes = true\n')
    result = dockfix("--diff")
    assert "+USER node" in result.stdout and "npm ci" not in result.stdout
    overridden = dockfix("--diff", "--no-unsafe-fixes", "--select", "DF901")
    assert "USER node" not in overridden.stdout and "+RUN npm ci" in overridden.stdout
    isolated = dockfix("--diff", "--isolated")
    assert "+RUN npm ci" in isolated.stdout and "USER node" not in isolated.stdout


def test_exclude_skips_found_files_but_not_named_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dockfix.toml").write_text('exclude = ["legacy", "*.dev.Dockerfile"]\n')
    for name in ("Dockerfile", "legacy/Dockerfile", "app.dev.Dockerfile"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(NAIVE)
    listed = {line.split(":")[0] for line in dockfix(".").stdout.splitlines()}
    assert listed == {"Dockerfile"}
    named = dockfix("legacy/Dockerfile")
    assert "legacy/Dockerfile:3: DF901" in named.stdout


def test_an_unknown_code_in_the_configuration_fails_the_file_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_bytes(NAIVE)
    (tmp_path / ".dockfix.toml").write_text('select = ["XX1"]\n')
    result = dockfix(".")
    assert result.exit_code == 2
    assert "Dockerfile: error: configuration: " in result.stderr and "unknown rule code or name: XX1" in result.stderr


def test_a_bad_node_version_fails_the_files_under_that_configuration_and_no_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("good", "bad"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_bytes(NAIVE)
    (tmp_path / "bad" / ".dockfix.toml").write_text('node-version = "banana"\n')
    result = dockfix(".")
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [
        f"bad/Dockerfile: error: configuration: {tmp_path / 'bad' / '.dockfix.toml'}: node-version: "
        "not a Node.js version like 22 or 22.11.0, nor lts-oldest or lts-newest: banana"
    ]
    assert "good/Dockerfile:3: DF901 [*] use npm ci" in result.stdout
    assert "bad/Dockerfile" not in result.stdout


@pytest.mark.parametrize("written, used", [('"v22.11"', "22.11"), ("24", "24"), ('" 20 "', "20")])
def test_the_configurations_node_version_reaches_the_rules_as_the_flag_would(tmp_path, monkeypatch, written, used):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_bytes(b"FROM node\n# show-options\n")
    (tmp_path / ".dockfix.toml").write_text(f"node-version = {written}\n")
    from_config = dockfix("--select", "DF905", ".")
    assert f"node_version={used} " in from_config.stdout
    from_flag = dockfix("--select", "DF905", "--isolated", "--node-version", written.strip('"'), ".")
    assert f"node_version={used} " in from_flag.stdout


def test_a_configurations_registry_mirror_is_used_only_when_the_user_trusts_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOCKFIX_REGISTRY_MIRROR", raising=False)
    monkeypatch.delenv("DOCKFIX_TRUST_REPOSITORY_CONFIG", raising=False)
    (tmp_path / "Dockerfile").write_bytes(b"FROM node\n# show-options\n")
    (tmp_path / ".dockfix.toml").write_text('registry-mirror = "https://mirror.example"\nnode-version = "24"\n')
    untrusted = dockfix("--select", "DF905", ".")
    assert "node_version=24 registry_mirror=None " in untrusted.stdout, "the other keys still apply"
    assert [line for line in untrusted.stderr.splitlines() if ".dockfix.toml" in line] == [
        "dockfix: warning: .dockfix.toml: registry-mirror ignored: a repository's configuration chooses no data "
        "source unless --trust-repository-config is given"
    ]
    trusted = dockfix("--select", "DF905", "--trust-repository-config", ".")
    assert "registry_mirror=https://mirror.example " in trusted.stdout
    assert ".dockfix.toml" not in trusted.stderr
    monkeypatch.setenv("DOCKFIX_TRUST_REPOSITORY_CONFIG", "1")
    assert "registry_mirror=https://mirror.example " in dockfix("--select", "DF905", ".").stdout
    flag = dockfix("--select", "DF905", "--registry-mirror", "https://flag.example", ".")
    assert "registry_mirror=https://flag.example " in flag.stdout, "the command line still wins"
