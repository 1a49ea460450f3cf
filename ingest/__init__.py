"""Load, clean and chunk source documents, then hand them to the index."""
