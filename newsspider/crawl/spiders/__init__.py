"""Spiders route: which URL next, with which callback. Parsing lives in newsspider.pages."""
