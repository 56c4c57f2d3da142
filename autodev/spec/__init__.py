"""Specifications: reading what the user wants into requirements."""
