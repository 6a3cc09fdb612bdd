"""Allocation rules: who gets the scarce blank cards, in what order.

Rules are found by name through the entry-point group ``ektp_workflow.rules``; a
rule set (operator-editable TOML) picks them, orders them and sets their parameters.
"""
