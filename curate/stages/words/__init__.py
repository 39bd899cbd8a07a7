"""The one word tokeniser of near dedup, leakage and quality (``rules`` says how they differ).

- ``rules``: ``WordRules`` and the three stages' rule sets;
- ``kernels``: the compiled loop (texts and example JSON), the only compiled word reader;
- ``reference``: the definition, polars regexes and the hash in plain Python, which tests hold
  the compiled loop equal to;
- ``tables``: the per-rule-set tables the compiled loop reads characters through;
- ``texts`` and ``examples``: words of a string column and of example JSON, as arrays.
"""
