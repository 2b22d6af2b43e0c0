"""Report stage: terminal summary, HTML, Markdown, CSV, JSON, JSONL, Parquet."""
