"""BuildKit's parser (PyPI `dockerfile`) as the oracle, and our document in the same shape.

Both sides are turned into plain tuples per instruction so a test can compare them directly:
keyword, first and last line, flags, JSON form, heredoc names and bodies, and, where the
oracle keeps the text as it is, the instruction's joined line and its arguments.
"""

from __future__ import annotations

import re

from dockfix.dockerfile.document import JSON_FORM_INSTRUCTIONS, DockerfileSyntaxError, Document, _maybe_json

SHELL_VALUE_INSTRUCTIONS = {"RUN", "CMD", "ENTRYPOINT", "SHELL"}


def oracle_view(source: bytes):
    """What BuildKit's parser makes of the file, or the error message it raises."""
    import dockerfile

    try:
        # The Go extension aborts the process on strings that are not valid UTF-8, so both
        # views read undecodable bytes as U+FFFD.
        commands = dockerfile.parse_string(source.decode("utf-8", "replace"))
    except dockerfile.GoParseError as error:
        return ("error", str(error))
    view = []
    for command in commands:
        if command.cmd is None:  # the binding's view of a line that is only a continuation
            return ("error", "instruction without a keyword")
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
    if doc.errors:
        return ("error", str(doc.errors[0]))
    if not doc.instructions:
        return ("error", "file with no instructions")
    view = []
    for inst in doc.instructions:
        heredocs = tuple(
            (h.name, doc.source[h.body_start : h.body_end].decode("utf-8", "replace")) for h in inst.heredocs
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
            # The binding reports ONBUILD's JSON form and heredocs on its sub-command, and shows
            # only the top line as the original.
            item["sub"] = inst.onbuild_keyword
            sub_args = inst.args_bytes.split(None, 1)[1:] or [b""]
            item["json"] = (
                inst.onbuild_keyword in JSON_FORM_INSTRUCTIONS and _maybe_json(sub_args[0].strip()) is not None
            )
            item["heredocs"] = ()
            item["original"] = inst.logical.decode("utf-8", "replace")
        elif not inst.heredocs:
            item["original"] = inst.logical.decode("utf-8", "replace")
        name = inst.name
        if name in SHELL_VALUE_INSTRUCTIONS:
            if inst.is_json_form:
                item["value"] = tuple(inst.json_args)
            elif inst.args_bytes:
                item["value"] = (inst.args_bytes.decode("utf-8", "replace"),)
            else:
                item["value"] = ()
        if name == "FROM":
            item["value"] = tuple(w for w in re.split(r"[\t\v\f\r ]+", inst.args) if w)
        view.append(item)
    return ("ok", view)


def agrees_with_oracle(source: bytes) -> bool:
    """Same instructions as BuildKit's parser, or both reject the file (messages may differ)."""
    ours, theirs = document_view(source), oracle_view(source)
    if ours[0] == "error" or theirs[0] == "error":
        return ours[0] == theirs[0]
    return ours == theirs
