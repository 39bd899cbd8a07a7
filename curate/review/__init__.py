"""Reviewers' decisions: the SQLite decision log (store) and the validation of edits (edits).

The review app uses this package and the build-folder readers in curate.output, nothing deeper.
"""
