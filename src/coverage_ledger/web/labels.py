"""The pages' words in Bahasa Indonesia (the default) and English, and how they write numbers,
instants and yes/no."""

import re
from datetime import datetime

from coverage_ledger.domain.timeframes import JAKARTA, InvalidKnownAt, parse_known_at

LANGUAGES = ("id", "en")
LABELS: dict[str, dict[str, str]] = {
    "id": {
        "app": "Buku Besar Kepesertaan",
        "sign_in": "Masuk",
        "sign_out": "Keluar",
        "api_key": "Kunci API",
        "sign_in_hint": "Masukkan kunci API Anda. Halaman ini memakai peran dan wilayah kunci tersebut.",
        "bad_key": "Kunci API tidak dikenal, dicabut, atau kedaluwarsa.",
        "regions": "Wilayah",
        "persons": "Peserta",
        "claims": "Klaim",
        "reports": "Laporan",
        "region": "Wilayah",
        "covered": "Terlindungi",
        "potential": "Potensi",
        "ratio": "Rasio",
        "valid_at": "Tanggal cakupan",
        "known_at": "Sebagaimana diketahui buku besar pada",
        "segment": "Segmen",
        "show": "Tampilkan",
        "series": "Rasio cakupan per bulan",
        "nik": "NIK",
        "look_up": "Cari",
        "status": "Status",
        "reason": "Alasan",
        "history": "Riwayat",
        "picture": "Waktu berlaku (mendatar) dan waktu diketahui (tegak)",
        "event": "Peristiwa",
        "type": "Jenis",
        "recorded": "Dicatat",
        "superseded_by": "Digantikan oleh",
        "not_found": "Tidak ada data yang terlihat oleh kunci ini.",
        "page_not_found": "Halaman ini tidak ada. Periksa alamatnya, atau mulai dari halaman awal:",
        "two_keys": "Formulir memuat lebih dari satu kunci API: masukkan satu saja.",
        "all": "semua",
        "officer": "petugas ad hoc",
        "informal": "pekerja informal (BPU)",
        "provinces": "Provinsi",
        "as_of": "per",
        "benefit": "Manfaat",
        "incident_date": "Tanggal kejadian",
        "payable": "Dibayarkan",
        "paid": "Telah dibayar",
        "due_date": "Jatuh tempo",
        "overdue_only": "Hanya yang terlambat",
        "uploads": "Unggahan",
        "file": "Berkas (CSV atau XLSX)",
        "kind": "Jenis daftar",
        "policy": "Kebijakan",
        "dry_run": "Periksa saja, jangan simpan",
        "mode": "Mode",
        "upload": "Unggah",
        "rows": "Baris",
        "accepted": "Diterima",
        "rejected": "Ditolak",
        "duplicate": "Duplikat",
        "row": "Baris",
        "column": "Kolom",
        "code": "Kode",
        "message": "Pesan",
        "download_errors": "Unduh semua kesalahan (CSV)",
        "commit_hint": "Pemeriksaan selesai tanpa kesalahan: unggah berkas yang sama lagi tanpa centang "
        "'Periksa saja' untuk menyimpannya.",
        "in_progress": "Sedang diproses…",
        "ledger_head": "Kepala buku besar",
        "version": "Versi perangkat lunak",
        "committee": "Panitia atau organisasi",
        "older": "Unggahan lebih lama",
        "errors_cut": "Hanya sebagian kesalahan yang ditampilkan; unduh CSV untuk semuanya.",
        "outcome": "Hasil",
        "events_outside": "Peristiwa di luar wilayah kunci ini, tidak ditampilkan:",
        "reason_outside": "(alasan menyangkut wilayah lain, tidak ditampilkan)",
        "officer_roster": "Daftar petugas ad hoc (officer_roster)",
        "sponsor_roster": "Daftar pekerja yang iurannya dibayar pemberi dana (sponsor_roster)",
        "all_or_nothing": "Semua atau tidak sama sekali (all_or_nothing)",
        "accept_valid": "Simpan baris yang benar saja (accept_valid)",
        "append": "Tambahkan (append)",
        "replace_roster": "Ganti seluruh daftar panitia (replace_roster)",
        "known_at_hint": "YYYY-MM-DD, 2024-02-14 09:00:00 WIB atau tx:N",
        "commit_hint_partial": "Baris yang salah ada di bawah: unggah berkas yang sama lagi tanpa centang "
        "'Periksa saja' untuk menyimpan baris lainnya, atau perbaiki berkasnya dulu.",
        "would_write_nothing": "Unggahan sungguhan berkas ini tidak akan menyimpan apa pun (lihat kesalahan "
        "dan hasil di atas).",
        "would_retract": "Unggahan sungguhan berkas ini akan mencabut petugas yang tidak ada lagi di berkas "
        "(lihat hasil di atas).",
        "no_cover_warning": "Sebagian baris didaftarkan setelah masa tugasnya berakhir: baris itu tercatat, "
        "tetapi tidak memberi perlindungan pada hari mana pun.",
        "invoice": "Unduh tagihan per wilayah (CSV)",
    },
    "en": {
        "app": "Coverage Ledger",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "api_key": "API key",
        "sign_in_hint": "Enter your API key. The pages use its role and region.",
        "bad_key": "The API key is unknown, revoked or expired.",
        "regions": "Regions",
        "persons": "Persons",
        "claims": "Claims",
        "reports": "Reports",
        "region": "Region",
        "covered": "Covered",
        "potential": "Potential",
        "ratio": "Ratio",
        "valid_at": "Coverage date",
        "known_at": "As the ledger knew it on",
        "segment": "Segment",
        "show": "Show",
        "series": "Coverage ratio by month",
        "nik": "NIK",
        "look_up": "Look up",
        "status": "Status",
        "reason": "Reason",
        "history": "History",
        "picture": "Valid time (across) and known time (up)",
        "event": "Event",
        "type": "Type",
        "recorded": "Recorded",
        "superseded_by": "Superseded by",
        "not_found": "Nothing visible to this key.",
        "page_not_found": "There is no such page. Check the address, or start from the first page:",
        "two_keys": "The form held more than one API key: enter one.",
        "all": "all",
        "officer": "ad hoc officers",
        "informal": "informal workers (BPU)",
        "provinces": "Provinces",
        "as_of": "as of",
        "benefit": "Benefit",
        "incident_date": "Incident date",
        "payable": "Payable",
        "paid": "Paid",
        "due_date": "Due",
        "overdue_only": "Overdue only",
        "uploads": "Uploads",
        "file": "File (CSV or XLSX)",
        "kind": "Roster kind",
        "policy": "Policy",
        "dry_run": "Check only, do not save",
        "mode": "Mode",
        "upload": "Upload",
        "rows": "Rows",
        "accepted": "Accepted",
        "rejected": "Rejected",
        "duplicate": "Duplicates",
        "row": "Row",
        "column": "Column",
        "code": "Code",
        "message": "Message",
        "download_errors": "Download every error (CSV)",
        "commit_hint": "The check found no errors: upload the same file again without 'Check only' "
        "to save it.",
        "in_progress": "Processing…",
        "ledger_head": "Ledger head",
        "version": "Software version",
        "committee": "Committee or organisation",
        "older": "Older uploads",
        "errors_cut": "Only the first errors are shown; download the CSV for all of them.",
        "outcome": "Outcome",
        "events_outside": "Events outside this key's region, not shown:",
        "reason_outside": "(the reason concerns another region, not shown)",
        "officer_roster": "Ad hoc officers (officer_roster)",
        "sponsor_roster": "Workers whose contributions a sponsor pays (sponsor_roster)",
        "all_or_nothing": "All or nothing (all_or_nothing)",
        "accept_valid": "Keep the valid rows (accept_valid)",
        "append": "Add (append)",
        "replace_roster": "Replace the committee's whole roster (replace_roster)",
        "known_at_hint": "YYYY-MM-DD, 2024-02-14 09:00:00 WIB or tx:N",
        "commit_hint_partial": "The rows in error are listed below: upload the same file again without "
        "'Check only' to save the other rows, or mend the file first.",
        "would_write_nothing": "A real upload of this file would save nothing (see the errors and the "
        "outcome above).",
        "would_retract": "A real upload of this file would retract the officers it no longer lists "
        "(see the outcome above).",
        "no_cover_warning": "Some rows were registered after their term ended: they are recorded, but "
        "give no cover on any day.",
        "invoice": "Download the invoice per region (CSV)",
    },
}


