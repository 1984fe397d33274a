# The image of the compose stack's workers and batch job (docker-compose.yml): the project as in a
# checkout, its TypeScript run by tsx (bin/lambda-streams.js runs src/ when it is there), production
# dependencies only. Build: docker build -t lambda-streams:local .
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY topologies ./topologies
# Runs as the image's unprivileged user; state lives under /state (a volume in the stack).
RUN mkdir /state && chown node:node /state
USER node
ENTRYPOINT ["node", "bin/lambda-streams.js"]
