"""Composition layer: one function per workflow rule (tile jobs, Dask client, padded batches, Zarr
template / region writes / finalize, quick-looks). Called by the ``tccas`` CLI; calls model, obs, da, io."""
