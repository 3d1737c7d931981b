# buzzwatch image: the `buzzwatch` command (produce, detect, replay, demo).
#   docker build -t buzzwatch:0.1.0 .
#   docker run --rm buzzwatch:0.1.0 demo

# --- build: turn the source tree into a wheel -----------------------------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY buzzwatch/ buzzwatch/
COPY pipeline/ pipeline/
COPY producers/ producers/
COPY consumers/ consumers/
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime: the installed package and nothing of the source tree ---------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels

# The shipped sample stream at a fixed path, for `buzzwatch produce` in docker-compose.yml.
COPY pipeline/samples/demo.jsonl.gz /app/pipeline/samples/demo.jsonl.gz

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin buzzwatch \
    && install -d -o buzzwatch /var/lib/buzzwatch/crisis-log
# (a named volume mounted there starts with this owner: `buzzwatch desk` writes the crisis log)
USER buzzwatch
WORKDIR /app

# Prometheus metrics of `buzzwatch detect` (--metrics-port).
EXPOSE 9108
ENTRYPOINT ["buzzwatch"]
CMD ["--help"]
