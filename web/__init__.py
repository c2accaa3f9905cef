"""The web interface served by ``strongroom serve`` under ``/web``: server-rendered pages over ``operations/``.

Every page authenticates the session cookie's bearer token and calls the same functions in
``operations/`` as the HTTP API, in one worker-thread hop; nothing here decides a permission
on its own. The access policy is asked directly only to choose which links and buttons to
show (see :mod:`web.session`), never to allow anything.
"""
