"""Memory bounds of a real tetherd, measured as its RSS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import psutil
import pytest
from google.protobuf.struct_pb2 import Struct

from tests.harness import Tetherd, wait_until
from tether.client import pb
from tether.v1 import tether_pb2_grpc as pb_grpc

# --- Bulk streams nobody reads: results wait in the job store, not in memory ---

UNREAD_STREAMS = 5
TARGETS_PER_STREAM = 100
OUTPUT_BYTES = 512 * 1024
MIB = 1024 * 1024


def _big_output_bulk(stream: int) -> pb.BulkRequest:
    options = Struct()
    options.update({"output_bytes": OUTPUT_BYTES})
    return pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="p", options=options),
        # One host per stream: one session, so what grows is results, not sessions.
        targets=[
            pb.Target(name=f"s{stream}t{i}", connection=pb.Connection(host=f"s{stream}.null"))
            for i in range(TARGETS_PER_STREAM)
        ],
        operation=pb.Operation(commands=["show tech-support"]),
        concurrency=4,
    )


def _own_channel(daemon: Tetherd) -> grpc.Channel:
    # A connection of its own per stream: HTTP/2 flow control then stalls each stream alone.
    return grpc.insecure_channel(
        daemon.endpoint,
        options=[("grpc.use_local_subchannel_pool", 1), ("grpc.max_receive_message_length", 64 * MIB)],
    )


@pytest.mark.slow
def test_unread_bulk_streams_keep_results_out_of_memory(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory()
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    client = daemon.client()
    warm = _big_output_bulk(99)
    del warm.targets[2:]
    assert next(e for e in client.bulk(warm) if e.WhichOneof("event") == "summary").summary.succeeded == 2
    before = process.memory_info().rss

    channels = [_own_channel(daemon) for _ in range(UNREAD_STREAMS)]
    streams: list[Iterator[pb.BulkEvent]] = []
    job_ids = []
    try:
        for index, channel in enumerate(channels):
            stream = pb_grpc.TetherStub(channel).Bulk(_big_output_bulk(index), timeout=300)
            job_ids.append(next(stream).accepted.job_id)  # the first event only; the rest stays unread
            streams.append(stream)

        def all_finished() -> bool:
            return all(client.get_job(j).state == pb.JOB_STATE_SUCCEEDED for j in job_ids)

        wait_until(all_finished, timeout=240, interval=0.5, what="the unread Bulk jobs to finish")
        time.sleep(1.0)
        grown = process.memory_info().rss - before
        total_output = UNREAD_STREAMS * TARGETS_PER_STREAM * OUTPUT_BYTES
        assert grown < total_output // 4, (
            f"RSS grew {grown / MIB:.0f} MiB for {total_output / MIB:.0f} MiB of unread output"
        )
        # Nothing was lost: a late reader gets every result from the store.
        events = list(streams[0])
        finished = [e.finished for e in events if e.WhichOneof("event") == "finished"]
        assert len(finished) == TARGETS_PER_STREAM
        assert all(len(r.results[0].output) == OUTPUT_BYTES for r in finished)
        assert events[-1].summary.succeeded == TARGETS_PER_STREAM
    finally:
        for channel in channels:
            channel.close()
