"""Galleries: enrolled references that identify and verify queries, exact or with FAISS, saved to folders."""
