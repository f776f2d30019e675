"""Everything Scrapy-facing: the add-on that makes a crawl a newsspider crawl, the archive
context one crawler shares, the spiders' pipelines, middlewares and extensions.

The layers below (``cluster``, ``pages``, ``archive``, ``markup``) never import Scrapy; this
package is where a response becomes an article and an article a post. Importing the package
itself imports nothing: ``newsspider.settings`` names components here by their paths.
"""
