"""coverage-ledger: a bitemporal ledger of JKK/JKM coverage for ad hoc election officers and BPU workers."""

__version__ = "0.12.1"
"""The software version report manifests and `/healthz` name. Written here, not read from the
installed package's metadata: an editable install keeps the metadata of its last `pip install`,
so a checkout updated without reinstalling named the code before it."""
