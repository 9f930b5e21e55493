"""``ApiRoutes``: a feature's JSON routes, declared at import and mounted by the app factory.

Why not add routes straight to the API blueprint: that made importing a feature's ``api.py``
register its routes as a side effect, in whatever order modules happened to be imported, and
Flask refuses routes once an app has registered the blueprint. A feature now declares::

    routes = ApiRoutes()

    @routes.get("/contacts")
    @roles(*SALES)
    @endpoint("List contacts", query=ContactQuery, response=ContactPage)
    def list_contacts(query): ...

and its manifest entry (``crm/features.py``) names ``crm.contacts.api:routes``; ``mount`` adds
them to ``/api/v1`` when the app is built. Endpoint names stay ``api.<function name>``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    view: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)


class ApiRoutes:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, rule: str, methods: tuple[str, ...] | list[str] = ("GET",), **options: Any) -> Callable:
        def declare(view: Callable[..., Any]) -> Callable[..., Any]:
            self.routes.append(Route(rule, tuple(methods), view, options))
            return view

        return declare

    def get(self, rule: str, **options: Any) -> Callable:
        return self.route(rule, ("GET",), **options)

    def post(self, rule: str, **options: Any) -> Callable:
        return self.route(rule, ("POST",), **options)

    def put(self, rule: str, **options: Any) -> Callable:
        return self.route(rule, ("PUT",), **options)

    def patch(self, rule: str, **options: Any) -> Callable:
        return self.route(rule, ("PATCH",), **options)

    def delete(self, rule: str, **options: Any) -> Callable:
        return self.route(rule, ("DELETE",), **options)

    def mount(self, blueprint: Blueprint) -> None:
        for route in self.routes:
            blueprint.add_url_rule(route.rule, view_func=route.view, methods=list(route.methods), **route.options)
