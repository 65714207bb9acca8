# syntax=docker/dockerfile:1
# Two images from one build:
# - the operator (the last stage, the default target): compiled JavaScript and production
#   dependencies on Node.js 24, run as an unprivileged user.
#     docker build -t wso2-frontend-operator .
# - `nginx`: the NGINX pods' image, NGINX plus the reload agent (`wso2-frontend agent`) in one
#   image, so the agent checks every configuration with `nginx -t` of the very binary that
#   serves it and signals its master directly.
#     docker build --target nginx -t wso2-frontend-nginx .

# The base images, by tag. A release pins them by digest without editing this file:
#   --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:... --build-arg NGINX_IMAGE=nginxinc/nginx-unprivileged:1.30@sha256:...
# (`docker buildx imagetools inspect IMAGE` prints the digest). No digest is written here: the
# machines this repository is built and tested on reach no container registry to read one.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.30

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
