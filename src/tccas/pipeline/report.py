"""Per-tile convergence table for the Snakemake report (rule ``tabulate_convergence``; ecosystem_aesthetics §5
"Snakemake HTML report"): one row per region and tile with the solver-status counts and iterations, read
from the ``finalize-store`` summaries."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path

from tccas.io.output_store import read_json

log = logging.getLogger(__name__)

COLUMNS = ("converged", "max_iter", "line_search_failure", "no_obs", "padding", "no_data")


def convergence_rows(summaries: Sequence[str | Path]) -> list[dict]:
    """Flatten the summaries into one dict per tile (region, tile, pixels, status counts, iterations)."""
    rows = []
    for path in summaries:
        summary = read_json(path)
        for tile in summary["tiles"]:
            row = {"region": summary["region"], "tile": tile["tile"], "n_pixels": tile.get("n_pixels", 0)}
            row.update({c: int(tile["status"].get(c, 0)) for c in COLUMNS})
            row["n_iter_mean"] = tile.get("n_iter_mean")
            row["n_iter_max"] = tile.get("n_iter_max")
            row["assimilate_s"] = tile.get("assimilate_wall_seconds")
            rows.append(row)
    return rows


def convergence_table(summaries: Sequence[str | Path], output: str | Path) -> Path:
    """Write the HTML convergence table of all regions' summaries."""
    rows = convergence_rows(summaries)
    header = ["region", "tile", "n_pixels", *COLUMNS, "n_iter_mean", "n_iter_max", "assimilate_s"]

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.1f}"
        return html.escape(str(value))

    lines = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>tccas per-tile convergence</title></head><body>',
        "<h1>Per-tile convergence of the pixel assimilations</h1>",
        '<table border="1" cellpadding="3">',
        "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>",
    ]
    lines += ["<tr>" + "".join(f"<td>{cell(r[h])}</td>" for h in header) + "</tr>" for r in rows]
    lines += ["</table>", "</body></html>"]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n")
    log.info("convergence table of %d tiles written to %s", len(rows), output)
    return output
