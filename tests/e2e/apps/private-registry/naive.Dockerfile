FROM node:22
ARG NPM_TOKEN
WORKDIR /usr/src/app
COPY package.json package-lock.json ./
RUN echo "//npm.acme-private.invalid/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc
COPY . .
EXPOSE 3000
CMD ["npm", "start"]
