"""Generators of synthetic product files in each product's real layout (data_formats.md §8 strategy).

Every generator writes real NetCDF/GeoTIFF files driven by the same schema card the reader validates
against, for any tile and period; used by the tests and by ``tccas make-demo-data``.
"""
