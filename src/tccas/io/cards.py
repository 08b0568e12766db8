"""YAML schema cards: one declarative description per product, used by readers *and* generators.

data_formats.md preamble: fields tagged [R]/[?] in the spec live in a card (names, dtypes, fill, scale,
dims, groups, flags) so they can be corrected after the first real file is opened without touching code.
Readers validate the card against the file (an ``ncdump -h``-level check) and raise a
:class:`~tccas.io.errors.ProductError` naming the file and the field on any mismatch; the synthetic
generators of :mod:`tccas.io.synthetic` write exactly what the card says.

Card layout (``src/tccas/io/cards/<name>.yaml``)::

    name, title, spec, evidence        free text (spec section and evidence tags)
    format: NETCDF4 | NETCDF4_CLASSIC | GTiff
    file_patterns: [regex, ...]        accepted file names (named groups are parsed, e.g. date, pass)
    global_attrs: [name, ...]          attributes the root group must carry
    groups: {path: {attrs: [...]}}     groups that must exist (with their attribute names)
    dims: {name: length | null}        dimensions (null: any length); looked up from the variable's group
    variables:
      <key>:                           logical key used by the reader code
        path: PRODUCT/SIF_743          group path + variable name in the file
        dtype: float32                 stored dtype (numpy name)
        dims: [n_elem]
        fill: 9.96921e36 | null        declared _FillValue (null: the file must not declare one)
        scale_factor / add_offset:     number (applied when the file has no packing attrs, checked
                                       against them when it has), "file" (must come from the file) or
                                       absent (no packing)
        unsigned: true                 stored as signed bytes with ``_Unsigned = "true"`` (netCDF-3 idiom)
        valid_range: [lo, hi]          decoded values outside are masked (product-defined invalid values)
        plausible_range: [lo, hi]      physically plausible decoded values (in ``units``); any other
                                       non-fill value refuses the file (:class:`ImplausibleValueError`):
                                       wrong units or scaling, e.g. a temperature in °C under a K card
        units, attrs                   written by generators; ``units`` must be in the file and equal the
                                       card's (a value of unknown units is never accepted)
        required: false                optional variable (reader tolerates absence)
    crs: {epsg: 4326, variable: crs, attr: crs_wkt}  where the CRS is declared (variable/attr optional)
    qc: {...}                          product-specific QC thresholds read by the reader
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tccas.io.errors import (
    CorruptFileError,
    ImplausibleValueError,
    MissingFieldError,
    ProductCRSError,
    SchemaMismatchError,
)

# Any |x| at or above this in a float variable is a fill, declared or not (data_formats.md §1.3 trap).
HUGE_FILL = 1.0e30


@dataclass(frozen=True)
class VarSpec:
    key: str
    path: str
    dtype: str
    dims: tuple[str, ...]
    fill: float | int | None = None
    scale_factor: float | str | None = None
    add_offset: float | str | None = None
    unsigned: bool = False
    valid_range: tuple[float, float] | None = None
    plausible_range: tuple[float, float] | None = None
    units: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    required: bool = True

    @property
    def group(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass(frozen=True)
class Card:
    name: str
    title: str
    format: str
    file_patterns: tuple[str, ...]
    variables: dict[str, VarSpec]
    dims: dict[str, int | None] = field(default_factory=dict)
    global_attrs: tuple[str, ...] = ()
    groups: dict[str, dict] = field(default_factory=dict)
    crs: dict[str, Any] = field(default_factory=dict)
    qc: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def var(self, key: str) -> VarSpec:
        return self.variables[key]

    def match_name(self, filename: str) -> dict[str, str] | None:
        """Named groups of the first file-name pattern that matches ``filename`` (None if none does)."""
        for pattern in self.file_patterns:
            m = re.match(pattern, filename)
            if m:
                return m.groupdict()
        return None


def _varspec(key: str, raw: dict) -> VarSpec:
    vr = raw.get("valid_range")
    pr = raw.get("plausible_range")
    if pr is not None and not (len(pr) == 2 and float(pr[0]) < float(pr[1])):
        raise TypeError(f"variable {key}: plausible_range must be [lo, hi] with lo < hi, got {pr}")
    return VarSpec(
        key=key,
        path=raw["path"],
        dtype=str(np.dtype(raw["dtype"])),
        dims=tuple(raw.get("dims", ())),
        fill=raw.get("fill"),
        scale_factor=raw.get("scale_factor"),
        add_offset=raw.get("add_offset"),
        unsigned=bool(raw.get("unsigned", False)),
        valid_range=tuple(vr) if vr is not None else None,
        plausible_range=(float(pr[0]), float(pr[1])) if pr is not None else None,
        units=raw.get("units"),
        attrs=dict(raw.get("attrs", {})),
        required=bool(raw.get("required", True)),
    )


def parse_card(raw: dict, source: str = "<card>") -> Card:
    """Build a :class:`Card` from its YAML mapping; a malformed card raises ``ValueError`` naming it."""
    try:
        known = {"name", "title", "format", "file_patterns", "variables", "dims", "global_attrs", "groups"}
        known |= {"crs", "qc", "spec", "evidence"}
        return Card(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            format=raw["format"],
            file_patterns=tuple(raw.get("file_patterns", ())),
            variables={k: _varspec(k, v) for k, v in (raw.get("variables") or {}).items()},
            dims=dict(raw.get("dims") or {}),
            global_attrs=tuple(raw.get("global_attrs") or ()),
            groups={k: dict(v or {}) for k, v in (raw.get("groups") or {}).items()},
            crs=dict(raw.get("crs") or {}),
            qc=dict(raw.get("qc") or {}),
            extra={k: v for k, v in raw.items() if k not in known},
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"schema card {source} is malformed: {err!r}") from err


@cache
def load_card(name: str) -> Card:
    """Load the packaged schema card ``cards/<name>.yaml``."""
    ref = resources.files("tccas.io") / "cards" / f"{name}.yaml"
    if not ref.is_file():
        available = sorted(p.name[:-5] for p in (resources.files("tccas.io") / "cards").iterdir())
        raise KeyError(f"no schema card {name!r}; available: {', '.join(available)}")
    return parse_card(yaml.safe_load(ref.read_text()), source=str(ref))


def card_from_file(path: str | Path) -> Card:
    """Load a user-supplied schema card (e.g. corrected after opening the first real file)."""
    return parse_card(yaml.safe_load(Path(path).read_text()), source=str(path))


# ----------------------------------------------------------------------------------------------------------
# NetCDF access


def open_netcdf(path: str | Path, card: Card):
    """Open ``path`` with netCDF4 (raw values: no automatic mask/scale); corrupt files raise clearly."""
    import netCDF4

    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError as err:
        raise CorruptFileError(path, "", f"cannot be opened as NetCDF/HDF5 ({err})") from err
    ds.set_auto_maskandscale(False)
    ds.set_always_mask(False)
    if card.format and ds.data_model != card.format:
        model = ds.data_model
        ds.close()
        raise SchemaMismatchError(path, "", f"file format is {model}, card {card.name} expects {card.format}")
    return ds


def _group(ds, group_path: str, path: Path):
    grp = ds
    for part in [p for p in group_path.strip("/").split("/") if p]:
        if part not in grp.groups:
            raise MissingFieldError(path, "/" + group_path.strip("/"), f"group {part!r} not found")
        grp = grp.groups[part]
    return grp


def _dim_len(grp, name: str) -> int | None:
    while grp is not None:
        if name in grp.dimensions:
            return len(grp.dimensions[name])
        grp = grp.parent
    return None


def _same_number(a, b) -> bool:
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.size != b.size:
        return False
    return bool(np.all((a == b) | np.isclose(a, b, rtol=1e-6, atol=0.0) | (np.isnan(a) & np.isnan(b))))


def validate(ds, card: Card, path: str | Path) -> dict[str, Any]:
    """Check an open netCDF4 Dataset against ``card`` (ncdump-h level); return the variable handles.

    Checks: global attributes, groups (+ their attribute names), every required variable's presence,
    stored dtype, dimension names and card-fixed lengths, declared ``_FillValue`` versus the card,
    packing attributes versus the card, ``units`` (required wherever the card names them), the
    ``_Unsigned`` idiom, and the CRS declaration. Returns ``{key: netCDF4.Variable}`` (optional absent
    variables are left out).
    """
    path = Path(path)
    for att in card.global_attrs:
        if att not in ds.ncattrs():
            raise MissingFieldError(path, f"/@{att}", "global attribute missing")
    for gpath, spec in card.groups.items():
        grp = _group(ds, gpath, path)
        have = set(grp.ncattrs())
        for att in spec.get("attrs", []):
            if att not in have:
                raise MissingFieldError(path, f"{gpath}@{att}", "group attribute missing")
    handles: dict[str, Any] = {}
    for key, vs in card.variables.items():
        try:
            grp = _group(ds, vs.group, path)
        except MissingFieldError:
            if vs.required:
                raise
            continue
        if vs.name not in grp.variables:
            if vs.required:
                raise MissingFieldError(path, vs.path, "variable not found")
            continue
        var = grp.variables[vs.name]
        if str(var.dtype) != vs.dtype:
            raise SchemaMismatchError(path, vs.path, f"dtype is {var.dtype}, card says {vs.dtype}")
        if vs.dims and tuple(var.dimensions) != vs.dims:
            raise SchemaMismatchError(path, vs.path, f"dims are {var.dimensions}, card says {list(vs.dims)}")
        for dname in var.dimensions:
            want = card.dims.get(dname)
            if want is not None and _dim_len(grp, dname) != want:
                raise SchemaMismatchError(
                    path, vs.path, f"dimension {dname} has length {_dim_len(grp, dname)}, card says {want}"
                )
        attrs = set(var.ncattrs())
        if vs.fill is not None and "_FillValue" in attrs and not _same_number(var._FillValue, vs.fill):
            raise SchemaMismatchError(path, vs.path, f"_FillValue is {var._FillValue}, card says {vs.fill}")
        if vs.fill is None and "_FillValue" in attrs:
            raise SchemaMismatchError(path, vs.path, f"declares _FillValue {var._FillValue}, card says none")
        for pack in ("scale_factor", "add_offset"):
            want = getattr(vs, pack)
            if want == "file" and pack not in attrs:
                raise MissingFieldError(
                    path, f"{vs.path}@{pack}", "packed variable without packing attribute"
                )
            if (
                isinstance(want, (int, float))
                and pack in attrs
                and not _same_number(var.getncattr(pack), want)
            ):
                raise SchemaMismatchError(path, vs.path, f"{pack} is {var.getncattr(pack)}, card says {want}")
            if want is None and pack in attrs:
                raise SchemaMismatchError(path, vs.path, f"unexpected {pack} attribute (card: not packed)")
        if vs.unsigned and str(var.getncattr("_Unsigned") if "_Unsigned" in attrs else "").lower() != "true":
            raise SchemaMismatchError(path, vs.path, "card expects _Unsigned = true on signed bytes")
        if vs.units is not None and "units" not in attrs:
            raise MissingFieldError(
                path,
                f"{vs.path}@units",
                f"no units attribute (card: {vs.units!r}); values of unknown units are not accepted",
            )
        if vs.units is not None and str(var.units) != vs.units:
            raise SchemaMismatchError(path, vs.path, f"units are {var.units!r}, card says {vs.units!r}")
        handles[key] = var
    check_crs_declaration(ds, card, path)
    return handles


def check_crs_declaration(ds, card: Card, path: Path) -> None:
    """If the card says where the CRS is declared, it must be there and equal the card's EPSG code."""
    from pyproj import CRS as PCRS

    where = card.crs
    if not where or "variable" not in where:
        return
    grp = _group(ds, where.get("group", ""), path)
    var = grp.variables.get(where["variable"])
    field_name = f"{where['variable']}@{where.get('attr', 'crs_wkt')}"
    if var is None or where.get("attr", "crs_wkt") not in var.ncattrs():
        raise ProductCRSError(path, field_name, f"no CRS declaration; card expects EPSG:{where['epsg']}")
    text = var.getncattr(where.get("attr", "crs_wkt"))
    try:
        got = PCRS.from_user_input(text)
    except Exception as err:
        raise ProductCRSError(path, field_name, f"unreadable CRS {text[:60]!r}: {err}") from err
    if not got.equals(PCRS.from_epsg(int(where["epsg"])), ignore_axis_order=True):
        raise ProductCRSError(path, field_name, f"CRS is {got.to_string()}, expected EPSG:{where['epsg']}")


