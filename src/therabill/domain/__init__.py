"""The pure domain core: records and rules, standard library only.

Nothing here imports a framework, an adapter or any other part of therabill; a test
enforces it.
"""
