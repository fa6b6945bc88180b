FROM {{node_image}}
COPY . .
RUN npm install
CMD "npm" "start"
