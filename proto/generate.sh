#!/usr/bin/env bash
# Regenerates the Python code for the tether.v1 API into service/tether/v1/.
# Generated with the OLDEST grpcio-tools the project supports (GRPC_TOOLS_VERSION),
# because stubs from grpcio-tools X need grpcio >= X at run time; this keeps
# execution environments with older grpcio working. The generator runs in its own
# venv so the project's runtime grpcio stays whatever pip resolved.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GRPC_TOOLS_VERSION=${GRPC_TOOLS_VERSION:-1.66.2}
MYPY_PROTOBUF_VERSION=3.6.0  # typed .pyi stubs for messages and the gRPC stub/servicer
venv=${TETHER_PROTOC_VENV:-$root/build/protoc-venv-$GRPC_TOOLS_VERSION}
if [ ! -x "$venv/bin/protoc-gen-mypy" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "grpcio-tools==$GRPC_TOOLS_VERSION" "mypy-protobuf==$MYPY_PROTOBUF_VERSION"
fi
out=${1:-$root/service}
PATH="$venv/bin:$PATH" "$venv/bin/python" -m grpc_tools.protoc -I "$here" \
  --python_out="$out" --mypy_out="$out" --grpc_python_out="$out" --mypy_grpc_out="$out" \
  "$here"/tether/v1/*.proto
