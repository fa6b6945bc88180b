"""DF004 and how the image runs, by the repository's files: a compose service or an entry script
that needs root keeps root (a note says which file, line or key), and the folders the app writes
(compose volumes, folders the file creates for uploads) are given to node in the same fix.

Each shape is a repository fixture in tests/fixtures/repos/, copied to a temporary folder and run
through discovery and the whole run, as the command line does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dockfix.context import Options
from dockfix.dockerfile.document import Document
from dockfix.dockerfile.stages import runtime_stage
from dockfix.pipeline import FileResult
from dockfix.project.build_context import Project
from dockfix.project.discover import discover
from dockfix.project.runtime_evidence import created_for_writes, root_command, root_needed_at_start
from dockfix.rules import RULES, select_rules
from dockfix.run import Settings, process_paths
from support.fixing import TODAY
from support.oracle import oracle_view
from support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"
NOT_ADDED = "it needs root; USER node not added"


@pytest.fixture
def repo(tmp_path):
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


def fix_repo(root: Path, dockerfile: str) -> FileResult:
    """DF004 over the repository at `root` with unsafe fixes, as `dockfix --unsafe-fixes` runs it; the result of `dockerfile`."""
    found = discover([root])
    settings = Settings(
        rules=select_rules(["DF004"], None), options=Options(unsafe_fixes=True, offline=True, today=TODAY)
    )
    results = process_paths(found.files, settings, contexts=found.contexts, builds=found.builds)
    [result] = [result for result in results if result.path == root / dockerfile]
    assert result.error is None, result.error
    return result


def df004(result: FileResult) -> list[tuple[str, bool]]:
    """(message, is a note) of every DF004 finding of the run."""
    return [(f.message, f.note) for f in [*result.applied, *result.remaining, *result.notes] if f.code == "DF004"]


# -- the service needs root: no USER node, and the note says why ------------------------------------


def test_a_service_granted_capabilities_keeps_root(repo):
    root = repo("privileged-service")
    result = fix_repo(root, "vpn/Dockerfile")
    assert result.fixed == result.original
    assert df004(result) == [(f"compose.yaml service vpn grants cap_add NET_ADMIN: {NOT_ADDED}", True)]
    [note] = result.notes
    assert note.line == 5  # where USER node would have gone


@pytest.mark.parametrize(
    "runtime, why",
    [
        ("    privileged: true\n", "compose.yaml service vpn runs privileged"),
        ('    user: "0"\n', "compose.yaml service vpn sets user: 0"),
        ("    user: root\n", "compose.yaml service vpn sets user: root"),
    ],
)
def test_privileged_mode_or_user_root_keeps_root(repo, runtime, why):
    root = repo("privileged-service")
    (root / "vpn" / "entrypoint.sh").write_text('#!/bin/sh\nexec "$@"\n')
    (root / "compose.yaml").write_text(f"services:\n  vpn:\n    build: ./vpn\n{runtime}")
    assert df004(fix_repo(root, "vpn/Dockerfile")) == [(f"{why}: {NOT_ADDED}", True)]


def test_an_entry_script_that_mounts_keeps_root(repo):
    """The script is copied to the PATH and named bare in ENTRYPOINT; its first root command is named."""
    root = repo("entry-script-mount")
    result = fix_repo(root, "Dockerfile")
    assert result.fixed == result.original
    message = f"docker-entrypoint.sh line 4 runs `mkdir -p /mnt/media`, which writes under /mnt/media: {NOT_ADDED}"
    assert df004(result) == [(message, True)]


def test_an_entry_script_that_mounts_without_creating_the_folder(repo):
    root = repo("entry-script-mount")
    script = root / "docker-entrypoint.sh"
    script.write_text(script.read_text().replace("mkdir -p /mnt/media\n", ""))
    message = f'docker-entrypoint.sh line 4 runs `mount -t nfs "$MEDIA_EXPORT" /mnt/media`: {NOT_ADDED}'
    assert df004(fix_repo(root, "Dockerfile")) == [(message, True)]


def test_a_start_script_that_changes_the_firewall_keeps_root(repo):
    """`sh scripts/start.sh` from the WORKDIR, the script brought in by `COPY . .`."""
    root = repo("entry-script-iptables")
    result = fix_repo(root, "Dockerfile")
    assert result.fixed == result.original
    message = (
        f"scripts/start.sh line 3 runs `iptables -A INPUT -p tcp --dport 3000 -s 10.0.0.0/8 -j ACCEPT`: {NOT_ADDED}"
    )
    assert df004(result) == [(message, True)]


@pytest.mark.parametrize(
    "line, why",
    [
        ("echo 'nameserver 10.0.0.2' > /etc/resolv.conf", "writes to /etc/resolv.conf"),
        ("sysctl -w net.ipv4.ip_forward=1", "runs `sysctl -w net.ipv4.ip_forward=1`"),
        ("ip route add 10.8.0.0/24 via 10.0.0.1", "runs `ip route add 10.8.0.0/24 via 10.0.0.1`"),
        ("apk add --no-cache curl", "runs `apk add --no-cache curl` when it starts"),
        (  # a variable the script sets to a plain path is followed
            "conf=/etc/proxychains.conf; echo strict_chain > $conf",
            "writes to /etc/proxychains.conf",
        ),
        ("sudo -u nobody node probe.js &", "runs `sudo -u nobody node probe.js`"),
        (
            "chown -R node /data",
            "runs `chown -R node /data`, and only root may give files to another user",
        ),
        (
            "chown -R node /var/run/gateway",
            "runs `chown -R node /var/run/gateway`, which writes under /var/run/gateway",
        ),
    ],
)
def test_other_commands_only_root_may_run(repo, line, why):
    root = repo("entry-script-iptables")
    (root / "scripts" / "start.sh").write_text(f"#!/bin/sh\n{line}\nexec node gateway.js\n")
    assert df004(fix_repo(root, "Dockerfile")) == [(f"scripts/start.sh line 2 {why}: {NOT_ADDED}", True)]


def test_a_compose_command_that_needs_root(repo):
    root = repo("compose-volume")
    compose = root / "compose.yaml"
    compose.write_text(
        compose.read_text().replace("    ports:", '    command: sh -c "mount -a && node index.js"\n    ports:')
    )
    message = f"the command of compose.yaml service api runs `mount -a`: {NOT_ADDED}"
    assert df004(fix_repo(root, "api/Dockerfile")) == [(message, True)]


def test_a_start_command_that_writes_a_system_folder(tmp_path):
    (tmp_path / "package.json").write_text('{"scripts": {"start": "mkdir -p /var/lib/app && node a.js"}}')
    (tmp_path / "Dockerfile").write_text('FROM node:22\nCOPY . /app\nWORKDIR /app\nCMD ["npm", "start"]\n')
    doc = Document.parse((tmp_path / "Dockerfile").read_bytes())
    stage = runtime_stage(doc)
    assert stage is not None
    need = root_needed_at_start(Project(tmp_path), doc, stage)
    assert str(need) == "the start command (line 4) runs `mkdir -p /var/lib/app`, which writes under /var/lib/app"


# -- the folders the app writes go to node ------------------------------------------------------------


def test_a_folder_the_file_creates_for_uploads_goes_to_node(repo):
    root = repo("uploads-root-folder")
    result = fix_repo(root, "Dockerfile")
    assert result.fixed is not None
    assert result.fixed.decode() == (
        "FROM node:22-alpine\nWORKDIR /app\nCOPY --chown=node:node package.json package-lock.json ./\n"
        "RUN npm ci --omit=dev\nCOPY --chown=node:node server.js ./\nRUN mkdir -p /app/uploads\n"
        "RUN mkdir -p /app/uploads && chown node:node /app/uploads\nUSER node\n"
        'CMD ["node", "server.js"]\n'
    )
    assert oracle_view(result.fixed)[0] == "ok"
    [finding] = result.applied
    assert finding.message == (
        "the app runs as root: switch to the image's unprivileged `node` user,"
        " and give it only the folders it writes: /app/uploads"
    )
    (root / "Dockerfile").write_bytes(result.fixed)
    assert fix_repo(root, "Dockerfile").fixed == result.fixed, "not a fixpoint"


def test_a_created_folder_given_away_already_is_left(tmp_path):
    source = "FROM node:22\nWORKDIR /app\nRUN mkdir -p uploads logs && chown node uploads && chmod 777 logs\n"
    doc = Document.parse(source.encode())
    stage = runtime_stage(doc)
    assert stage is not None
    assert created_for_writes(doc, stage) == []


def test_a_created_folder_named_by_a_variable_withholds_the_fix(repo):
    root = repo("uploads-root-folder")
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("/app/uploads", "$UPLOADS/uploads"))
    result = fix_repo(root, "Dockerfile")
    assert result.fixed == result.original
    [finding] = result.remaining
    assert not finding.fixable
    assert finding.message == (
        "the app runs as root: switch to the image's unprivileged `node` user;"
        " it creates $UPLOADS/uploads as root: chown it to node, then apply"
    )


def test_a_compose_volume_goes_to_node_and_a_read_only_one_does_not(repo):
    root = repo("compose-volume")
    result = fix_repo(root, "api/Dockerfile")
    assert result.fixed is not None
    assert result.fixed.decode() == (
        "FROM node:22-slim\nWORKDIR /app\nCOPY --chown=node:node package.json index.js ./\n"
        "RUN npm install --omit=dev\nRUN mkdir -p /app/reports && chown node:node /app/reports\nUSER node\n"
        'CMD ["node", "index.js"]\n'
    )
    [finding] = result.applied
    assert finding.message.endswith("and give it only the folders it writes: /app/reports")


def test_a_compose_bind_mount_withholds_the_fix(repo):
    """A host folder mounted over the image's keeps the host's owner: no chown in the image helps."""
    root = repo("compose-volume")
    compose = root / "compose.yaml"
    compose.write_text(compose.read_text().replace("reports:/app/reports", "./reports:/app/reports"))
    result = fix_repo(root, "api/Dockerfile")
    assert result.fixed == result.original
    [finding] = result.remaining
    assert not finding.fixable
    assert finding.message == (
        "the app runs as root: switch to the image's unprivileged `node` user;"
        " compose.yaml service api mounts the host folder ./reports at /app/reports, which keeps the host"
        " folder's owner: make it writable by uid 1000 on the host, then apply"
    )


# -- nothing says the app needs root: it still gets USER node ------------------------------------------


def test_a_plain_app_in_a_repository_still_gets_user_node(repo):
    root = repo("entry-script-iptables")
    (root / "scripts" / "start.sh").write_text(
        "#!/bin/sh\n# read the gateway's address, write to the console\nip route show default > /dev/stderr\n"
        "mkdir -p /tmp/gateway\nexec node gateway.js\n"
    )
    result = fix_repo(root, "Dockerfile")
    assert result.fixed is not None and b"\nUSER node\n" in result.fixed
    assert df004(result) == [("the app runs as root: switch to the image's unprivileged `node` user", False)]


def test_a_service_that_runs_another_stage_does_not_decide_for_the_final_one(repo):
    root = repo("privileged-service")
    (root / "vpn" / "Dockerfile").write_text(
        'FROM node:22 AS tools\nCMD ["sh"]\nFROM node:22\nCOPY index.js /app/\nCMD ["node", "/app/index.js"]\n'
    )
    (root / "compose.yaml").write_text(
        "services:\n  vpn:\n    build:\n      context: ./vpn\n      target: tools\n    privileged: true\n"
    )
    result = fix_repo(root, "vpn/Dockerfile")
    assert result.fixed is not None and b"\nUSER node\n" in result.fixed


@pytest.mark.parametrize(
    "argv",
    [
        ["ip", "route", "show"],
        ["ip", "addr"],
        ["sysctl", "-n", "net.core.somaxconn"],
        ["mkdir", "-p", "/tmp/cache"],
        ["mkdir", "-p", "$DATA_DIR"],
        ["cp", "/etc/hosts", "/tmp/hosts"],
        ["apt-get", "--version"],
    ],
)
def test_commands_any_user_may_run(argv):
    assert root_command(argv) is None


def test_every_rule_together_leaves_a_root_service_without_user(repo):
    root = repo("privileged-service")
    found = discover([root])
    settings = Settings(rules=list(RULES), options=Options(unsafe_fixes=True, offline=True, today=TODAY))
    [result] = process_paths(found.files, settings, contexts=found.contexts, builds=found.builds)
    assert result.fixed is not None and b"USER" not in result.fixed
