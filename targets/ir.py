"""`--target ir`: the project's IR as deterministic JSON, for tools and reviews."""

from __future__ import annotations

import json

from compiler import ir
from compiler.ir_schema import IR_VERSION
from targets.base import Artifact, CompileInput, Target


class IRTarget(Target):
    name = "ir"
    summary = "the seqc IR as JSON (schema: targets/schemas/ir.schema.json)"

    def emit(self, job: CompileInput) -> list[Artifact]:
        doc = {"ir_version": IR_VERSION, "project": ir.to_json(job.loaded.project)}
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return [Artifact("project.json", text, schema="ir.schema.json")]
