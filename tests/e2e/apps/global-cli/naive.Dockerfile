FROM node:22
WORKDIR /app
COPY . .
RUN npm install -g ./tools/app-runner-1.0.0.tgz
RUN npm install
EXPOSE 3000
CMD ["app-runner", "server.js"]
