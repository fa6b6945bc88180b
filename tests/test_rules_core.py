"""The core rules (DF002-DF006) together: the article's Dockerfile comes out with all of them, and
a Dockerfile that already follows them is left untouched."""

import shutil

from support.fixing import fix_folder
from support.paths import FIXTURES
from support.rule_runs import LOCK, run


def test_article_ladder(tmp_path):
    """The article's naive Dockerfile comes out with the four core practices and a graceful app."""
    folder = tmp_path / "article"
    shutil.copytree(FIXTURES / "article", folder)
    result = fix_folder(folder, select=["DF002", "DF003", "DF004", "DF005", "DF006"])
    assert result.fixed.decode() == (
        "FROM node\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends dumb-init && rm -rf /var/lib/apt/lists/*\n"
        "WORKDIR /usr/src/app\n"
        "COPY --chown=node:node . /usr/src/app\n"
        "RUN npm ci --omit=dev\n"
        "USER node\n"
        "ENV NODE_ENV=production\n"
        'CMD ["dumb-init", "node", "server.js"]\n'
    )
    server = result.other_files[folder / "server.js"][1].decode()
    assert "await fastify.close()" in server and "process.once('SIGTERM', closeGracefully)" in server


def test_follows_all_practices_untouched(tmp_path):
    source = (
        "FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nWORKDIR /app\nCOPY --chown=node:node package*.json ./\n"
        "RUN npm ci --omit=dev\nCOPY --chown=node:node . .\nENV NODE_ENV=production\nUSER node\n"
        'CMD ["dumb-init", "node", "server.js"]\n'
    )
    files = {
        **LOCK,
        "server.js": "const s = require('http').createServer().listen(3000)\nprocess.on('SIGTERM', () => s.close())\n",
    }
    result = run(tmp_path, source, select=["DF002", "DF003", "DF004", "DF005", "DF006"], files=files)
    assert result.fixed.decode() == source and not result.other_files and not result.remaining
