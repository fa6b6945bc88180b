"""Reading the YAML files that say how a repository builds its images: compose, workflows, skaffold.

PyYAML's safe loader does the parsing (`yaml.safe_load` builds only plain data: no Python
objects). Two limits keep a hostile file from costing the run its memory or its time: the size
(MAX_YAML_SIZE) and the number of aliases (MAX_ALIASES). Compose files use a few anchors and
aliases for shared settings (`x-common: &common` ... `<<: *common`); the "billion laughs"
documents that expand to gigabytes use many, and are refused before any of it is built.

PyYAML is imported at its door, `parse_yaml` (the loader is yaml_loader.py), the first time a
YAML file is read: a run over Dockerfiles with no build files beside them never loads it.
"""

from __future__ import annotations

from pathlib import Path

from .fsutil import FileProblem, read_regular_file

MAX_YAML_SIZE = 1024 * 1024
MAX_ALIASES = 100


class YamlProblem(Exception):
    """The YAML file cannot be read; the message is one line."""


def parse_yaml(text: str, *, all_documents: bool) -> object:
    """The data of the first YAML document in `text`, or the list of all of them; raises YamlProblem."""
    if len(text) > MAX_YAML_SIZE:
        raise YamlProblem("too large")
    # PyYAML's door: only a repository with a YAML build file loads it.
    from . import yaml_loader

    return yaml_loader.every_document(text) if all_documents else yaml_loader.first_document(text)


def load_yaml_text(text: str) -> object:
    """The data of the first YAML document in `text`; raises YamlProblem."""
    return parse_yaml(text, all_documents=False)


def read_yaml(path: Path, *, all_documents: bool = False) -> object:
    """The data of a YAML file (a list of documents with `all_documents`); raises YamlProblem."""
    try:
        text = read_regular_file(path, MAX_YAML_SIZE).decode("utf-8-sig")
    except FileProblem as problem:
        raise YamlProblem(problem.message) from None
    except UnicodeDecodeError:
        raise YamlProblem("not UTF-8 text") from None
    return parse_yaml(text, all_documents=all_documents)
