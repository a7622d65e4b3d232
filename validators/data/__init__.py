"""Data files of the validators (value sets, volet tables), each with its source and version."""
