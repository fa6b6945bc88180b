"""A runtime stage on another Node.js image (distroless), against the stages that feed it.

A file that already has several stages is not split again; when its runtime stage stands on a
Node.js image other than the official one (`gcr.io/distroless/nodejs22-debian12`), the stages on
the node image that feed it must build for the runtime's Node.js major, and a runtime whose
Node.js reached its end of life is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...context import RuleContext
from ...dockerfile.document import Document
from ...dockerfile.stages import copied_stages, external_base, runtime_node_major, runtime_stage
from ...guard import stage_image
from .planning import services_of


def runtime_problems(doc: Document, ctx: RuleContext) -> Iterator[tuple[str, int]]:
    """(message, line) for each problem of a runtime stage on another Node.js image."""
    runtime = runtime_stage(doc)
    if runtime is None:
        return
    base = external_base(doc, runtime)
    major = runtime_node_major(base)
    if major is None:
        return
    image = base.split("@")[0]
    services = services_of(ctx)
    data = services.node_data
    if data.is_end_of_life(major, ctx.today):
        end = data.end_of_life_date(major)
        yield (
            f"the runtime image `{image}` runs Node.js {major}, which reached its end of life"
            f"{f' on {end.isoformat()}' if end else ''}: move it to a supported major, and the stages that build"
            " for it to the same major",
            runtime.from_instruction.line,
        )
    for inst, source in copied_stages(doc, runtime):
        built_on = stage_image(doc, source, services.node_images, ctx.today).major
        if built_on is not None and built_on != major:
            name = source.alias or str(source.index)
            yield (
                f"the stage `{name}` builds on Node.js {built_on} for a runtime on Node.js {major} (`{image}`):"
                f" native addons and engine checks must match the runtime's major, so build it on `node:{major}`",
                inst.line,
            )
