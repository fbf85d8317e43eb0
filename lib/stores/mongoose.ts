// The mongoose (MongoDB) adapters live in ./mongoose/: schemas, users, tenants and audit, layouts.
export * from './mongoose/index';
