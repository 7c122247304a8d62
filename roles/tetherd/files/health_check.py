"""gRPC health check of tetherd (grpc.health.v1), with its token and CA: exit 0 when SERVING."""

import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

address, ca_file, token_file, server_name = sys.argv[1:5]
credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
options = [("grpc.ssl_target_name_override", server_name)]
with grpc.secure_channel(address, credentials, options=options) as channel:
    stub = health_pb2_grpc.HealthStub(channel)
    metadata = (("authorization", f"Bearer {Path(token_file).read_text().strip()}"),)
    try:
        answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5, metadata=metadata)
    except grpc.RpcError as error:
        print(f"{error.code().name}: {error.details()}")
        sys.exit(1)
print(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))
sys.exit(0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1)
