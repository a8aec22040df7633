"""Readers and writers for the file formats analysts use."""
