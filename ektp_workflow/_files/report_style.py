"""The HTML report's page around its sections: one stylesheet for the screen and A4 paper."""

from __future__ import annotations

#: The page; ``{lang}``, ``{title}``, ``{stamp}`` and ``{body}`` are filled in, HTML-escaped.
PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
:root {{ color-scheme: light; }}
body {{ font-family: system-ui, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; margin: 2rem auto;
  max-width: 62rem; color: #1f2328; padding: 0 1rem; line-height: 1.45; }}
h1 {{ margin: 0; font-size: 1.9rem; }}
h2 {{ font-size: 1.35rem; margin: 0 0 .3rem; border-bottom: 2px solid #d0d7de; padding-bottom: .2rem; }}
.stamp {{ color: #57606a; margin: .3rem 0 1.5rem; }}
section {{ margin: 2.2rem 0; }}
.caption, .note {{ color: #57606a; margin: .2rem 0 .6rem; }}
.chart svg {{ display: block; width: 100%; height: auto; }}
.diagram svg {{ width: auto; max-width: 100%; margin: .5rem auto; }}
.visually-hidden {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }}
.tiles {{ display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: .8rem; }}
.tiles.small {{ grid-template-columns: repeat(3, minmax(0, 1fr)); margin-bottom: 1rem; }}
.tile {{ border: 1px solid #d0d7de; border-left: 6px solid #0072B2; border-radius: 6px; padding: .7rem .9rem; }}
.tile.alarm {{ border-left-color: #D55E00; background: #fff4ec; }}
.tile .label {{ font-weight: 600; color: #24292f; }}
.tile .figure {{ font-size: 2.1rem; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }}
.tiles.small .figure {{ font-size: 1.6rem; }}
.tile .detail {{ color: #57606a; font-size: .9rem; }}
.legend {{ list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.4rem; font-size: .9rem; }}
.swatch {{ display: inline-block; box-sizing: border-box; width: 1.6rem; height: 1rem; border-radius: 4px; vertical-align: -.15rem;
  margin-right: .4rem; border: 1.5px solid; }}
.swatch.normal {{ background: #e8f1fb; border-color: #1f5f99; }}
.swatch.exceptional {{ background: #fdecea; border-color: #b3261e; }}
.swatch.terminal {{ background: #eeeeee; border: 4px double #555555; }}
.swatch.cluster {{ border: 1.5px dashed #777777; }}
table {{ border-collapse: collapse; font-size: .85rem; margin-top: .5rem; font-variant-numeric: tabular-nums; }}
th, td {{ border-bottom: 1px solid #d8dee4; padding: .2rem .5rem; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
tr.flag td {{ background: #fff1e6; }}
summary {{ cursor: pointer; color: #0969da; margin-top: .4rem; }}
code, pre {{ font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: .85rem; }}
.hash code {{ overflow-wrap: anywhere; }}
pre {{ background: #f6f8fa; padding: .8rem 1rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }}
a {{ color: inherit; }}
@media (max-width: 48rem) {{ .tiles, .tiles.small {{ grid-template-columns: repeat(2, minmax(0, 1fr)); }} }}
@page {{ size: A4; margin: 14mm 12mm; }}
@media print {{
  html {{ font-size: 10.5pt; }}
  body {{ max-width: none; margin: 0; padding: 0; }}
  section {{ margin: 0 0 6mm; }}
  h2 {{ break-after: avoid; }}
  .tiles {{ grid-template-columns: repeat(4, minmax(0, 1fr)); }}
  .tiles.small {{ grid-template-columns: repeat(3, minmax(0, 1fr)); }}
  .caption {{ break-after: avoid; }}
  .tiles, .tile, .legend, .chart svg, table, tr, pre, .hash {{ break-inside: avoid; }}
  .chart svg {{ width: 100%; max-height: 240mm; }}
  .diagram svg {{ width: auto; max-width: 100%; }}
  #diagram {{ break-before: page; }}
  details:not([open]) {{ display: none; }}
  summary {{ display: none; }}
  .tile.alarm {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
  a {{ text-decoration: none; }}
}}
</style></head>
<body><header><h1>{title}</h1><p class="stamp">{stamp}</p></header>
<main>
{body}
</main>
</body></html>
"""
