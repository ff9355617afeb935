"""Connecting to the configured Dask cluster, or starting a local one, with a clear error before
any work when it cannot take the job."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from credit_models.errors import ClusterError
from credit_models.models.xgb_pd import trees_grown_by
from credit_models.workflows.settings import EngineKind, EngineSettings

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterInfo:
    """What a run records about the cluster it ran on."""

    address: str
    dashboard_link: str | None
    workers: int
    threads: int
    memory_limit_bytes: int
    """The smallest worker's memory limit (0: unlimited)."""
    started_here: bool
    """A local cluster started for this job (and closed with it)."""

    def as_tags(self) -> dict[str, str]:
        """MLflow run tags: where the work ran and how to watch it."""
        tags = {
            "engine": "dask",
            "engine.scheduler": self.address,
            "engine.workers": str(self.workers),
            "engine.threads": str(self.threads),
            "engine.worker_memory_limit": _gib(self.memory_limit_bytes),
            "engine.cluster": "local cluster started by the job" if self.started_here
            else "existing scheduler",
        }
        if self.dashboard_link:
            tags["engine.dashboard"] = self.dashboard_link
        return tags

    def describe(self) -> str:
        where = "local cluster" if self.started_here else f"scheduler {self.address}"
        text = (f"Dask {where}: {self.workers} worker(s), {self.threads} thread(s), "
                f"{_gib(self.memory_limit_bytes)} per worker")
        return text + (f"; dashboard {self.dashboard_link}" if self.dashboard_link else "")


_OPEN: ContextVar[tuple[Client, ClusterInfo] | None] = ContextVar("open_cluster", default=None)
"""The cluster a job already opened: the stages inside it share it instead of starting another."""


@contextmanager
def open_cluster(settings: EngineSettings) -> Iterator[tuple[Client, ClusterInfo]]:
    """A client of the scheduler at ``settings.address``, or of a local cluster started (and shut
    down on exit) when no address is set; inside another ``open_cluster`` block, that block's.
    Raises :class:`ClusterError` when no scheduler answers in ``connect_timeout_s`` or the
    cluster has no worker."""
    from distributed import Client, LocalCluster

    already = _OPEN.get()
    if already is not None:
        yield already
        return
    with ExitStack() as stack:
        if settings.address:
            try:
                client = stack.enter_context(Client(settings.address,
                                                    timeout=settings.connect_timeout_s))
            except (OSError, TimeoutError) as error:
                raise ClusterError(
                    f"engine.address={settings.address}: no Dask scheduler answered within "
                    f"{settings.connect_timeout_s:g} s ({type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else 'no reply'}). Check the "
                    "address and that the scheduler is running and reachable from this machine, "
                    "or leave engine.address empty to start a local cluster") from None
            started_here = False
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=settings.n_workers, threads_per_worker=settings.threads_per_worker,
                memory_limit=settings.memory_limit, processes=True, dashboard_address=":0",
                silence_logs=logging.WARNING))
            # the P2P shuffle announces each shuffle at WARNING: routine here, not a problem
            logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
            client = stack.enter_context(Client(cluster))
            started_here = True
        info = cluster_info(client, started_here)
        if info.workers == 0:
            raise ClusterError(
                f"the Dask scheduler at {info.address} has no worker: start workers "
                "(dask worker <address>) or scale the deployment before running the job")
        logger.info("%s", info.describe())
        token = _OPEN.set((client, info))
        try:
            yield client, info
        finally:
            _OPEN.reset(token)


@contextmanager
def engine_session(settings: EngineSettings) -> Iterator[None]:
    """What a training run does inside: with ``engine=dask`` one cluster for every stage, and
    XGBoost's trees grown on it (:mod:`~credit_models.workflows.distributed.tree_fitting`);
    nothing with the local engine."""
    if settings.kind is not EngineKind.dask:
        yield
        return
    from credit_models.workflows.distributed.tree_fitting import dask_tree_fitter

    with open_cluster(settings) as (client, _), trees_grown_by(dask_tree_fitter(client)):
        yield


def cluster_info(client: Client, started_here: bool) -> ClusterInfo:
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    limits = [int(worker.get("memory_limit") or 0) for worker in workers]
    return ClusterInfo(
        address=str(client.scheduler.address),
        dashboard_link=client.dashboard_link,
        workers=len(limits),
        threads=sum(int(worker.get("nthreads", 0)) for worker in workers),
        memory_limit_bytes=min(limits) if limits else 0,
        started_here=started_here,
    )


PARTITION_MEMORY_FACTOR = 20.0
"""A partition's tables (their uncompressed Parquet bytes) times this is what computing it needs
at its peak: the tables in pandas, their sorted copies in the feature engine, the labels and the
feature block of its snapshots. Measured with benchmarks/distributed_engine.py on simulated
partitions of 10,000 and 50,000 customers: a worker's peak above its start-up memory was 17-18
times its partition's table bytes."""


def check_partition_memory(info: ClusterInfo, largest_partition_bytes: int, where: str) -> None:
    """Refuse, before any work, a cluster whose workers cannot hold the largest partition's
    work: the job would otherwise run until a worker is killed for memory, again and again."""
    needed = int(largest_partition_bytes * PARTITION_MEMORY_FACTOR)
    if info.memory_limit_bytes and needed > info.memory_limit_bytes:
        raise ClusterError(
            f"the largest partition of {where} needs about {_gib(needed)} to compute "
            f"({_gib(largest_partition_bytes)} of tables x {PARTITION_MEMORY_FACTOR:g}), more "
            f"than a worker's memory limit of {_gib(info.memory_limit_bytes)}. Raise "
            "engine.memory_limit, or split the data set into smaller customer partitions "
            "(credit-models-data repartition ... repartition.partitions=<more>)")


def _gib(size: int) -> str:
    return "unlimited" if size <= 0 else f"{size / 2**30:.2f} GiB"
