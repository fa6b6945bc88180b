FROM node:22
WORKDIR /app
COPY package*.json ./
COPY vendor ./vendor
RUN npm install
COPY . .
EXPOSE 3000
CMD ["npm", "start"]
