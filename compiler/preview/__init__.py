"""`seqc preview`: every prospect's touches, routed, scheduled, rendered, in five formats.

    record ─▶ touches.Previewer.preview ─▶ ProspectPreview ─▶ formats.<fmt>.prospect ─▶ runner / sink
             (routing.eval_cond, schedule, events, render.render)

`work.Work.preview` runs that over a run of records (in this process, or in the `pool`'s
worker processes on slices of the file with `--jobs N`); `runner` puts the results in order.

Public API:

* `Previewer(project, events=None).preview(record, enrolled) -> ProspectPreview`: one record.
* `EventLog.load(path, project)`: an `--events` file; `Previewer(..., events=log)` walks it.
* `run(Options, project, RunInfo, echo=..., stdout=...)`: the streaming pipeline the CLI uses.
* `compiler.cli_preview.preview_command(...)`: the command as a function (returns the exit code).
"""

from compiler.preview.events import EventLog, History
from compiler.preview.model import PreviewTouch, ProspectPreview, Sender
from compiler.preview.runner import Options, run
from compiler.preview.touches import Previewer, choose_variant, enrollment_date

__all__ = ["EventLog", "History", "Options", "PreviewTouch", "Previewer", "ProspectPreview", "Sender",
           "choose_variant", "enrollment_date", "run"]
