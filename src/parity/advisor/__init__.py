"""The decision framework of docs/sources.md S0 as a questionnaire that writes a starter config.

- ``questions``: the six questions of docs/sources.md S0's framework and the ``Answers`` they take.
- ``votes``: how each answer votes, and how the votes decide open / closed / hybrid.
- ``framework``: ``advise()``: models that fit the licences and hardware, cost, routing policy.
- ``starter``: the starter ``parity.yaml`` (one small function to extend with policy rules).
"""
