"""The built web app (Vite's output), with the single-page app's routing and cache rules.

Vite names its bundles by content hash under assets/: those never change and are cached for a
year. index.html names the current bundles, so it is revalidated on every visit.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>betmesh: web app not built</title></head>
<body><h1>The web app is not built</h1>
<p>The edge serves the player web app from <code>{root}</code>, which does not exist.
Build it: <code>cd web &amp;&amp; npm install &amp;&amp; npm run build</code>
(or set <code>BETMESH_EDGE_WEB_ROOT</code>).</p></body></html>
"""


class StaticSite:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def handle(self, request: web.Request) -> web.StreamResponse:
        root = self.root.resolve()
        index = root / "index.html"
        if not index.is_file():
            return web.Response(
                status=404, text=NOT_BUILT.format(root=root), content_type="text/html"
            )
        relative = request.match_info.get("tail", "").lstrip("/")
        target = (root / relative).resolve() if relative else index
        if not target.is_relative_to(root):
            raise web.HTTPNotFound()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            # A path without an extension is one of the app's routes (/bets, /account):
            # the app decides. A missing file (/assets/old.js) is a real 404.
            if "." in Path(relative).name:
                raise web.HTTPNotFound()
            target = index
        response = web.FileResponse(target)
        immutable = target.parent.name == "assets" and target.parent.parent == root
        response.headers["cache-control"] = IMMUTABLE if immutable else REVALIDATE
        response.headers["x-content-type-options"] = "nosniff"
        if target.suffix == ".html":
            # The token arrives in the fragment; never leak a URL to another site.
            response.headers["referrer-policy"] = "no-referrer"
        return response
