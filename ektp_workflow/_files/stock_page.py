"""The public stock bulletin as a printable page in Indonesian, and as CSV.

The page is for a notice board or a website: one table, large print, the date and
time it was made and the checkpoint of the history its figures come from, and the
reminder that the service is free.
"""

from __future__ import annotations

import csv
import html
import io

from ..clock import WIB, zone_of
from ..records import StockBulletin, StockRow
from ..regions import name_of
from .indonesian import moment, number

#: The bulletin's columns: (CSV name, page heading, the row's field).
COLUMNS = (
    ("kecamatan", "Kode", "kecamatan"),
    ("nama", "Kecamatan", "name"),
    ("blanko_tersedia", "Blangko tersedia", "in_stock"),
    ("dicadangkan", "Dicadangkan untuk dicetak", "reserved"),
    ("dicetak_hari_ini", "Dicetak hari ini", "printed_today"),
    ("menunggu_pemula", "Menunggu: pemula", "first_time_waiting"),
    ("menunggu_penggantian", "Menunggu: penggantian", "replacement_waiting"),
)


def stamp(bulletin: StockBulletin) -> str:
    """``2 Desember 2026 pukul 13.20 WIB``: when the bulletin was made, in Indonesian, in
    the zone of its kabupaten/kota (WITA for Makassar)."""
    codes = [row.kecamatan for row in bulletin.rows if row.kecamatan]
    return moment(bulletin.made_at, zone_of(codes[0]) if codes else WIB)


def place(bulletin: StockBulletin) -> str:
    """The kabupaten/kota the kecamatan belong to (``Kota Palembang``)."""
    cities = {row.kecamatan[:5] for row in bulletin.rows if row.kecamatan}
    return name_of(cities.pop()) if len(cities) == 1 else "Kabupaten/Kota"


def render_html(bulletin: StockBulletin) -> str:
    """One printable page."""
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in COLUMNS)
    body = "".join(_row(row) for row in bulletin.rows)
    seq, hash_ = bulletin.checkpoint
    return _PAGE.format(
        place=html.escape(place(bulletin)),
        stamp=html.escape(stamp(bulletin)),
        head=head,
        body=body,
        at_city=number(bulletin.at_city),
        seq=seq,
        hash=hash_,
    )


def _row(row: StockRow) -> str:
    cells = [getattr(row, field) for _, _, field in COLUMNS]
    if not row.kecamatan:
        cells[:2] = ["", "Jumlah (dengan stok di kota)"]
    css = ' class="total"' if not row.kecamatan else ""
    text = "".join(f"<td>{html.escape(number(c))}</td>" for c in cells)
    return f"<tr{css}>{text}</tr>"


def render_csv(bulletin: StockBulletin) -> str:
    """One row per kecamatan and a total row (kecamatan empty), each stamped with when it
    was made and the checkpoint (``SEQ:HASH``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _, _ in COLUMNS] + ["dibuat_pada", "titik_periksa"])
    made, checkpoint = bulletin.made_at.isoformat(), f"{bulletin.checkpoint[0]}:{bulletin.checkpoint[1]}"
    for row in bulletin.rows:
        writer.writerow([getattr(row, field) for _, _, field in COLUMNS] + [made, checkpoint])
    return out.getvalue()


_PAGE = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stok Blangko KTP-el, {place}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #111; padding: 0 1rem; }}
h1 {{ margin-bottom: .2rem; font-size: 1.8rem; }} .stamp {{ margin-top: 0; color: #333; font-size: 1.1rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: 1.05rem; margin: 1.5rem 0; }}
th, td {{ border: 1px solid #999; padding: .35rem .6rem; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
th {{ background: #eee; }} tr.total td {{ font-weight: bold; background: #f6f6f6; }}
.free {{ font-size: 1.3rem; font-weight: bold; border: 2px solid #111; padding: .6rem 1rem; }}
.proof {{ color: #444; font-size: .85rem; word-break: break-all; }}
@media print {{ body {{ margin: 0; max-width: none; }} }}
</style></head>
<body><h1>Stok Blangko KTP-el, {place}</h1>
<p class="stamp">Keadaan {stamp}</p>
<table><tr>{head}</tr>{body}</table>
<p>Blangko yang belum dibagikan ke kecamatan: {at_city}.</p>
<p class="free">Pelayanan KTP-el tidak dipungut biaya.</p>
<p class="proof">Angka-angka ini diambil dari riwayat yang berantai sampai nomor urut {seq}, hash {hash}.
Titik periksa ini dapat dicocokkan dengan <code>ektp audit verify --against {seq}:{hash}</code>.</p>
</body></html>
"""
