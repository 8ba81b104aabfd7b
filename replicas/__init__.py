"""History reads on a read replica (`DATABASE_REPLICA_URL`): the router and the
middleware that keeps a request that wrote on the primary."""
