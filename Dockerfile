# neurox worker / CLI image: Node 20, production dependencies, TypeScript run
# by tsx (the stage threads from a bundle built below). The bundled USE lite model ships inside node_modules.
FROM node:20-bookworm-slim

WORKDIR /app
# onnxruntime-node's install script downloads GPU binaries; the CPU runtime is in the package
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
    NODE_ENV=production \
    NEUROX_CACHE_DIR=/home/node/.cache/neurox

COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY pipelines ./pipelines
COPY schemas ./schemas
COPY workers ./workers
COPY fixtures ./fixtures
COPY tools/bundle.ts ./tools/bundle.ts
# the stage threads' JavaScript bundle (README, Architecture), built while node_modules is writable
RUN npm run bundle

USER node
ENTRYPOINT ["node", "bin/neurox.js"]
CMD ["worker"]
