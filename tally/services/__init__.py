"""Domain operations of the tally app: ``ceremony`` (trustees and the key ceremony), ``tally``
(aggregation, partial decryptions, result), ``messages`` (what trustees send, by upload or from
their workers), ``dispatch`` (steps sent to the worker trustees' queues). Keyword-only functions;
the ones that change data run under ``transaction.atomic``."""
