"""`--target ir`: the project's IR as deterministic JSON, for tools and reviews."""

from __future__ import annotations

from compiler import ir
from compiler.ir_schema import IR_VERSION
from targets.base import Artifact, CompileInput, Target


class IRTarget(Target):
    name = "ir"
    summary = "the seqc IR as JSON (schema: targets/schemas/ir.schema.json)"

    def emit(self, job: CompileInput) -> list[Artifact]:
        doc = {"ir_version": IR_VERSION, "project": ir.to_json(job.loaded.project)}
        text = ir.json_text(doc) + "\n"   # json.dumps(indent=2) recurses per level: guards nest deeply
        return [Artifact("project.json", text, schema="ir.schema.json")]
