"""coverage-ledger: a bitemporal ledger of JKK/JKM coverage for ad hoc election officers and BPU workers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coverage-ledger")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
