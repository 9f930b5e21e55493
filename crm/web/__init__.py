"""Shared web pieces: role declarations and their enforcement, error handlers, pagination.

Every view declares who may use it with ``@roles(...)`` or ``@public``; a view that declares
nothing is refused to everyone (fail closed), and ``tests/crm/web/test_role_matrix.py`` walks
every registered route so none can forget.
"""
