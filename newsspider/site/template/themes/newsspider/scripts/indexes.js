/* global hexo */
'use strict';

// Hexo's database (warehouse) has no indexes: every find() reads every record. Hexo 7 looks up
// a post's category links that way each time anything reads `post.categories` or `post.path`
// (the permalink filter reads the categories even when the permalink does not use them), and
// three more times per category while it reads each post, and finds each post by its source
// file the same way: quadratic in the archive's size. 1,500 posts spent most of `hexo generate`
// there, and 20,000 posts sat for many minutes in "Start processing". This keeps a map from
// the looked-up value to record ids, in step with every insert, update and removal, and answers
// exactly these equality queries from it (same records, same order); any other query is left
// to warehouse.

function fieldIndex(model, field) {
  let byValue = null;
  const valueOf = new Map();
  const add = doc => {
    const value = doc[field];
    valueOf.set(doc._id, value);
    const ids = byValue.get(value);
    if (ids) ids.push(doc._id);
    else byValue.set(value, [doc._id]);
  };
  const drop = id => {
    if (!valueOf.has(id)) return;
    const ids = byValue.get(valueOf.get(id));
    valueOf.delete(id);
    const at = ids ? ids.indexOf(id) : -1;
    if (at >= 0) ids.splice(at, 1);
  };
  model.on('insert', doc => {
    if (byValue !== null) add(doc);
  });
  model.on('remove', doc => {
    if (byValue !== null) drop(doc._id);
  });
  model.on('update', doc => {
    if (byValue !== null) {
      drop(doc._id);
      add(doc);
    }
  });
  return value => {
    if (byValue === null) {
      byValue = new Map();
      model.forEach(add);
    }
    return byValue.get(value) || [];
  };
}

function indexFind(model, field) {
  const lookup = fieldIndex(model, field);
  const original = model.find;
  model.find = function (query, options = {}) {
    const keys = query && typeof query === 'object' ? Object.keys(query) : [];
    const plain = keys.length > 0 && keys.every(k => typeof query[k] === 'string');
    if (!plain || typeof query[field] !== 'string' || options.skip) {
      return original.call(this, query, options);
    }
    let limit = options.limit || this.length;
    const found = [];
    for (const id of lookup(query[field])) {
      if (!limit) break;
      const item = this.data[id];
      if (item && keys.every(k => item[k] === query[k])) {
        found.push(this.findById(id, options));
        limit--;
      }
    }
    return options.lean ? found : new this.Query(found);
  };
}

indexFind(hexo.model('PostCategory'), 'post_id');
indexFind(hexo.model('Post'), 'source');
