/* global hexo */
'use strict';

// Hexo 7 finds a post's categories by scanning every post-category link (warehouse's find has
// no index), and it does so every time anything reads `post.categories` or `post.path`: the
// permalink filter reads the categories even when the permalink does not use them. On a big
// archive that is quadratic: with 1,500 posts it was most of `hexo generate`'s time. This keeps
// one map post -> category ids, kept in step with every change to the links (so `hexo server`
// stays right while posts are added), and answers the same query from it.
const PostCategory = hexo.model('PostCategory');
const Category = hexo.model('Category');
let byPost = null;

function add(link) {
  const ids = byPost.get(link.post_id);
  if (ids) ids.push(link.category_id);
  else byPost.set(link.post_id, [link.category_id]);
}

// kept in step link by link (Hexo inserts and removes links while it reads posts, and reads
// permalinks in between: rebuilding on every change would be quadratic again)
PostCategory.on('insert', link => {
  if (byPost !== null) add(link);
});
PostCategory.on('remove', link => {
  const ids = byPost === null ? null : byPost.get(link.post_id);
  const at = ids ? ids.indexOf(link.category_id) : -1;
  if (at >= 0) ids.splice(at, 1);
});
PostCategory.on('update', () => {
  byPost = null;
});

function categoryIds(postId) {
  if (byPost === null) {
    byPost = new Map();
    PostCategory.forEach(add);
  }
  return byPost.get(postId) || [];
}

const virtual = hexo.model('Post').schema.path('categories');
if (virtual && typeof virtual.get === 'function') {
  // the same answer as Hexo's own getter (hexo/dist/models/post.js), without the scan
  virtual.get(function () {
    return Category.find({ _id: { $in: categoryIds(this._id) } });
  });
}
