"""Batch runs: many articles, one Verifier, a run directory that survives crashes and resumes.

Modules, one concept each: :mod:`.inputs` (what to check), :mod:`.rundir` (the manifest),
:mod:`.results` (the append-only journal), :mod:`.cache` (persistent model responses),
:mod:`.limits` (the request bound and rate limits), :mod:`.runner` (the run) and :mod:`.summary`
(the final outputs).
"""

from .inputs import ArticleInput, WorkItem, collect_inputs, group_items
from .runner import BatchOptions, BatchOutcome, run_batch

__all__ = [
    "ArticleInput",
    "BatchOptions",
    "BatchOutcome",
    "WorkItem",
    "collect_inputs",
    "group_items",
    "run_batch",
]
