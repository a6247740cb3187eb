"""seqc: B2B outbound sequences as code."""
