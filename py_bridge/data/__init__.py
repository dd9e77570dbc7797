"""Data sets: CSVs and image decoding, transforms, recognite's splits, and the synthetic generator."""
