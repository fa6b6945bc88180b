"""DF010: registry tokens become secret mounts; the value never reaches the output or a message."""

from dockfix.dockerfile.document import Document
from support.fixing import fix_folder, make_project
from support.oracle import oracle_view

PACKAGE = '{"name": "app", "version": "1.0.0", "dependencies": {"@acme/private": "^1.0.0"}}'
TOKEN = "ghp_s3cr3tvalue1234"
ARTICLE = (
    "FROM node:22-bookworm-slim\n"
    "# the token for the private registry\n"
    f"ENV NPM_TOKEN {TOKEN}\n"
    "WORKDIR /usr/src/app\n"
    "COPY . .\n"
    'RUN echo "//npm.pkg.github.com/:_authToken=$NPM_TOKEN" > .npmrc && \\\n'
    "    npm ci --omit=dev && \\\n"
    "    rm -f .npmrc\n"
    'CMD ["node", "server.js"]\n'
)
MOUNT = "RUN --mount=type=secret,id=npmrc,target=/usr/src/app/.npmrc npm ci --omit=dev\n"


def fixed(tmp_path, dockerfile, unsafe=True, **kwargs):
    folder = make_project(tmp_path, dockerfile, package_json=PACKAGE, **kwargs)
    return fix_folder(folder, unsafe=unsafe, select=["DF010"])


def all_messages(result):
    return " ".join(f.message for f in [*result.initial, *result.applied, *result.remaining])


def test_article_token_file_gets_a_secret_mount(tmp_path):
    result = fixed(tmp_path, ARTICLE)
    out = result.fixed.decode()
    assert out == (
        "# syntax=docker/dockerfile:1\n"
        "FROM node:22-bookworm-slim\n"
        "# the token for the private registry\n"
        "WORKDIR /usr/src/app\n"
        "COPY . .\n" + MOUNT + 'CMD ["node", "server.js"]\n'
    )
    assert TOKEN not in out and "NPM_TOKEN" not in out and "echo" not in out
    assert oracle_view(result.fixed)[0] == "ok"
    message = result.applied[0].message
    assert "docker build --secret id=npmrc,src=.npmrc ." in message and "rotate" in message


def test_token_value_never_appears_in_messages(tmp_path):
    result = fixed(tmp_path, ARTICLE.replace("ENV NPM_TOKEN", "ARG GH_TOKEN=x\nENV NPM_TOKEN"), unsafe=False)
    assert TOKEN not in all_messages(result)
    assert result.fixed == result.original  # unsafe: only offered without --unsafe-fixes
    assert any(f.code == "DF010" and f.fixable for f in result.remaining)


def test_rewrite_is_a_fixpoint(tmp_path):
    folder = make_project(tmp_path, ARTICLE, package_json=PACKAGE)
    first = fix_folder(folder, select=["DF010"])
    again = fix_folder(folder, select=["DF010"], source=first.fixed)
    assert again.fixed == first.fixed and not again.applied


def test_existing_syntax_line_and_other_directives_are_kept(tmp_path):
    with_syntax = "# syntax=docker/dockerfile:1.7\n" + ARTICLE
    out = fixed(tmp_path, with_syntax).fixed.decode()
    assert out.startswith("# syntax=docker/dockerfile:1.7\nFROM")
    assert out.count("syntax=") == 1

    (tmp_path / "escape").mkdir()
    with_escape = "# escape=\\\n" + ARTICLE
    out = fixed(tmp_path / "escape", with_escape).fixed
    doc = Document.parse(out)
    assert doc.directives.get("syntax") == "docker/dockerfile:1" and doc.directives.get("escape") == "\\"


def test_bom_and_crlf_are_kept(tmp_path):
    source = b"\xef\xbb\xbf" + ARTICLE.replace("\n", "\r\n").encode()
    result = fixed(tmp_path, source)
    assert result.fixed.startswith(b"\xef\xbb\xbf# syntax=docker/dockerfile:1\r\nFROM")
    assert MOUNT.replace("\n", "\r\n").encode() in result.fixed
    assert oracle_view(result.fixed)[0] == "ok"


def test_arg_token_with_npm_config_set_in_the_middle(tmp_path):
    dockerfile = (
        "FROM node:22-alpine\n"
        "ARG NPM_TOKEN\n"
        "WORKDIR /app\n"
        "COPY package*.json ./\n"
        "RUN npm ci && npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN} && npm run build\n"
        'CMD ["node", "server.js"]\n'
    )
    out = fixed(tmp_path, dockerfile).fixed.decode()
    assert "ARG NPM_TOKEN" not in out and "_authToken" not in out
    assert "RUN --mount=type=secret,id=npmrc,target=/app/.npmrc npm ci && npm run build\n" in out


def test_home_npmrc_is_mounted_in_the_home_of_the_user(tmp_path):
    dockerfile = ARTICLE.replace("> .npmrc", "> ~/.npmrc").replace("rm -f .npmrc", "rm -f ~/.npmrc")
    out = fixed(tmp_path, dockerfile).fixed.decode()
    assert "--mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev\n" in out


