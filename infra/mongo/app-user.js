// Run once by the mongo image, when its volume is empty
// (/docker-entrypoint-initdb.d): the user Pedidos's services connect as,
// allowed to read and write the ecommerce database (and create its
// indexes) and nothing else. The root user is for the operator only.
db.getSiblingDB('admin').createUser({
  user: process.env.MONGO_APP_USER,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: 'readWrite', db: 'ecommerce' }],
});
