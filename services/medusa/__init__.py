"""Medusa: its admin client, the write-back of Qikink's progress and the sweep of placed orders."""
