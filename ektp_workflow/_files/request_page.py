"""A request for blanks to the centre as a letter in Indonesian (HTML), and its figures as CSV.

The letter follows the form of an official letter (nomor, sifat, lampiran, perihal,
addressee, closing, signature block); a dry run is marked as a draft.

The letter gives the number asked for and, line by line, the figures it was computed
from and how: an official at the centre can check the arithmetic, and anyone holding
the letter can have its figures checked against the chained history by its checkpoint.
"""

from __future__ import annotations

import csv
import html
import io

from ..clock import WIB, zone_of
from ..records import StockRequest
from ..regions import name_of
from .indonesian import day, moment, number


def lines(request: StockRequest) -> list[tuple[str, str, int | str, str]]:
    """The computation, line by line: (number, what, figure, how it is computed)."""
    r = request
    to_print = r.waiting_first_time + r.waiting_replacement + r.expected_from_prr
    rate = f"{r.spoilage_rate * 100:.1f}".replace(".", ",") + " %"
    if r.consumed:
        spoilage, needed = (
            f"tingkat kerusakan (8) / ((7) + (8)) = {rate}",
            "(6) x ((7) + (8)) / (7), dibulatkan ke atas",
        )
    else:
        spoilage, needed = "belum ada pencetakan: kerusakan belum dapat diukur", "(6)"
    return [
        (
            "1",
            "Penduduk siap cetak menunggu blangko: pemula (belum pernah memiliki KTP-el)",
            r.waiting_first_time,
            "data",
        ),
        (
            "2",
            "Penduduk siap cetak menunggu blangko: penggantian (hilang, rusak, perubahan data)",
            r.waiting_replacement,
            "data",
        ),
        ("3", "Rekaman terkirim ke pusat yang masih menunggu penunggalan", r.in_prr, "data"),
        ("4", f"Rekaman yang selesai penunggalan (siap cetak) dalam {r.window_days} hari terakhir", r.left_prr, "data"),
        (
            "5",
            f"Perkiraan rekaman yang selesai penunggalan dalam {r.months} bulan",
            r.expected_from_prr,
            f"(4) / {r.window_days} hari x 30 hari x {r.months} bulan, dibulatkan ke atas, paling banyak (3)",
        ),
        ("6", "KTP-el yang perlu dicetak", to_print, "(1) + (2) + (5)"),
        ("7", "Blangko terpakai untuk pencetakan (buku blangko)", r.consumed, "data"),
        ("8", "Blangko rusak saat pencetakan (buku blangko)", r.spoiled, spoilage),
        ("9", "Kebutuhan blangko", r.needed, needed),
        ("10", "Stok blangko yang belum dicadangkan (di dinas dan di kecamatan)", r.on_hand, "data"),
        ("11", "Permohonan sebelumnya yang belum diterima", r.outstanding, "data"),
        ("12", "Blangko yang dimohon", r.quantity, "(9) - (10) - (11), paling sedikit 0"),
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
    zone = zone_of(request.region) if request.region else WIB  # the region's: WITA for Makassar
    draft = '<p class="draft">DRAF: perhitungan saja, belum dicatat sebagai permohonan.</p>' if request.draft else ""
    return _PAGE.format(
        draft=draft,
        place=html.escape(place(request)),
        reference=html.escape(request.reference or "....................................."),
        day=html.escape(day(request.made_at, zone)),
        stamp=html.escape(moment(request.made_at, zone)),
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
<title>Permohonan Blangko KTP-el, {place}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #111; padding: 0 1rem; }}
.meta td {{ border: none; padding: .1rem .6rem .1rem 0; vertical-align: top; }}
table.figures {{ border-collapse: collapse; width: 100%; margin: 1.2rem 0; }}
table.figures th, table.figures td {{ border: 1px solid #999; padding: .3rem .5rem; vertical-align: top; }}
table.figures th {{ background: #eee; text-align: left; }} td.n {{ text-align: right; white-space: nowrap; }}
table.figures tr:last-child td {{ font-weight: bold; background: #f6f6f6; }}
.draft {{ border: 3px solid #b00; color: #b00; font-weight: bold; padding: .5rem 1rem; }}
.sign {{ margin-top: 2.5rem; margin-left: 55%; }} .proof {{ color: #444; font-size: .85rem; word-break: break-all; }}
@media print {{ body {{ margin: 0; max-width: none; }} }}
</style></head>
<body>{draft}
<p>{place}, {day}</p>
<table class="meta">
<tr><td>Nomor</td><td>: {reference}</td></tr>
<tr><td>Sifat</td><td>: Penting</td></tr>
<tr><td>Lampiran</td><td>: -</td></tr>
<tr><td>Perihal</td><td>: <strong>Permohonan Blangko KTP-el</strong></td></tr>
</table>
<p>Yth. Direktur Jenderal Kependudukan dan Pencatatan Sipil<br>Kementerian Dalam Negeri<br>di Jakarta</p>
<p>Dengan hormat, bersama ini Dinas Kependudukan dan Pencatatan Sipil {place} mengajukan permohonan
blangko KTP-el sebanyak <strong>{quantity} keping</strong> untuk kebutuhan {months} bulan ke depan,
dengan perhitungan sebagai berikut.</p>
<table class="figures"><tr><th>No.</th><th>Uraian</th><th>Jumlah</th><th>Cara menghitung</th></tr>{body}</table>
<p>Satu bulan dihitung 30 hari. Angka bertanda <em>data</em> diambil dari riwayat kartu dan buku blangko
pada {stamp}.</p>
<p>Demikian permohonan ini kami sampaikan. Atas perhatian dan kerja samanya, kami ucapkan terima kasih.</p>
<div class="sign"><p>Kepala Dinas Kependudukan dan Pencatatan Sipil<br>{place}</p><br><br>
<p>(....................................)<br>NIP. ....................................</p></div>
<p class="proof">Angka-angka ini diambil dari riwayat yang berantai sampai nomor urut {seq}, hash {hash}.
Titik periksa ini dapat dicocokkan dengan <code>ektp audit verify --against {seq}:{hash}</code>.</p>
</body></html>
"""
