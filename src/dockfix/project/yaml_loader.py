"""PyYAML's safe loader, with a limit on aliases: the part of yamlfile.py that needs PyYAML.

Imported only through `yamlfile.parse_yaml`, when a repository has a YAML file to read (a
compose file, a workflow, a skaffold.yaml): PyYAML takes longer to import than a small Dockerfile
takes to check, and a Dockerfile named on the command line has no build files.
"""

from __future__ import annotations

import yaml

from .yamlfile import MAX_ALIASES, YamlProblem


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


def first_document(text: str) -> object:
    """The data of the first YAML document in `text`; raises YamlProblem."""
    loader = _CountingLoader(text)
    try:
        return loader.get_single_data()
    except yaml.composer.ComposerError:
        # More than one document (`---` between them): the first one is the file's settings.
        return next(iter(every_document(text)), None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise YamlProblem(f"not valid YAML{where}: {getattr(error, 'problem', None) or error}") from None
    except RecursionError:
        raise YamlProblem("nested too deeply") from None
    finally:
        loader.dispose()


def every_document(text: str) -> list[object]:
    """Every document of a multi-document YAML text (`---` between them); raises YamlProblem."""
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
