"""Tests of fakehub: data, server, GraphQL, REST, limits and faults over real HTTP."""
