"""Qikink: the client, its shared token and rate budget with its lanes, the proxy of its API
and the orders it is sent and read."""
