"""BuildKit's parser (PyPI `dockerfile`) as the oracle, and our document in the same shape.

Both sides are turned into plain tuples per instruction so a test can compare them directly:
keyword, first and last line, flags, JSON form, heredoc names and bodies, and, where the
oracle keeps the text as it is, the instruction's joined line and its arguments.
"""

from __future__ import annotations

from dockfix.document import Document, DockerfileSyntaxError

SHELL_VALUE_INSTRUCTIONS = {"RUN", "CMD", "ENTRYPOINT", "SHELL"}


def oracle_view(source: bytes):
    """What BuildKit's parser makes of the file, or the error message it raises."""
    import dockerfile

    try:
        commands = dockerfile.parse_string(source.decode("utf-8", "surrogateescape"))
    except dockerfile.GoParseError as error:
        return ("error", str(error))
    view = []
    for command in commands:
        item = {
            "keyword": command.cmd,
            "lines": (command.start_line, command.end_line),
            "flags": tuple(command.flags),
            "json": command.json,
            "heredocs": tuple((h.name, h.content) for h in command.heredocs),
            "sub": command.sub_cmd,
        }
        if not command.heredocs:
            item["original"] = command.original
        if command.cmd.upper() in SHELL_VALUE_INSTRUCTIONS:
            item["value"] = tuple(command.value)
        if command.cmd.upper() == "FROM":
            item["value"] = tuple(command.value)
        view.append(item)
    return ("ok", view)


def document_view(source: bytes):
    """Our document in the oracle's shape."""
    try:
        doc = Document.parse(source)
    except DockerfileSyntaxError as error:
        return ("error", str(error))
    view = []
    for inst in doc.instructions:
        heredocs = tuple(
            (h.name, doc.source[h.body_start:h.body_end].decode("utf-8", "surrogateescape"))
            for h in inst.heredocs
        )
        item = {
            "keyword": inst.keyword,
            "lines": (inst.line, inst.end_line),
            "flags": tuple(f.text for f in inst.flags),
            "json": inst.is_json_form,
            "heredocs": heredocs,
            "sub": None,
        }
        if inst.name == "ONBUILD" and inst.onbuild_keyword:
            item["sub"] = inst.onbuild_keyword
        if not inst.heredocs:
            item["original"] = inst.logical.decode("utf-8", "surrogateescape")
        name = inst.name
        if name in SHELL_VALUE_INSTRUCTIONS:
            if inst.is_json_form:
                item["value"] = tuple(inst.json_args)
            elif inst.args_bytes:
                item["value"] = (inst.args_bytes.decode("utf-8", "surrogateescape"),)
            else:
                item["value"] = ()
        if name == "FROM":
            item["value"] = tuple(inst.args.split())
        view.append(item)
    return ("ok", view)
