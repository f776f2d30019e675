"""HTML body work that both the page objects and the archive need, owned by neither.

Page objects read a Sina page and the archive writes a post; both must agree on what a body
shows (which images, which links, which text), so the HTML5 pre-pass, the sanitising serialiser
and URL resolution live here, below both, and import neither (nor Scrapy).
"""
