"""tinyreport's own benchmarks: speed of its commands and quality of its numbers.

Run ``.venv/bin/python -m benchmarks.run`` (add ``--quick`` for a short check); see run.py.
"""
