# pylon-mcp over Streamable HTTP. Embedded defaults: shared state in-process (one replica);
# set PYLON_MCP_REDIS_URL to run several replicas behind a load balancer (see docs/hosting.md).
#   docker build -t pylon-mcp .
#   demo data:  docker run --rm -p 127.0.0.1:8000:8000 -e PYLON_MCP_AUTH_TOKEN=demo pylon-mcp --demo
#   your Pylon: docker run -p 8000:8000 -e PYLON_API_TOKEN=... -e PYLON_MCP_AUTH_TOKEN=... pylon-mcp
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY pylon_mcp ./pylon_mcp
# Wheels of pylon-mcp and every dependency it resolves to (redis included), built once here.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[redis]'

FROM python:3.12-slim
# A numeric user and group, so that Kubernetes' runAsNonRoot can verify them without /etc/passwd.
RUN groupadd --gid 10001 pylon \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin pylon
COPY --from=build /wheels /wheels
# Exactly the wheel files built above, nothing from an index: the versions are pinned by the build stage.
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/pylon
# Listen on every interface inside the container; without PYLON_MCP_AUTH_TOKEN (or OAuth) the server
# refuses to start, --demo included: inside the container it cannot tell who can reach the port.
ENV PYLON_MCP_TRANSPORT=http \
    PYLON_MCP_HOST=0.0.0.0 \
    PYLON_MCP_PORT=8000 \
    PYLON_LOG_LEVEL=info \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
# Liveness only (/healthz touches nothing); point the orchestrator's readiness probe at /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PYLON_MCP_PORT', '8000') + '/healthz', timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["pylon-mcp"]
