"""The answering core: a question in, a cited Answer out; it imports no chat library."""