def decode(var, vs: VarSpec, path: str | Path, index=Ellipsis) -> np.ndarray:
    """Read ``var[index]`` and decode it per the (validated) card: float64 with NaN for every fill.

    Masks: the declared/card ``_FillValue``, any float ``|x| ≥ 1e30`` (undeclared netCDF default fill,
    data_formats.md §1.3), NaN, and values outside ``valid_range`` (after scaling). Packing: the file's
    ``scale_factor``/``add_offset`` if present, else the card's numbers (the CGLS cut-out lost them).
    Refuses (:class:`ImplausibleValueError`, before the ``valid_range`` mask) any non-fill value outside
    the card's ``plausible_range``.
    """
    try:
        raw = np.asarray(var[index])
    except (OSError, RuntimeError, IndexError) as err:
        raise CorruptFileError(path, vs.path, f"data cannot be read ({err})") from err
    if vs.unsigned and raw.dtype.kind == "i":
        raw = raw.view(raw.dtype.str.replace("i", "u"))
    bad = np.zeros(raw.shape, bool)
    attrs = set(var.ncattrs())
    fill = var._FillValue if "_FillValue" in attrs else vs.fill
    if fill is not None:
        fill_arr = np.asarray(fill)
        if vs.unsigned and fill_arr.dtype.kind == "i":
            fill_arr = fill_arr.astype(raw.dtype.str.replace("u", "i")).view(raw.dtype)
        bad |= raw == fill_arr
    out = raw.astype(np.float64)
    if raw.dtype.kind == "f":
        bad |= ~np.isfinite(out) | (np.abs(out) >= HUGE_FILL)
    scale = var.getncattr("scale_factor") if "scale_factor" in attrs else vs.scale_factor
    offset = var.getncattr("add_offset") if "add_offset" in attrs else vs.add_offset
    if isinstance(scale, (int, float, np.number)):
        out = out * float(scale)
    if isinstance(offset, (int, float, np.number)):
        out = out + float(offset)
    if vs.plausible_range is not None:
        check_plausible(out[~bad], vs, path)
    if vs.valid_range is not None:
        with np.errstate(invalid="ignore"):
            bad |= (out < vs.valid_range[0]) | (out > vs.valid_range[1])
    out[bad] = np.nan
    return out


