"""The archive's format: paths, front matter, the body template, the index. No Scrapy here."""

#: the output folder when none is given: every command's ``--output`` and NEWSSPIDER_OUTPUT
#: (here, not in store.py, so that a command's parser need not import the whole archive)
DEFAULT_OUTPUT = "output"
