/* global hexo */
'use strict';

// newsspider escapes every brace of a post as &#123; / &#125;, the title's included, so that
// Hexo's Nunjucks pass never reads `{{` or `{%` in an article as a tag (FORMAT.md). Bodies are
// HTML, where the entities show as braces; a title, though, is text that templates escape
// again, so a headline with braces would show "&#123;" on every list, in the feed and in the
// search index. Titles are never rendered by Nunjucks: give them back their braces before any
// generator reads them (only posts whose title holds an escaped brace are touched).
const ESCAPED = /&#12[35];/;

function unbrace(title) {
  return title.replace(/&#123;/g, '{').replace(/&#125;/g, '}');
}

hexo.extend.filter.register('before_generate', function () {
  const Post = this.model('Post');
  const updates = [];
  Post.forEach(post => {
    if (typeof post.title === 'string' && ESCAPED.test(post.title)) {
      updates.push(Post.updateById(post._id, { title: unbrace(post.title) }));
    }
  });
  return Promise.all(updates);
});
