"""A request for blanks to the centre as a letter in Indonesian (HTML), and its figures as CSV.

The letter gives the number asked for and, line by line, the figures it was computed
from and how: an official at the centre can check the arithmetic, and anyone holding
the letter can have its figures checked against the chained history by its checkpoint.
"""

from __future__ import annotations

import csv
import html
import io

from ..records import StockRequest
from ..regions import name_of
from .indonesian import moment, number


def lines(request: StockRequest) -> list[tuple[str, str, int | str, str]]:
    """The computation, line by line: (number, what, figure, how it is computed)."""
    r = request
    to_print = r.waiting_first_time + r.waiting_replacement + r.expected_from_prr
    rate = f"{r.spoilage_rate * 100:.1f}".replace(".", ",") + " %"
    return [
        ("1", "Penduduk menunggu blanko: pemula (belum pernah memiliki KTP-el)", r.waiting_first_time, "data"),
        ("2", "Penduduk menunggu blanko: penggantian (hilang, rusak, perubahan data)", r.waiting_replacement, "data"),
        ("3", "Rekaman yang masih berstatus PRR (menunggu penunggalan di pusat)", r.in_prr, "data"),
        ("4", f"Rekaman yang keluar dari PRR siap cetak dalam {r.window_days} hari terakhir", r.left_prr, "data"),
        (
            "5",
            f"Perkiraan rekaman keluar dari PRR dalam {r.months} bulan",
            r.expected_from_prr,
            f"(4) / {r.window_days} hari x 30 hari x {r.months} bulan, dibulatkan ke atas, paling banyak (3)",
        ),
        ("6", "KTP-el yang perlu dicetak", to_print, "(1) + (2) + (5)"),
        ("7", "Blanko terpakai untuk pencetakan (buku blanko)", r.consumed, "data"),
        ("8", "Blanko rusak saat pencetakan (buku blanko)", r.spoiled, f"tingkat kerusakan (8) / ((7) + (8)) = {rate}"),
        (
            "9",
            "Kebutuhan blanko",
            r.needed,
            "(6) x ((7) + (8)) / (7), dibulatkan ke atas"
            if r.consumed
            else "(6): belum ada pencetakan untuk mengukur kerusakan",
        ),
        ("10", "Stok blanko yang belum dicadangkan (di dinas dan di kecamatan)", r.on_hand, "data"),
        ("11", "Permohonan sebelumnya yang belum diterima", r.outstanding, "data"),
        ("12", "Blanko yang dimohon", r.quantity, "(9) - (10) - (11), paling sedikit 0"),
    ]


def place(request: StockRequest) -> str:
    return name_of(request.region) if request.region else "Kabupaten/Kota"


def render_html(request: StockRequest) -> str:
    """One printable page: the letter, the computation and the checkpoint."""
    body = "".join(
        f'<tr><td>{n}</td><td>{html.escape(what)}</td><td class="n">{html.escape(number(figure))}</td>'
        f"<td>{html.escape(how)}</td></tr>"
        for n, what, figure, how in lines(request)
    )
    seq, hash_ = request.checkpoint
    return _PAGE.format(
        place=html.escape(place(request)),
        reference=html.escape(request.reference or "(belum bernomor: perhitungan saja)"),
        stamp=html.escape(moment(request.made_at)),
        quantity=number(request.quantity),
        months=request.months,
        body=body,
        seq=seq,
        hash=hash_,
    )


def render_csv(request: StockRequest) -> str:
    """One row per line of the computation, each with the request's reference, when it
    was made and its checkpoint (``SEQ:HASH``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["nomor_permohonan", "wilayah", "butir", "uraian", "jumlah", "cara_menghitung", "dibuat_pada", "titik_periksa"]
    )
    checkpoint = f"{request.checkpoint[0]}:{request.checkpoint[1]}"
    for n, what, figure, how in lines(request):
        writer.writerow(
            [request.reference, request.region or "", n, what, figure, how, request.made_at.isoformat(), checkpoint]
        )
    return out.getvalue()


_PAGE = """<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Permohonan Blanko KTP-el, {place}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #111; padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} .meta td {{ border: none; padding: .1rem .6rem .1rem 0; }}
table.figures {{ border-collapse: collapse; width: 100%; margin: 1.2rem 0; }}
table.figures th, table.figures td {{ border: 1px solid #999; padding: .3rem .5rem; vertical-align: top; }}
table.figures th {{ background: #eee; text-align: left; }} td.n {{ text-align: right; white-space: nowrap; }}
table.figures tr:last-child td {{ font-weight: bold; background: #f6f6f6; }}
.sign {{ margin-top: 3rem; margin-left: 60%; }} .proof {{ color: #444; font-size: .85rem; word-break: break-all; }}
@media print {{ body {{ margin: 0; max-width: none; }} }}
</style></head>
<body><h1>Permohonan Blanko KTP-el</h1>
<table class="meta">
<tr><td>Nomor</td><td>: {reference}</td></tr>
<tr><td>Tanggal</td><td>: {stamp}</td></tr>
<tr><td>Kepada</td><td>: Direktur Jenderal Kependudukan dan Pencatatan Sipil, Kementerian Dalam Negeri</td></tr>
<tr><td>Dari</td><td>: Dinas Kependudukan dan Pencatatan Sipil {place}</td></tr>
</table>
<p>Dengan hormat, kami mengajukan permohonan blanko KTP-el sebanyak <strong>{quantity} keping</strong>
untuk kebutuhan {months} bulan ke depan, dengan perhitungan sebagai berikut.</p>
<table class="figures"><tr><th>No.</th><th>Uraian</th><th>Jumlah</th><th>Cara menghitung</th></tr>{body}</table>
<p>Satu bulan dihitung 30 hari. Angka bertanda <em>data</em> diambil dari riwayat kartu dan buku blanko
pada saat surat ini dibuat.</p>
<div class="sign"><p>Kepala Dinas Kependudukan dan Pencatatan Sipil<br>{place}</p><br><br><p>(....................................)</p></div>
<p class="proof">Angka-angka ini diambil dari riwayat yang berantai sampai nomor urut {seq}, hash {hash}.
Titik periksa ini dapat dicocokkan dengan <code>ektp audit verify --against {seq}:{hash}</code>.</p>
</body></html>
"""
