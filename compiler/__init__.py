"""seqc: B2B outbound sequences as code — parse, check, plan, compile and preview them.

The public API lives in `compiler.api` (imported lazily so the command line starts fast).
"""

__version__ = "0.1.0"


def main() -> None:
    """The `seqc` console script: a quiet Ctrl-C from the first moment, then `compiler.cli.run`.

    Importing the command line (click and the first modules) takes ~150 ms; a Ctrl-C in that
    time would print Python's traceback, since `run()` and its handler are not there yet.
    So this module, which imports nothing heavy, installs a handler first; `run()` puts
    Python's own back once it can turn a KeyboardInterrupt into `seqc: interrupted`.
    """
    import signal

    # Not when SIGINT is ignored (a background job, nohup): that choice is the caller's.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, quiet_interrupt)
    from compiler.cli import run

    run()


def quiet_interrupt(signum, frame) -> None:
    """SIGINT before `run()` took over: nothing is written yet, so just say so and leave."""
    import os

    try:
        os.write(2, b"seqc: interrupted\n")
    finally:
        os._exit(2)  # ExitCode.USAGE, as `run()` exits on a KeyboardInterrupt
