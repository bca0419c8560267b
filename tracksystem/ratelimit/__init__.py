"""Rate limits: one counting engine for the API and the pages.

`engine.check()` counts a client against several windows at once in the cache
that every worker and every app instance shares; `api` plugs it into DRF,
`pages` into the views, `middleware` writes the RateLimit fields.
"""
