"""Every tether.v1 message and enum in one namespace: ``from tether.v1 import messages as pb``.

The .proto files are split by domain (common, devices, jobs, sessions, events,
service); code that works across domains reads them here instead of remembering
which file holds which message. Hand-written, like ``__init__.py``; the rest of
this folder is generated.
"""

from .common_pb2 import *  # noqa: F403
from .devices_pb2 import *  # noqa: F403
from .events_pb2 import *  # noqa: F403
from .jobs_pb2 import *  # noqa: F403
from .service_pb2 import *  # noqa: F403
from .sessions_pb2 import *  # noqa: F403
