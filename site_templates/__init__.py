"""The report's page templates, mkdocs configuration and explorer assets, installed as package data.

`site_renderer` reads them with `importlib.resources`, so a non-editable install renders too.
"""