def whole_number(value: int | None, language: str) -> str:
    """A count or rupiah amount as the language writes it: 42.000.000 in Indonesian, 42,000,000 in
    English (an Indonesian reader takes a comma for the decimal point)."""
    if value is None:
        return "–"
    text = f"{value:,}"
    return text.replace(",", ".") if language == "id" else text


def percent(share: float | None, language: str) -> str:
    """A share as a percentage with two decimals: 9,83% in Indonesian, 9.83% in English."""
    if share is None:
        return "–"
    text = f"{100 * share:.2f}"
    return (text.replace(".", ",") if language == "id" else text) + "%"


def moment(instant: datetime | str | None) -> str:
    """A recorded instant (or its RFC 3339 text) in Jakarta time (the pages' clock), to the
    microsecond when it has one: the moment typed back as `known_at` must replay the same tx
    (cut to the second, it fell before the tx it named; found by a web probe)."""
    if instant is None:
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    shown = instant.astimezone(JAKARTA)
    return shown.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if shown.microsecond else "") + " WIB")


_SHOWN_MOMENT = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?) ?WIB", re.IGNORECASE
)


def typed_moment(text: str | None) -> str | None:
    """A `known_at` typed as the pages show a moment (`2024-12-20 09:00:00 WIB`, see `moment`) in
    the RFC 3339 form the API reads (`2024-12-20T09:00:00+07:00`); any other text as it is
    (found by a web probe: the README promised a shown moment could be typed back, and it was
    refused)."""
    shown = _SHOWN_MOMENT.fullmatch(text.strip()) if text else None
    if shown is None:
        return text
    rewritten = f"{shown[1]}T{shown[2]}+07:00"
    try:
        parse_known_at(rewritten)
    except InvalidKnownAt:
        return text  # refused as typed (`2024-02-30 09:00:00 WIB`), not as rewritten here
    return rewritten


