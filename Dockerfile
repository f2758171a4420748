# syntax=docker/dockerfile:1
#
# Images of the chat:
#   runtime (the default, last stage): chat-server with the built web client, as a non-root user.
#   web:     nginx with the built web client and nginx/nginx.conf, in front of the instances.
#
#   docker build -t rust-chat-server .
#   docker build --target web -t rust-chat-web .
# docker-compose.yml builds both.

ARG NODE_VERSION=22
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
ARG NGINX_VERSION=1.28

# ---------------------------------------------------------------- web client
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS client
WORKDIR /src/client
COPY client/package.json client/package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources only (never a node_modules or dist of the build context).
COPY client/index.html client/vite.config.ts client/tsconfig.json client/tsconfig.app.json client/tsconfig.node.json ./
COPY client/public ./public
COPY client/src ./src
RUN npm run build

# ---------------------------------------------------------------- server
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS server-build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY chat-core chat-core
COPY chat-server chat-server
COPY migration migration
COPY examples examples
COPY chat-bench chat-bench
COPY sio-client sio-client
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p chat-server \
 && install -m 0755 target/release/chat-server /usr/local/bin/chat-server

# ---------------------------------------------------------------- nginx
FROM nginx:${NGINX_VERSION} AS web
RUN rm -rf /usr/share/nginx/html/*
COPY --from=client /src/client/dist /usr/share/nginx/html
COPY nginx/nginx.conf /etc/nginx/nginx.conf

# ---------------------------------------------------------------- runtime
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 chat \
 && useradd --system --uid 10001 --gid chat --home-dir /app --no-create-home --shell /usr/sbin/nologin chat \
 && mkdir -p /app/data/uploads \
 && chown -R chat:chat /app/data
WORKDIR /app
COPY --from=server-build /usr/local/bin/chat-server /usr/local/bin/chat-server
COPY --from=client /src/client/dist /app/client/dist

# DATA_DIR holds uploads (mount a volume shared by all instances at /app/data/uploads).
# JWT_SECRET (at least 32 bytes) is required in production; DATABASE_URL and REDIS_URL are
# needed to run more than one instance.
# The binary brings its own allocator (jemalloc), which hands memory freed after a burst of logins
# (password hashing takes 19 MiB buffers) or traffic back to the system.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    CLIENT_DIR=/app/client/dist \
    APP_ENV=production \
    RUST_LOG=info

USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" > /dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/chat-server"]
