"""Control-vector registry (obs_da_spec §6.1–6.2).

``x = [per-tile process parameters, per-tile initial pools, per-tile operator parameters,
per-pixel operator (and optional global model) parameters]``. Model parameters and initial pools come from
the model's declarative registry (``tccas.model.PARAMETERS``, ``param_spec``); the observation-operator
parameters are declared by the stream modules and collected here from :mod:`tccas.obs.registry` in
:data:`OPERATOR_PARAMETERS` (same record type). Every candidate control
has a prior mean per PFT, an absolute prior σ (20 % of the prior for process parameters and pools [T],
50 % for poorly known operator parameters [T-inferred], absolute values where the prior is 0 or the
literature gives one), and box bounds. Only *active* controls enter x (the TCCAS ``IFIX`` mask, §6.2):
inactive ones stay at their prior and are not optimised.

Default active set (:data:`DEFAULT_ACTIVE`, a documented [D] choice): the process parameters that the four
streams can inform within a one-year window — photosynthetic capacity (``vcmax25``, ``ajv``), the
unknown-identity TCCAS scalars 3–4 [?] represented by ``wmax_scale`` (plant-available water capacity
multiplier; the model registry also offers ``cw_scale``, inactive by default because it is nearly
degenerate with ``wmax_scale`` for soil-moisture and VOD information), allocation (``f_fol``, ``f_lab``,
``f_roo``), leaf lifespan and phenology timing (``leaf_lifespan``, ``d_onset``, ``c_ronset``, ``d_fall``,
``c_rfall``), wood turnover ``theta_woo`` and ``lma``; all six initial pools per tile; and the operator
parameters of the enabled streams (FAPAR clumping ζ per tile and background albedo, SIF scale and q_L per
tile, VOD l_wd, l_fol, l_s, l_f with the gauge l_0 = 1 fixed, SM b0, b1; the tower streams have none).

Optimisation happens in ``u = x / σ0`` (elementwise) with bounds ``[x_min/σ0, x_max/σ0]`` (§6.2).
The layout depends only on the number of tiles and the settings (static), the prior values on the PFT
codes (traced table lookups), so one compiled assimilation serves every PFT mix.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.obs import STREAMS, registry

N_PFT = len(model.PFT_NAMES)

#: Observation-operator controls, collected from the stream modules of :mod:`tccas.obs.registry` in
#: registry order (obs_da_spec §2.7, §3.7, §4.1–4.2, §5.1). ``per_pft`` entries are one control per tile;
#: the others one per pixel.
OPERATOR_PARAMETERS: tuple[model.ParamSpec, ...] = registry.OPERATOR_PARAMETERS

POOL_NAMES: tuple[str, ...] = tuple(f"c_{p}0" for p in model.Pools._fields)
TILE_PARAM_NAMES: tuple[str, ...] = tuple(model.TileParams._fields)
GLOBAL_PARAM_NAMES: tuple[str, ...] = tuple(model.GlobalParams._fields)
OPERATOR_NAMES: tuple[str, ...] = tuple(p.name for p in OPERATOR_PARAMETERS)

DEFAULT_ACTIVE: tuple[str, ...] = (
    "vcmax25",
    "ajv",
    "wmax_scale",
    "f_fol",
    "f_lab",
    "f_roo",
    "leaf_lifespan",
    "theta_woo",
    "d_onset",
    "c_ronset",
    "d_fall",
    "c_rfall",
    "lma",
    *POOL_NAMES,
    *OPERATOR_NAMES,
)

_OPS = {p.name: p for p in OPERATOR_PARAMETERS}


def spec(name: str) -> model.ParamSpec:
    """Registry entry of a control candidate (model parameter, initial pool or operator parameter)."""
    if name in _OPS:
        return _OPS[name]
    return model.param_spec(name)


def stream_of(name: str) -> str | None:
    """Stream an operator parameter belongs to (``None`` for model parameters and pools)."""
    return registry.PARAMETER_STREAM.get(name)


class ControlLayout(NamedTuple):
    """Static description of x: ``names[i]`` registry name and ``tiles[i]`` tile index (−1 = per pixel)."""

    names: tuple[str, ...]
    tiles: tuple[int, ...]
    n_tiles: int

    @property
    def size(self) -> int:
        return len(self.names)

    def index(self, name: str, tile: int = -1) -> int:
        for i, (n, t) in enumerate(zip(self.names, self.tiles, strict=True)):
            if n == name and t == tile:
                return i
        raise KeyError(f"control {name!r} (tile {tile}) is not active")


def build_layout(n_tiles: int, active=None, streams=STREAMS) -> ControlLayout:
    """Control layout for ``n_tiles`` tiles (obs_da_spec §6.1). ``active`` names the active controls
    (default :data:`DEFAULT_ACTIVE`); operator parameters of disabled streams are dropped."""
    registry.check_stream_names(streams, "build_layout streams")
    active = DEFAULT_ACTIVE if active is None else tuple(active)
    for n in active:
        spec(n)  # raises KeyError naming an unknown control
    active = tuple(n for n in active if stream_of(n) is None or stream_of(n) in streams)
    names, tiles = [], []
    per_tile = [n for n in active if spec(n).per_pft]
    per_pixel = [n for n in active if not spec(n).per_pft]
    for t in range(n_tiles):
        for n in per_tile:
            names.append(n)
            tiles.append(t)
    for n in per_pixel:
        names.append(n)
        tiles.append(-1)
    return ControlLayout(tuple(names), tuple(tiles), int(n_tiles))


class JacobianColouring(NamedTuple):
    """Static grouping of the controls into tangent directions for the model's Jacobian (obs_da_spec
    §6.6; used by ``tccas.da.pixel``).

    Tile i of the model depends on tile i's parameters and pools and on the global model parameters only
    (``tccas.model.run_tiles``), so ONE tangent-linear run can carry the same control slot of every tile:
    the tangent of tile i's outputs is then the derivative with respect to tile i's control alone. This is
    Curtis–Powell–Reid column compression applied to the per-tile outputs (Curtis, Powell & Reid 1974,
    J. Inst. Math. Appl. 13, 117): with 2 tiles the 50 default controls need 19 model tangents instead of 50.

    - ``colours``: per colour, the control indices its tangent direction sets (one per tile for a tile
      control; a global model control alone, its column being the sum over the tile lanes);
    - ``operator``: indices of the observation-operator controls (they do not enter the model: their
      columns need no model tangent);
    - ``column``: per control, its row in the stacked columns ``[lane t of colour c at c·n_tiles + t |
      sum of the lanes of colour c at C·n_tiles + c | operator k at C·(n_tiles + 1) + k]``, C colours.
    """

    colours: tuple[tuple[int, ...], ...]
    operator: tuple[int, ...]
    column: tuple[int, ...]


def jacobian_colouring(layout: ControlLayout) -> JacobianColouring:
    """:class:`JacobianColouring` of ``layout`` (static)."""
    colours: list[list[int]] = []
    colour_of_name: dict[str, int] = {}
    operator = []
    for i, (n, t) in enumerate(zip(layout.names, layout.tiles, strict=True)):
        if n in _OPS:
            operator.append(i)
        elif t < 0:
            colours.append([i])
        else:
            if n not in colour_of_name:
                colour_of_name[n] = len(colours)
                colours.append([])
            colours[colour_of_name[n]].append(i)
    n_col, n_tiles = len(colours), layout.n_tiles
    column = [0] * layout.size
    for c, members in enumerate(colours):
        for i in members:
            t = layout.tiles[i]
            column[i] = n_col * n_tiles + c if t < 0 else c * n_tiles + t
    for k, i in enumerate(operator):
        column[i] = n_col * (n_tiles + 1) + k
    return JacobianColouring(tuple(map(tuple, colours)), tuple(operator), tuple(column))


def registry_table(name: str, field: str) -> jnp.ndarray:
    """Per-PFT ``(N_PFT,)`` table of a registry entry's ``field`` (``prior``, ``sigma``, ``lower``,
    ``upper``; a global value is broadcast), to be indexed by a PFT code, traced allowed."""
    value = getattr(spec(name), field)
    return jnp.asarray(np.broadcast_to(np.asarray(value, dtype=np.float64), (N_PFT,)))


def control_names(layout: ControlLayout, pfts) -> list[str]:
    """Human-readable names, e.g. ``vcmax25[1:C3Gr]`` for tile 1 with PFT C3Gr, ``sif_scale``."""
    pfts = np.asarray(pfts)
    out = []
    for n, t in zip(layout.names, layout.tiles, strict=True):
        out.append(n if t < 0 else f"{n}[{t}:{model.PFT_NAMES[int(pfts[t])]}]")
    return out


class Prior(NamedTuple):
    """Prior mean, σ0, bounds of x, and the u-space scaling (all shape (n_controls,))."""

    x0: jnp.ndarray
    sigma0: jnp.ndarray
    lower: jnp.ndarray
    upper: jnp.ndarray


def prior(layout: ControlLayout, pfts) -> Prior:
    """Prior of the active controls for the tile PFT codes ``pfts`` (traced allowed; obs_da_spec §6.2).

    Entries with σ0 = 0 (e.g. empty pools of a NoVeg padding tile) get σ0 = 1 so that ``u = x/σ0`` stays
    finite; such controls have no influence on the model and keep their prior.
    """
    pfts = jnp.asarray(pfts, dtype=jnp.int32)
    cols = {"prior": [], "sigma": [], "lower": [], "upper": []}
    for n, t in zip(layout.names, layout.tiles, strict=True):
        code = pfts[t] if t >= 0 else pfts[0]
        for f in cols:
            cols[f].append(registry_table(n, f)[code])
    x0, s0, lo, hi = (jnp.stack(cols[f]) if cols[f] else jnp.zeros(0) for f in cols)
    s0 = jnp.where(s0 > 0, s0, 1.0)
    return Prior(x0=x0, sigma0=s0, lower=jnp.minimum(lo, x0), upper=jnp.maximum(hi, x0))


class Unpacked(NamedTuple):
    """Model and operator inputs reconstructed from x."""

    tile_params: object  # model.TileParams, leaves (n_tiles,)
    global_params: object  # model.GlobalParams
    pools0: object  # model.Pools, leaves (n_tiles,)
    operator: dict  # name -> (n_tiles,) for per-PFT entries, scalar otherwise


def unpack(x, layout: ControlLayout, pfts) -> Unpacked:
    """Scatter the active controls into the default (prior) parameter pytrees (obs_da_spec §6.1)."""
    pfts = jnp.asarray(pfts, dtype=jnp.int32)
    idx = {(n, t): i for i, (n, t) in enumerate(zip(layout.names, layout.tiles, strict=True))}

    def per_tile(name):
        base = registry_table(name, "prior")[pfts]
        for t in range(layout.n_tiles):
            if (name, t) in idx:
                base = base.at[t].set(x[idx[(name, t)]])
        return base

    def per_pixel(name):
        return x[idx[(name, -1)]] if (name, -1) in idx else jnp.asarray(float(spec(name).prior))

    tile_params = model.TileParams(*(per_tile(n) for n in TILE_PARAM_NAMES))
    global_params = model.GlobalParams(*(per_pixel(n) for n in GLOBAL_PARAM_NAMES))
    pools0 = model.Pools(*(per_tile(n) for n in POOL_NAMES))
    operator = {p.name: (per_tile(p.name) if p.per_pft else per_pixel(p.name)) for p in OPERATOR_PARAMETERS}
    return Unpacked(tile_params, global_params, pools0, operator)
