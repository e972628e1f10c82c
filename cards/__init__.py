"""Adaptive Card builders: pure functions, data in, card JSON (a dict) out.

Cards are schema 1.5 (the most Teams renders), carry case references only,
label every input, and never let colour alone carry meaning.
"""
