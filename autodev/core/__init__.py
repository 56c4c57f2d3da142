"""The journey of one pass, one step per module (docs/architecture.md draws it).

``one_pass`` runs the steps in order: ``prepare`` (repository, state, interrupted attempts), ``survey`` (specs,
tests, links, ledger, baseline), ``work`` (each requirement: checks, then its ``climb``) and ``record`` (ledger,
the pass's result). A climb is only the loop: the router decides the tier, ``rounds`` asks it and turns replies
into candidates, a ``trial`` applies one, tests it and commits or restores it, and the ``attempts`` log writes
every record. ``replay`` (tier 0) runs before the climb and uses the same trial.
"""
