"""Reads and writes, one module per aggregate: async functions over an asyncpg connection.

SQL lives here as module-level constants, always parameterized. No HTTP in here.
"""
