FROM node:24-bookworm-slim
# The company's registry (the test's loopback one); no audit or update check goes elsewhere.
ENV npm_config_registry={{registry}} npm_config_update_notifier=false
WORKDIR /usr/src/app
COPY package*.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY . .
CMD ["node", "server.js"]
