"""The performance suite: ``python -m benchmarks`` prints one JSON document of figures.

Each module measures one figure against the real code paths (the HTTP server, a real Redis, the
Slack and dialer stand-ins) and returns a ``Figure``; ``__main__`` runs them all and writes the
document to ``benchmarks/results/latest.json`` as well.
"""
