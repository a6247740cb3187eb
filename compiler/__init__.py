"""seqc: B2B outbound sequences as code — parse, check, plan, compile and preview them.

The public API lives in `compiler.api` (imported lazily so the command line starts fast).
"""

__version__ = "0.1.0"
