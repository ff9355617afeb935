"""The Dask engine (``engine=dask``): the per-customer work of a job mapped over the customer
partitions of a data set on a Dask cluster, with the same results as the local engine.

Only the work whose size grows with the data runs here (reading partitions, point-in-time
features, labels, batch scores and contributions); each partition is computed by the same plain
functions the local engine calls, so there is one implementation of every result.
"""
