// ruledex site search, over the Pagefind index in `pagefind/`.
// - The box in the header gives type-ahead results; Enter opens the search page.
// - The search page (search.html) reads ?q= and the filter selects, and lists all results.
// Pagefind's script and index load on the first focus of a box, then only the index chunks
// a query needs. Without JavaScript the box submits to search.html and every page still
// links to every other.
(function () {
  "use strict";
  var box = document.querySelector("form.site-search");
  if (!box) return;
  var rootUrl = new URL(box.getAttribute("data-root") || "./", location.href);
  var loading = null;
  var stats = (window.ruledexSearch = { loaded: false, last: null });

  function load() {
    if (!loading) {
      loading = import(new URL("pagefind/pagefind.js", rootUrl).href).then(function (pf) {
        // init() fetches the runtime and the page list while the reader types.
        return pf.options({ excerptLength: 20 }).then(function () {
          return pf.init();
        }).then(function () {
          stats.loaded = true;
          return pf;
        });
      });
      loading.catch(function () {
        loading = null;
      });
    }
    return loading;
  }

  function href(data) {
    return new URL((data.meta && data.meta.url) || data.url, rootUrl).href;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // Runs a query; `filters` maps a Pagefind filter key to a value. Resolves to
  // {total, results (Pagefind result handles), ms}, or null when a newer query started.
  var seq = 0;
  function run(query, filters) {
    var mine = ++seq;
    var t0 = performance.now();
    return load().then(function (pf) {
      return pf.search(query || null, { filters: filters || {} }).then(function (res) {
        if (mine !== seq || !res) return null;
        return { total: res.results.length, results: res.results, t0: t0 };
      });
    });
  }

  function resultItem(data) {
    var li = el("li", "search-hit");
    var a = el("a", null, (data.meta && data.meta.title) || data.url);
    a.href = href(data);
    li.appendChild(a);
    var facts = [data.meta.vendor, data.meta.id, data.meta.severity, data.meta.techniques]
      .filter(Boolean)
      .join(" · ");
    li.appendChild(el("span", "search-facts", facts));
    if (data.excerpt) {
      var p = el("p", "search-excerpt");
      // Pagefind escapes the record text and adds only <mark> around hits.
      p.innerHTML = data.excerpt;
      li.appendChild(p);
    }
    return li;
  }

  function record(query, found, shown) {
    stats.last = {
      query: query,
      total: found.total,
      shown: shown,
      ms: Math.round(performance.now() - found.t0),
    };
    document.documentElement.setAttribute("data-search-ms", String(stats.last.ms));
  }

  // --- type-ahead in the header --------------------------------------------------------
  var input = box.querySelector("input[name=q]");
  var pop = box.querySelector(".search-pop");
  var timer = null;
  function hide() {
    pop.hidden = true;
  }
  function typeAhead() {
    var q = input.value.trim();
    if (q.length < 2) {
      hide();
      return;
    }
    run(q).then(function (found) {
      if (!found) return;
      return Promise.all(found.results.slice(0, 8).map(function (r) { return r.data(); })).then(
        function (datas) {
          if (input.value.trim() !== q) return;
          pop.textContent = "";
          var list = el("ul");
          datas.forEach(function (d) {
            list.appendChild(resultItem(d));
          });
          pop.appendChild(list);
          var all = el("a", "search-all", found.total
            ? "All " + found.total + " results"
            : "No rule matches " + q);
          all.href = new URL("search.html?q=" + encodeURIComponent(q), rootUrl).href;
          pop.appendChild(all);
          pop.hidden = false;
          record(q, found, datas.length);
        }
      );
    }, function () {
      pop.textContent = "";
      pop.appendChild(el("p", null, "Search is unavailable here (it needs the site served over HTTP)."));
      pop.hidden = false;
    });
  }
  if (input && pop) {
    input.addEventListener("focus", function () {
      load().catch(function () {});
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(typeAhead, 120);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") hide();
      if (e.key === "ArrowDown" && !pop.hidden) {
        var first = pop.querySelector("a");
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    });
    pop.addEventListener("keydown", function (e) {
      var links = Array.prototype.slice.call(pop.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) links[i + 1].focus();
      else if (e.key === "ArrowUp") (i > 0 ? links[i - 1] : input).focus();
      else if (e.key === "Escape") {
        hide();
        input.focus();
      } else return;
      e.preventDefault();
    });
    document.addEventListener("click", function (e) {
      if (!box.contains(e.target)) hide();
    });
  }

  // --- the search page -----------------------------------------------------------------
  var page = document.getElementById("search-page");
  if (!page) return;
  var q = document.getElementById("search-q");
  var selects = Array.prototype.slice.call(page.querySelectorAll("select[data-filter]"));
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  var params = new URLSearchParams(location.search);
  q.value = params.get("q") || "";
  selects.forEach(function (s) {
    var v = params.get(s.name);
    if (v) s.value = v;
  });
  var pending = [];
  var PAGE = 20;
  function showMore() {
    var next = pending.splice(0, PAGE);
    return Promise.all(next.map(function (r) { return r.data(); })).then(function (datas) {
      datas.forEach(function (d) {
        list.appendChild(resultItem(d));
      });
      more.hidden = pending.length === 0;
      return datas.length;
    });
  }
  function search() {
    var query = q.value.trim();
    var filters = {};
    var url = new URLSearchParams();
    if (query) url.set("q", query);
    selects.forEach(function (s) {
      if (s.value) {
        filters[s.getAttribute("data-filter")] = s.value;
        url.set(s.name, s.value);
      }
    });
    history.replaceState(null, "", "?" + url.toString());
    if (!query && !Object.keys(filters).length) {
      list.textContent = "";
      status.textContent = "Type a query or choose a filter.";
      more.hidden = true;
      return;
    }
    status.textContent = "Searching…";
    run(query, filters).then(function (found) {
      if (!found) return;
      list.textContent = "";
      pending = found.results.slice();
      return showMore().then(function (shown) {
        record(query, found, shown);
        status.textContent =
          found.total === 1 ? "1 rule" : found.total + " rules" + (found.total ? "" : " match");
      });
    }, function () {
      status.textContent = "Search is unavailable here (it needs the site served over HTTP).";
    });
  }
  page.addEventListener("submit", function (e) {
    e.preventDefault();
    search();
  });
  var t = null;
  q.addEventListener("input", function () {
    clearTimeout(t);
    t = setTimeout(search, 150);
  });
  selects.forEach(function (s) {
    s.addEventListener("change", search);
  });
  more.addEventListener("click", showMore);
  search();
})();
