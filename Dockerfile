# Portico's container image: Node.js (the control plane) and Debian's HAProxy 2.6 (the data plane), one process
# tree, one non-root user.
#
#   docker build -t registry.example.com/portico:0.1.0 .
#
# Node.js: Debian bookworm's own nodejs is 18, older than Portico's minimum (20.18), and NodeSource would mean a
# third-party apt repository with its own key inside the image. The official node image is built from the same
# Debian release as the runtime stage, so its node binary runs there unchanged (it needs only libc, libstdc++ and
# libgcc, which bookworm-slim has); copying that one file is the smallest way to get a current Node. Node 22 is an
# LTS line (maintained until April 2027); to move to a newer LTS, change NODE_IMAGE and run the tests on it.
# For reproducible builds, pin both images by digest (node:22-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:22-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build: compile the TypeScript (dev dependencies only live here) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The lockfile first, so that the dependency layer is reused while only sources change.
# --ignore-scripts: no dependency needs an install script today; none gets to run one.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig also includes test/ and bench/, which are not in the build context: only dist/src is produced.
RUN npm run build
COPY bin ./bin
# The runtime user must be able to read everything, whatever the permissions in the build context were.
RUN chmod -R a+rX,go-w bin dist package.json

# ---- prod-deps: the runtime dependencies only ----
# A stage of its own so that npm (and its cache) stays out of the final image: the runtime needs node_modules,
# not the tool that made it. The dependencies are pure JavaScript, so building them here and running them on
# debian:bookworm-slim is safe.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----
FROM ${DEBIAN_IMAGE}
# HAProxy 2.6 LTS from Debian (security fixes through Debian; rebuild the image to pick them up).
# ca-certificates: the system trust store, for anything in the image that opens outgoing TLS connections (Node
# itself uses its bundled CA list by default). libstdc++6: needed by node; already in the base image, listed so
# that the dependency is explicit.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      haproxy \
      ca-certificates \
      libstdc++6 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log

COPY --from=prod-deps /usr/local/bin/node /usr/local/bin/node

# setpriv (util-linux, an essential package, so in every Debian image) starts HAProxy with a parent-death signal:
# HAProxy never outlives Portico. The build fails if it cannot.
# One user for Node and HAProxy (HAProxy is started by Portico, never as root). uid/gid 10001: a fixed number
# (deploy/ states the same one), far from system accounts and from the first users a host creates, so it is
# unlikely to be a real account on the node.
# /run/portico (= /var/run/portico) holds the --state-dir used by deploy/ (/var/run/portico/haproxy, which Portico
# creates with mode 0700); in Kubernetes an emptyDir is mounted there, because the root filesystem is read-only.
# Owned by the user so that the image also runs without that volume.
RUN groupadd --system --gid 10001 portico \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin portico \
 && mkdir -p /run/portico \
 && chown 10001:10001 /run/portico \
 && chmod 0700 /run/portico \
 && node --version \
 && haproxy -v \
 && setpriv --help | grep -q -- --pdeathsig

WORKDIR /app
# Owned by root and read-only for the user: the running process cannot change its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist/src ./dist/src

ENV NODE_ENV=production
# Numeric, so that the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
# HTTP, HTTPS, admin (/healthz, /readyz). Defaults of `portico serve`; all above 1024, so no capability is needed.
EXPOSE 8080 8443 10254
ENTRYPOINT ["node", "/app/bin/portico", "serve"]

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="portico" \
      org.opencontainers.image.description="Kubernetes Ingress controller: TypeScript control plane, HAProxy data plane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
