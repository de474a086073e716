"""What `coverage-ledger demo` prints once the demo is loaded: what it holds, a key per role,
and curl lines to try against it."""

from rich.console import Console

from coverage_ledger.demo.history import VALID_AT
from coverage_ledger.demo.loader import DemoLoaded

KEY_VARIABLES = {
    "admin": "ADMIN_KEY",
    "auditor": "AUDITOR_KEY",
    "regional_office": "OFFICE_KEY",
    "committee": "COMMITTEE_KEY",
    "sponsor": "SPONSOR_KEY",
}
"""The shell variable each role's key is printed as, the names the README's examples use."""


def print_guide(loaded: DemoLoaded, *, port: int, console: Console) -> None:
    """The summary on the console (stderr), the keys and the curl lines on stdout."""
    history = loaded.history
    office = loaded.keys["regional_office"]
    base = f"http://localhost:{port}/v1"
    console.print(
        f"demo loaded: {loaded.txs} txs, {loaded.events:,} events, head tx {loaded.head_tx_seq}; "
        f"{history.covered:,} of {history.potential:,} potential informal workers covered on "
        f"{VALID_AT.isoformat()} ({100 * history.covered / history.potential:.2f}%, as the article states)"
    )
    # the lines that are no commands are comments: the whole output may be pasted into a shell
    print("# keys, one per role:")
    for role, secret in loaded.keys.items():
        print(f"export {KEY_VARIABLES[role]}={secret}")
    print(f"# valid_at: {VALID_AT.isoformat()}")
    print("# try:")
    auth = f'-H "Authorization: Bearer {office}"'
    print(f"  curl -s {auth} '{base}/regions/16/coverage?valid_at={VALID_AT.isoformat()}&segment=informal'")
    print(
        f"  curl -s {auth} '{base}/regions/16/coverage?valid_at={VALID_AT.isoformat()}"
        "&segment=informal&known_at=2024-12-16'"
        "   # before the late payments were recorded"
    )
    print(f"  curl -s {auth} '{base}/persons/{history.sample_late_payer}/history'")
    print(f"  curl -s {auth} '{base}/regions/16/coverage/series?from=2024-01&to=2024-12'")
    print(f"  curl -s {auth} '{base}/payouts?region=16&group_by=benefit'   # the 44 Pemilu 2024 claims")
    print(f"  curl -s {auth} '{base}/claims/BPJSTK-2024-036'   # a JKK death with a scholarship entitlement")
