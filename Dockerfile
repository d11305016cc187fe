# prop-amm gym: the CLI and the competition platform (docs/platform.md).
# Build: docker build -t propamm .   Run: docker run -p 8080:8080 -v propamm-data:/data propamm
FROM node:20-bookworm-slim

# g++/make/python3 build better-sqlite3 and msgpackr's addon; Debian's rustc with the wasm32
# standard library and lld compiles Rust strategy files to WebAssembly; util-linux has unshare,
# which the sandbox uses to take the network away where the container allows it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ rustc libstd-rust-dev-wasm32 lld util-linux ca-certificates \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
COPY . .
# npm ci runs the build (prepare: TypeScript and the dashboard), then dev tools are dropped.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund \
  && mkdir -p /data && chown node:node /data

USER node
ENV NODE_ENV=production
VOLUME ["/data"]
EXPOSE 8080
# Exec form: signals reach node itself (npx would leave the server running when killed).
# DATABASE_URL (postgres://...) switches from the SQLite file in /data to PostgreSQL.
CMD ["node", "dist/cli/main.js", "platform", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data", "--workers", "2"]
