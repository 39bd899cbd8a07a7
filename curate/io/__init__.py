"""Readers (input files of every accepted kind) and writers (the build folder)."""
