# syntax=docker/dockerfile:1
# Two images from one build:
# - the operator (the last stage, the default target): compiled JavaScript and production
#   dependencies on Node.js 24, run as an unprivileged user.
#     docker build -t wso2-frontend-operator .
# - `nginx`: the NGINX pods' image, NGINX plus the reload agent (`wso2-frontend agent`) in one
#   image, so the agent checks every configuration with `nginx -t` of the very binary that
#   serves it and signals its master directly.
#     docker build --target nginx -t wso2-frontend-nginx .

# The base images, pinned by digest (the tag says what the digest is; with a digest present the
# tag is not looked up, so a rebuild gets the very same bytes). These digests were read from other
# public projects' Dockerfiles that pin the same images (node 24.18.0 on bookworm-slim: three
# projects; nginx-unprivileged 1.30.1, whose default variant is Debian trixie: two, under the tags
# 1.30.1 and 1.30.1-trixie), not from a registry: the machines this repository is built and tested
# on reach none. To move to newer builds (security fixes), read the current digests where a
# registry is reachable and pass or write them:
#   docker buildx imagetools inspect node:24-bookworm-slim
#   docker buildx imagetools inspect nginxinc/nginx-unprivileged:1.30
#   docker build --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:... --build-arg NGINX_IMAGE=...
# test/gitops/dockerfile.test.ts checks every base is pinned and NGINX is the 1.30 the tests run.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.30.1@sha256:6f5c8f8836fce1eba7daa6b4f0dbfe7aa742be47e1b15386a67be7a3dbd06086

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image already has Node 24: skip the `node` dev dependency's download of another one.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The local control plane and the commands that run it (`start`, `local-cluster`) are
# development tools: left out of both images.
RUN npx tsc -p tsconfig.build.json && rm -r dist/localcluster dist/cli/start.js* dist/cli/local-cluster.js*

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE} AS node

# NGINX's unprivileged image (uid 101, listens on 8080) with Node.js and the agent added.
FROM ${NGINX_IMAGE} AS nginx
USER root
# Node's official binary needs the C++ runtime, which the NGINX image does not carry.
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER 101:101
# The agent starts NGINX itself (the master is its child) and stops it gracefully on SIGTERM.
# NGINX's image says STOPSIGNAL SIGQUIT (NGINX's graceful quit), which the runtime would send to
# the agent, PID 1, where a signal it does not handle is ignored: a deleted pod then served on
# until its grace period ended and SIGKILL cut every connection (test/realnode/disruption.test.ts).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/cli/main.js", "agent"]

FROM node AS operator
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY crds ./crds
COPY examples ./examples
# The `node` user of the official image, by number so that runAsNonRoot can verify it.
USER 1000:1000
# A 2 MB young generation instead of V8's default: the operator's garbage is short-lived
# request and watch buffers, and the default semi-spaces alone cost ~100 MB of RSS
# (bench/operator.ts runs the operator with the same flag).
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/dist/cli/main.js"]
CMD ["operator", "--leader-elect"]
