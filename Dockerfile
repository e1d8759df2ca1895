# syntax=docker/dockerfile:1
# The icecream-queue image: one image runs the HTTP API (ROLE=api, the default), the Kafka
# consumer (ROLE=consumer), or one of the chart's hooks: the helm test checks (node
# dist/runtime/smoke.js, dist/runtime/checks/*.js) and the uninstall teardown
# (node dist/runtime/kubernetes/teardown.js).
#
#   docker buildx build --platform linux/amd64 -t icecream-queue:dev .
#
# The base is pinned by tag, on the Node version package-lock.json pins (a test keeps the two
# equal). Hardening for production: pin it by digest too, so a re-pushed tag cannot change the
# image: `docker buildx imagetools inspect node:26.10.0-trixie-slim` prints the digest; then
# use FROM node:26.10.0-trixie-slim@sha256:<digest> in all three stages.
ARG NODE_VERSION=26.10.0

# 1. Install every dependency from the lockfile, type-check and build (tsc fails on type errors).
FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY handlers ./handlers
COPY live ./live
COPY runtime ./runtime
RUN npm run build

# 2. Production dependencies only (no install scripts: none of them needs one). The `node`
#    devDependency, which only pins Node for development, is not installed here. Type
#    declarations and source maps are read by nothing at run time: about half of the folder
#    (@kubernetes/client-node alone ships 80 MB of them).
FROM node:${NODE_VERSION}-trixie-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force \
  && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# 3. Runtime: Node, the compiled app and its production dependencies; nothing else.
FROM node:${NODE_VERSION}-trixie-slim AS runtime
# A fixed non-root user (Kubernetes' runAsNonRoot needs the numeric id). Then remove the package
# managers: npm, npx and corepack, and Debian's apt and dpkg tools. Debian's package database
# (/var/lib/dpkg) stays, so image scanners can still list the OS packages.
RUN groupadd --gid 10001 app \
  && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app \
  && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/bin/apt /usr/bin/apt-* /usr/bin/dpkg /usr/bin/dpkg-* /etc/apt /var/cache/apt /var/lib/apt \
    /root/.npm /tmp/*
WORKDIR /app
# kafkajs 2.2.4 sets a negative timer once per process on current Node: harmless, but noise.
ENV NODE_ENV=production \
  NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning \
  ROLE=api \
  PORT=8080
# Owned by root and read-only for the app user: the process cannot change its own code.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: Kubernetes ignores it; the chart's liveness and readiness probes check the pods.
# checkov:skip=CKV_DOCKER_2: Kubernetes does not run Docker HEALTHCHECKs; the chart's probes do that job.
CMD ["node", "dist/runtime/main.js"]
