// The site's search: reads the index hexo-generator-searchdb writes (every post's title, URL
// and categories) and lists the posts whose title holds every word of the query. Results are
// built with textContent, never as HTML: titles come from crawled pages.
(function () {
  'use strict';
  var list = document.querySelector('.search-results');
  var status = document.querySelector('.search-status');
  var input = document.querySelector('form.search-page input[name=q]');
  if (!list || !status || !input) return;
  var query = new URLSearchParams(window.location.search).get('q') || '';
  input.value = query;
  var words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return;
  status.textContent = '正在载入索引…';
  fetch(list.getAttribute('data-index'))
    .then(function (answer) {
      if (!answer.ok) throw new Error('HTTP ' + answer.status);
      return answer.json();
    })
    .then(function (items) {
      var hits = items.filter(function (item) {
        var text = ((item.title || '') + ' ' + (item.content || '')).toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      });
      status.textContent = '找到 ' + hits.length + ' 篇' + (hits.length > 500 ? '，显示前 500 篇' : '');
      hits.slice(0, 500).forEach(function (item) {
        var li = document.createElement('li');
        var a = document.createElement('a');
        a.className = 'title';
        a.href = item.url;
        a.textContent = item.title || item.url;
        li.appendChild(a);
        if (item.categories && item.categories.length) {
          var meta = document.createElement('span');
          meta.className = 'meta';
          meta.textContent = item.categories[item.categories.length - 1];
          li.appendChild(meta);
        }
        list.appendChild(li);
      });
    })
    .catch(function (err) { status.textContent = '索引载入失败：' + err.message; });
})();
