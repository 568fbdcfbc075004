"""`cnai web`: the readers' web app (Starlette + Jinja2, server-rendered). It parses, calls services, renders."""
