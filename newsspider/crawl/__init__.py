"""Everything of a crawl that imports Scrapy, Twisted or scrapy-redis (the cluster's Scrapy-facing
components: :mod:`newsspider.crawl.cluster`)."""
