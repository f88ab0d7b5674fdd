"""Writes of the training app: scheduling, running and sweeping rounds and their jobs.

One module per concern; callers import the function they need from its module.
"""
