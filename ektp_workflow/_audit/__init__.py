"""The auditor's toolkit: verify the chain, replay the log, explain allocations, export.

Read-only: everything here runs in one consistent snapshot (``Store.reading``) and
writes nothing. ``auditor.Auditor`` is ``Workflow.audit``.
"""
