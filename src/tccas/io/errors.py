"""One exception hierarchy for everything that can be wrong with an input file (data_formats.md preamble).

Every error names the file, the field (variable, attribute, dimension or group; ``""`` for the file as a
whole) and what is wrong, so a user can fix the input without reading a traceback::

    ProductError
    ├── CorruptFileError      truncated / not a NetCDF-HDF5-GeoTIFF / unreadable
    ├── MissingFieldError     a variable, group, attribute or dimension of the schema card is absent
    ├── SchemaMismatchError   wrong dtype, shape, dims, fill value or packing versus the schema card
    ├── ProductCRSError       missing or wrong CRS (also a :class:`tccas.grid.CRSMismatchError`)
    ├── CoverageError         the requested tile/period lies outside what the file covers
    ├── ImplausibleValueError values outside the physically plausible range of the schema card
    └── DataGapError          missing values (fill/NaN) where the data must be complete (forcing)
"""

from __future__ import annotations

from pathlib import Path

from tccas.grid import CRSMismatchError


class ProductError(ValueError):
    """A problem with one input product file: ``path``, ``field`` and ``problem`` are kept as attributes."""

    kind = "invalid product"

    def __init__(self, path, field: str, problem: str):
        self.path = Path(path) if path is not None else None
        self.field = field
        self.problem = problem
        where = f"{self.path}" + (f" [{field}]" if field else "")
        super().__init__(f"{where}: {self.kind}: {problem}")


class CorruptFileError(ProductError):
    kind = "corrupt or truncated file"


class MissingFieldError(ProductError):
    kind = "missing field"


class SchemaMismatchError(ProductError):
    kind = "does not match its schema card"


class ProductCRSError(ProductError, CRSMismatchError):
    kind = "CRS problem"


class CoverageError(ProductError):
    kind = "outside the product's coverage"


class ImplausibleValueError(ProductError):
    kind = "physically implausible values"


class DataGapError(ProductError):
    kind = "gap in the data"