def check_plausible(values: np.ndarray, vs: VarSpec, path: str | Path) -> None:
    """Raise :class:`ImplausibleValueError` if any of the (non-fill) decoded ``values`` lies outside
    ``vs.plausible_range``; the message gives the count, the extremes and the card's units."""
    lo, hi = vs.plausible_range
    with np.errstate(invalid="ignore"):
        outside = (values < lo) | (values > hi)
    if outside.any():
        units = f" {vs.units}" if vs.units else ""
        raise ImplausibleValueError(
            path,
            vs.path,
            f"{int(outside.sum())} of {values.size} values outside the plausible range {lo:g}..{hi:g}{units} "
            f"(min {np.nanmin(values):.6g}, max {np.nanmax(values):.6g}); wrong units or scaling?",
        )


def read_raw(var, vs: VarSpec, path: str | Path, index=Ellipsis) -> np.ndarray:
    """Read an integer (flag) variable without decoding; corrupt data raise clearly."""
    try:
        raw = np.asarray(var[index])
    except (OSError, RuntimeError, IndexError) as err:
        raise CorruptFileError(path, vs.path, f"data cannot be read ({err})") from err
    if vs.unsigned and raw.dtype.kind == "i":
        raw = raw.view(raw.dtype.str.replace("i", "u"))
    return raw


def card_header(card: Card) -> str:
    """A compact ``ncdump -h``-like text of what the card expects (golden header for diffs)."""
    lines = [f"card {card.name} ({card.format})"]
    for gpath, spec in card.groups.items():
        lines.append(f"group /{gpath.strip('/')}: attrs {spec.get('attrs', [])}")
    for vs in card.variables.values():
        pack = "" if vs.scale_factor is None else f" scale={vs.scale_factor} offset={vs.add_offset}"
        lines.append(f"  {vs.dtype} /{vs.path}({', '.join(vs.dims)}) fill={vs.fill}{pack}")
    return "\n".join(lines)
