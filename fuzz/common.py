"""What both fuzz harnesses share: the checks, the seed inputs and a plain random-input loop.

The checks are the ones the property tests make (tests/test_properties.py), imported from there
so the fuzzer and the test suite hold dockfix to exactly the same properties. Inputs are the
corpus Dockerfiles (../shared/corpus/cases/*/Dockerfile next to the checkout), generated files,
and byte-level mutations of both.
"""

from __future__ import annotations

import random
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from support.paths import corpus_cases  # noqa: E402

PIECES = [
    b"FROM node",
    b"FROM node:20-alpine AS build",
    b"from build",
    b"RUN npm ci \\",
    b"  && npm test",
    b"# comment",
    b"",
    b"   ",
    b"RUN <<EOF",
    b"EOF",
    b"RUN <<-'A' cat && <<\"B\" sh",
    b"\tA",
    b"B",
    b"COPY <<X <<Y /app/",
    b"X",
    b"Y",
    b'CMD ["node", "server.js"]',
    b"CMD npm start",
    b"ENTRYPOINT []",
    b"ENV NODE_ENV=production",
    b"ENV A 1",
    b"ARG V=20",
    b"COPY --from=build --chown=node:node /app .",
    b"COPY . .",
    b"USER node",
    b"WORKDIR /app",
    b"# escape=`",
    b"# syntax=docker/dockerfile:1",
    b"RUN a `",
    b"LABEL a=b \\",
    b"ONBUILD RUN npm ci",
    b"EXPOSE 3000",
    b"HEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1",
    b"RUN npm install",
    b"RUN yarn install",
    b"RUN apk add --no-cache curl",
    b"RUN echo \xc2\xa0nbsp",
    b"RUN \xc2\x85nel",
    b"RUN \xe2\x80\xa8ls",
    b"RUN \xff\xfe",
    b"\xef\xbb\xbfFROM x",
    b"\\",
    b"`",
    b"RUN x\rRUN y",
    b"RUN --mount=type=cache,target=/root/.npm npm ci",
    b'SHELL ["/bin/sh", "-c"]',
    b"STOPSIGNAL SIGTERM",
    b"VOLUME /data",
    b"MAINTAINER me",
]
INSERTS = [
    b"\\\n",
    b"\r\n",
    b"\n# c\n",
    b"<<EOF",
    b"\nEOF\n",
    b"\xc2\xa0",
    b"\xe2\x80\xa8",
    b"\xc2\x85",
    b"\xff",
    b"`",
    b"--",
    b'"',
    b"'",
    b"&&",
    b"\n",
    b"${X}",
    b"\t",
    b"[",
    b"]",
    b"\\\\\n",
    b"\xef\xbb\xbf",
    b"\x0b",
]
PACKAGE_JSON = (
    '{"name": "app", "scripts": {"start": "node server.js", "build": "tsc"},'
    ' "dependencies": {"express": "^4"}, "devDependencies": {"typescript": "^5"}}'
)


def corpus_dockerfiles() -> list[bytes]:
    """Every Dockerfile of the shared corpus (empty when the corpus is not next to the checkout)."""
    return [(case / "Dockerfile").read_bytes() for case in corpus_cases()]


def generate(rng: random.Random) -> bytes:
    """A Dockerfile made of known pieces, with mixed line endings and sometimes a very long line."""
    lines = [rng.choice(PIECES) for _ in range(rng.randint(0, 16))]
    if rng.random() < 0.05:
        lines.insert(rng.randint(0, len(lines)), b"RUN " + b"x" * rng.choice([1000, 65531, 65532, 100000]))
    out = b"".join(line + rng.choice([b"\n", b"\n", b"\r\n"]) for line in lines)
    return out.rstrip(b"\r\n") if rng.random() < 0.2 else out


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few byte-level edits: deletions, insertions of tricky bytes, swapped lines."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        position = rng.randint(0, len(data))
        if choice < 0.3 and data:
            del data[position : position + rng.randint(1, 20)]
        elif choice < 0.7:
            data[position:position] = rng.choice(INSERTS)
        elif choice < 0.8:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            lines = bytes(data).split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def random_inputs(seed: int, corpus: list[bytes]):
    """An endless stream of inputs: corpus files, generated files, and mutations of both."""
    rng = random.Random(seed)
    while True:
        roll = rng.random()
        base = rng.choice(corpus) if corpus and roll < 0.6 else generate(rng)
        yield base if rng.random() < 0.15 else mutate(rng, base)


def plain_loop(check, runs: int, seed: int, name: str, save_to: Path | None = None) -> int:
    """Run `check` over `runs` random inputs; print the figures; return the number of failures."""
    corpus = corpus_dockerfiles()
    failures = 0
    started = time.monotonic()
    inputs = random_inputs(seed, corpus)
    for number in range(1, runs + 1):
        data = next(inputs)
        try:
            check(data)
        except Exception:
            failures += 1
            print(f"FAILURE on input {number}: {data[:300]!r}", flush=True)
            traceback.print_exc()
            if save_to is not None:
                save_to.mkdir(parents=True, exist_ok=True)
                (save_to / f"{name}-{seed}-{number}").write_bytes(data)
        if number % 10000 == 0:
            print(f"{name}: {number} inputs, {failures} failures, {time.monotonic() - started:.0f}s", flush=True)
    elapsed = time.monotonic() - started
    print(
        f"{name}: {runs} inputs ({len(corpus)} corpus seeds, seed {seed}) in {elapsed:.1f}s, "
        f"{runs / elapsed:.0f}/s, {failures} failures",
        flush=True,
    )
    return failures


def main(check, name: str) -> None:
    """`--runs N [--seed S] [--crashes DIR]` runs the plain loop; anything else goes to atheris.

    With atheris, arguments are libFuzzer's (`-runs=N`, seed folders); without it, the plain loop
    runs whatever was asked.
    """
    args = sys.argv[1:]
    if "--runs" in args or not _atheris_available():
        runs = int(_option(args, "--runs", "10000"))
        seed = int(_option(args, "--seed", "1"))
        crashes = _option(args, "--crashes", None)
        failures = plain_loop(check, runs, seed, name, Path(crashes) if crashes else None)
        sys.exit(1 if failures else 0)
    import atheris

    def one_input(data: bytes) -> None:
        check(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


def _option(args: list[str], flag: str, default):
    return args[args.index(flag) + 1] if flag in args else default


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True
