"""Embed, store and search chunks: the FAISS + SQLite index that citebot answers from."""
