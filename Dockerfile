# kubegate image: multi-stage, production dependencies only, runs as a non-root user.
# syntax=docker/dockerfile:1
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles a native addon when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/src/ui/static ./src/ui/static
COPY package.json ./
RUN ln -s /app/bin/kubegate /usr/local/bin/kubegate && mkdir -p /data /certs && chown 65532:65532 /data /certs && chmod 0700 /data /certs
USER 65532:65532
EXPOSE 8443 6440
ENTRYPOINT ["kubegate"]
CMD ["serve", "--data-dir", "/data", "--certs-dir", "/certs"]
