FROM node:22-alpine
WORKDIR /app
COPY . .
RUN npm install
VOLUME /data
EXPOSE 3000
CMD ["npm", "start"]
