"""The audit programme's rules: plain values in, decisions out, no I/O.

Nothing here imports botbuilder, aiohttp, SQLAlchemy or Graph; time comes in
as a parameter (a clock or a datetime), never from the system clock.
"""