def test_token_used_elsewhere_keeps_its_declaration(tmp_path):
    dockerfile = ARTICLE.replace(
        'CMD ["node", "server.js"]', 'RUN echo "$NPM_TOKEN" | wc -c\nCMD ["node", "server.js"]'
    )
    result = fixed(tmp_path, dockerfile)
    out = result.fixed.decode()
    assert "--mount=type=secret" in out and "ENV NPM_TOKEN" in out
    assert any("NPM_TOKEN" in f.message and "looks like a secret" in f.message for f in result.remaining)


def test_echo_without_install_is_only_reported(tmp_path):
    dockerfile = (
        'FROM node:22\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=$NPM_TOKEN" > /root/.npmrc\nCMD ["node", "a.js"]\n'
    )
    result = fixed(tmp_path, dockerfile)
    assert result.fixed == dockerfile.encode()
    assert any(f.code == "DF010" and f.fix is None and "_authToken" not in f.message for f in result.remaining)


def test_npmrc_without_credentials_is_not_a_secret(tmp_path):
    dockerfile = 'FROM node:22\nWORKDIR /app\nRUN echo "registry=https://registry.example" > .npmrc && npm ci\nCMD ["node", "a.js"]\n'
    assert fixed(tmp_path, dockerfile).initial == []


def test_copied_npmrc_and_secret_names_are_reported(tmp_path):
    dockerfile = 'FROM node:22\nWORKDIR /app\nARG DB_PASSWORD=hunter2\nENV PUBLIC_KEY=abc\nCOPY .npmrc package.json ./\nRUN npm ci\nCMD ["node", "a.js"]\n'
    result = fixed(tmp_path, dockerfile, files={".npmrc": "//npm.pkg.github.com/:_authToken=${NPM_TOKEN}\n"})
    messages = [f.message for f in result.initial]
    assert any("`.npmrc` is copied into the image and holds a registry credential" in m for m in messages)
    assert any("DB_PASSWORD" in m for m in messages)
    assert not any("PUBLIC_KEY" in m for m in messages)
    assert "hunter2" not in " ".join(messages)
    assert result.fixed == dockerfile.encode()


def test_comment_inside_the_continuation_blocks_the_rewrite(tmp_path):
    dockerfile = ARTICLE.replace("    npm ci --omit=dev && \\\n", "# keep me\n    npm ci --omit=dev && \\\n")
    result = fixed(tmp_path, dockerfile)
    assert b"# keep me" in result.fixed
    assert oracle_view(result.fixed)[0] == "ok"


def test_write_tells_the_next_build_command(tmp_path):
    """After the rewrite a build without --secret silently has no token: --write says so."""
    from typer.testing import CliRunner

    from dockfix.cli import app

    folder = make_project(tmp_path, ARTICLE, package_json=PACKAGE)
    result = CliRunner().invoke(
        app, ["--write", "--unsafe-fixes", "--offline", "--select", "DF010", str(folder / "Dockerfile")]
    )
    assert result.exit_code == 0, result.stderr
    next_steps = [line for line in result.stderr.splitlines() if "next step" in line]
    assert len(next_steps) == 1 and "docker build --secret id=npmrc,src=.npmrc ." in next_steps[0]
    assert TOKEN not in result.stderr + result.stdout


COPIED_NPMRC = 'FROM node:22\nWORKDIR /app\nCOPY .npmrc package.json ./\nRUN npm ci\nCMD ["node", "a.js"]\n'


def test_copied_npmrc_with_settings_only_holds_no_token(tmp_path):
    # The shape of a pnpm monorepo: its .npmrc sets install options, no credential.
    settings = "auto-install-peers=true\nstrict-peer-dependencies=false\n# _authToken goes in CI\n"
    assert fixed(tmp_path, COPIED_NPMRC, files={".npmrc": settings}).initial == []


def test_copied_npmrc_with_a_secret_variable_is_reported(tmp_path):
    npmrc = "@acme:registry=https://npm.acme.dev/\n//npm.acme.dev/:always-auth=true\ntoken=${ACME_NPM_TOKEN}\n"
    messages = [f.message for f in fixed(tmp_path, COPIED_NPMRC, files={".npmrc": npmrc}).initial]
    assert messages == [
        "`.npmrc` is copied into the image and holds a registry credential: it stays in that layer even if removed "
        "later; mount it with `RUN --mount=type=secret,id=npmrc,target=...` and build with "
        "`docker build --secret id=npmrc,src=.npmrc .`"
    ]


def test_copied_npmrc_missing_from_the_context_is_unchecked(tmp_path):
    # A local-only (gitignored) .npmrc: what it holds cannot be read here.
    messages = [f.message for f in fixed(tmp_path, COPIED_NPMRC).initial]
    assert messages == [
        "`.npmrc` is copied into the image but is not in the build context here (a local-only or gitignored file), "
        "so whether it holds a token could not be checked; if it does, the token stays in that layer: mount it with "
        "`RUN --mount=type=secret,id=npmrc,target=...` and build with `docker build --secret id=npmrc,src=.npmrc .`"
    ]