def yes_no(flag: bool, language: str) -> str:
    """A boolean in words."""
    return ("ya" if flag else "tidak") if language == "id" else ("yes" if flag else "no")


STATUS_WORDS = {
    # a person's coverage
    "covered": "terlindungi",
    "not_started": "belum mulai",
    "term_ended": "masa tugas berakhir",
    "not_enrolled": "tidak terdaftar",
    "in_arrears": "menunggak",
    "lapsed": "nonaktif",
    "outside_region": "di luar wilayah",
    # an upload
    "queued": "menunggu",
    "validating": "diperiksa",
    "committing": "sedang disimpan",
    "succeeded": "berhasil",
    "failed": "gagal",
    # a claim
    "filed": "diajukan",
    "approved": "disetujui",
    "rejected": "ditolak",
    "partially_paid": "dibayar sebagian",
    "paid": "dibayar",
    "reversed": "dibatalkan",
}
"""Statuses in Indonesian words; in English the status code itself reads as words."""


def status_words(status: str, language: str) -> str:
    """A status as the visitor's language says it."""
    return STATUS_WORDS.get(status, status) if language == "id" else status.replace("_", " ")


OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    "would_commit": ("Akan disimpan", "Would be saved"),
    "written": ("Disimpan", "Saved"),
    "registered": ("Orang baru terdaftar", "Persons registered"),
    "enrolled": ("Didaftarkan sebagai peserta", "Enrolled"),
    "corrected": ("Dikoreksi", "Corrected"),
    "retracted": ("Dicabut", "Retracted"),
    "retracted_niks": ("NIK yang dicabut", "NIKs retracted"),
    "unchanged": ("Tidak berubah", "Unchanged"),
    "left_across_period": (
        "Tetap (masa tugas melewati periode berkas)",
        "Left (terms across the file's period)",
    ),
    "left_across_period_niks": ("NIK yang tidak dicabut", "NIKs not retracted"),
    "paid": ("Iuran dibayar", "Contributions paid"),
    "amount_total": ("Jumlah dibayar (Rp)", "Amount paid (Rp)"),
    "invoice_total": ("Tagihan iuran (Rp)", "Contributions owed (Rp)"),
    "checked_when_written": ("Diperiksa saat disimpan", "Checked when saved"),
    "rows_without_cover": ("Baris tanpa perlindungan", "Rows without cover"),
    "rows_without_cover_first": ("Baris tanpa perlindungan (pertama)", "Rows without cover (first)"),
    "rows_differing_from_registration": (
        "Baris berbeda dari pendaftaran",
        "Rows differing from the registration",
    ),
    "rows_differing_from_registration_first": (
        "Baris berbeda dari pendaftaran (pertama)",
        "Rows differing from the registration (first)",
    ),
    "rows_differing_from_membership": (
        "Baris berbeda dari kepesertaan",
        "Rows differing from the membership",
    ),
    "rows_differing_from_membership_first": (
        "Baris berbeda dari kepesertaan (pertama)",
        "Rows differing from the membership (first)",
    ),
    "rows_hidden_in_sheet": ("Baris tersembunyi di lembar kerja", "Rows hidden in the sheet"),
    "rows_hidden_in_sheet_first": ("Baris tersembunyi (pertama)", "Rows hidden (first)"),
}
"""An upload outcome's entries as the upload page names them, in its order (Indonesian, English)."""
LISTED = 20
"""Items of a list (row numbers, NIKs) an outcome line shows before it says how many more."""


def outcome_lines(outcome: dict[str, object], language: str) -> list[tuple[str, str]]:
    """The upload outcome's entries as (label, value) lines for a page, in the page's language."""
    lines = []
    for key, words in OUTCOME_WORDS.items():
        if key not in outcome:
            continue
        value = outcome[key]
        if isinstance(value, bool):
            shown = yes_no(value, language)
        elif isinstance(value, int):
            shown = whole_number(value, language)
        elif isinstance(value, list):
            if not value:
                continue
            more = len(value) - LISTED
            shown = ", ".join(str(item) for item in value[:LISTED]) + (f" … (+{more})" if more > 0 else "")
        else:
            shown = str(value)
        lines.append((words[0] if language == "id" else words[1], shown))
    return lines
