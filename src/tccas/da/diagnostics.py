"""TCCAS-style diagnostic tables (obs_da_spec §6.8). Pure functions returning strings; printing and logging
happen in the pipeline.

Control table columns: ``i, name, Prior, Posterior, Chg[% of x0] = 100 (x_post − x0)/x0,
Chg[% of sx0] = 100 (x_post − x0)/σ0, σ0, σ_post, UR``.
"""

from __future__ import annotations

import numpy as np

from tccas.obs import STREAMS


def _pct(num, den):
    den = np.asarray(den, dtype=np.float64)
    return np.where(den != 0, 100.0 * np.asarray(num) / np.where(den != 0, den, 1.0), np.nan)


def control_table(names, x_prior, x_post, sd_prior, sd_post) -> str:
    """Per-control table of obs_da_spec §6.8 (all inputs 1-D, physical units)."""
    x0, x1, s0, s1 = (np.asarray(a, dtype=np.float64) for a in (x_prior, x_post, sd_prior, sd_post))
    chg_x = _pct(x1 - x0, x0)
    chg_s = _pct(x1 - x0, s0)
    ur = np.where(s0 > 0, 1.0 - s1 / np.where(s0 > 0, s0, 1.0), 0.0)
    width = max([len(n) for n in names] + [4])
    head = (
        f"{'i':>4} {'name':<{width}} {'Prior':>12} {'Posterior':>12} {'Chg[%x0]':>10} {'Chg[%sx0]':>10} "
        f"{'sigma0':>11} {'sigma_post':>11} {'UR':>6}"
    )
    lines = [head]
    for i, n in enumerate(names):
        lines.append(
            f"{i + 1:>4} {n:<{width}} {x0[i]:>12.5g} {x1[i]:>12.5g} {chg_x[i]:>10.2f} {chg_s[i]:>10.2f} "
            f"{s0[i]:>11.4g} {s1[i]:>11.4g} {ur[i]:>6.3f}"
        )
    return "\n".join(lines)


def summary_line(result: dict, status_names: dict) -> str:
    """One-line pixel summary from an :func:`~tccas.da.assimilate_pixel` result (unbatched)."""
    st = int(np.asarray(result["status"]))
    return (
        f"status={status_names.get(st, st)} iter={int(np.asarray(result['n_iter']))} "
        f"J prior={float(result['cost_prior']):.4g} J post={float(result['cost_post']):.4g} "
        f"DFS={float(result['dfs']):.3g} "
        + " ".join(f"n_{s}={int(np.asarray(result[f'n_obs_{s}']))}" for s in STREAMS)
    )
