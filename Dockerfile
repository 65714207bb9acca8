# syntax=docker/dockerfile:1
# The operator image: compiled JavaScript and production dependencies on Node.js 24, run as
# an unprivileged user. Build: docker build -t wso2-frontend-operator .

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The image already has Node 24: skip the `node` dev dependency's download of another one.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:24-bookworm-slim
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
