"""Inspecting and publishing a finished run: SQL, the report, the summary, the Hub."""
