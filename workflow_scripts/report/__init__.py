"""The study's self-contained HTML report."""
