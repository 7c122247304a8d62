"""tether.v1.Jobs: the recorded jobs (GetJob, ListJobs, CancelJob)."""

from __future__ import annotations

from typing import Any

import grpc

from ..core.jobs import JobStore
from ..operations.requests import check_job_id, check_list_jobs
from ..v1 import jobs_pb2_grpc
from ..v1 import messages as pb
from .status import abort

Context = grpc.aio.ServicerContext[Any, Any]


class JobsServicer(jobs_pb2_grpc.JobsServicer):
    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.Job:
        try:
            check_job_id(request.job_id)
            return await self.store.get_job(request.job_id)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        try:
            check_list_jobs(request)
            jobs, token = await self.store.list_jobs(
                states=list(request.states),
                kind=request.kind,
                target=request.target,
                since=request.since,
                page_size=request.page_size,
                page_token=request.page_token,
                include_results=request.include_results,
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)
        return pb.ListJobsResponse(jobs=jobs, next_page_token=token)

    async def CancelJob(self, request: pb.CancelJobRequest, context: Context) -> pb.Job:
        try:
            check_job_id(request.job_id)
            return await self.store.cancel_job(request.job_id)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)
