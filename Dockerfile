# xen-otel-agent: TypeScript run directly by Node 24's type stripping (no build step), so the image ships src/
# and plugins/ as they are. Not build-tested here (no Docker engine on the dev machines): keep it simple.
FROM node:24-slim

ENV NODE_ENV=production
# Memory settings (docs/deployment.md "Memory settings"): same as `npm start` and the bin launcher.
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /opt/xen-otel-agent

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin/ ./bin/
COPY src/ ./src/
COPY plugins/ ./plugins/
COPY config/ ./config/
COPY otel-agent.yaml /etc/xen-otel-agent/otel-agent.yaml

# The image's own `node` user; the agent needs no privileges (outbound HTTPS to XAPI, OTLP out).
USER node

CMD ["node", "--max-semi-space-size=1", "--gc-memory-reducer-start-delay-ms=500", "src/main.ts", "run", "--config", "/etc/xen-otel-agent/otel-agent.yaml"]
