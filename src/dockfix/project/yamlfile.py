"""Reading the YAML files that say how a repository builds its images: compose, workflows, skaffold.

PyYAML's safe loader does the parsing (`yaml.safe_load` builds only plain data: no Python
objects). Two limits keep a hostile file from costing the run its memory or its time: the size
(MAX_YAML_SIZE) and the number of aliases (MAX_ALIASES). Compose files use a few anchors and
aliases for shared settings (`x-common: &common` ... `<<: *common`); the "billion laughs"
documents that expand to gigabytes use many, and are refused before any of it is built.
"""

from __future__ import annotations

from pathlib import Path

import yaml

MAX_YAML_SIZE = 1024 * 1024
MAX_ALIASES = 100


class YamlProblem(Exception):
    """The YAML file cannot be read; the message is one line."""


class _CountingLoader(yaml.SafeLoader):
    """The safe loader, refusing a document with more than MAX_ALIASES aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlProblem(f"more than {MAX_ALIASES} aliases; not read")
        return super().compose_node(parent, index)


def load_yaml_text(text: str) -> object:
    """The data of the first YAML document in `text`; raises YamlProblem."""
    if len(text) > MAX_YAML_SIZE:
        raise YamlProblem("too large")
    loader = _CountingLoader(text)
    try:
        return loader.get_single_data()
    except yaml.composer.ComposerError:
        # More than one document (`---` between them): the first one is the file's settings.
        return next(iter(load_yaml_documents(text)), None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise YamlProblem(f"not valid YAML{where}: {getattr(error, 'problem', None) or error}") from None
    except RecursionError:
        raise YamlProblem("nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml_documents(text: str) -> list[object]:
    """Every document of a multi-document YAML text (`---` between them); raises YamlProblem."""
    if len(text) > MAX_YAML_SIZE:
        raise YamlProblem("too large")
    loader = _CountingLoader(text)
    documents = []
    try:
        while loader.check_data():
            documents.append(loader.get_data())
    except yaml.YAMLError as error:
        raise YamlProblem(f"not valid YAML: {getattr(error, 'problem', None) or error}") from None
    except RecursionError:
        raise YamlProblem("nested too deeply") from None
    finally:
        loader.dispose()
    return documents


def read_yaml(path: Path, *, all_documents: bool = False) -> object:
    """The data of a YAML file (a list of documents with `all_documents`); raises YamlProblem."""
    try:
        if path.stat().st_size > MAX_YAML_SIZE:
            raise YamlProblem("too large")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise YamlProblem(error.strerror or type(error).__name__) from None
    except UnicodeDecodeError:
        raise YamlProblem("not UTF-8 text") from None
    return load_yaml_documents(text) if all_documents else load_yaml_text(text)
