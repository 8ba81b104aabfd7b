"""The GraphQL declaration of the tests' tracked model (`Note`).

Listed in the tests' `HISTORY_GRAPHQL_MODULES`, so the GraphQL layer imports it
to declare the model's types.
"""
