// Starts GraphiQL on the page served at /graphql/ (schema/graphiql.py). Kept out
// of the HTML so a `script-src 'self'` Content-Security-Policy allows it.
(function () {
  "use strict";

  var page = document.getElementById("graphiql");
  var csrfCookieName = page.dataset.csrfCookie || "csrftoken";
  var csrfHeaderName = page.dataset.csrfHeader || "X-CSRFToken";
  var csrfTokenAtLoad = page.dataset.csrfToken || "";
  var url = window.location.pathname;

  // Django rotates the token on login: read the cookie on every request.
  function csrfToken() {
    var prefix = csrfCookieName + "=";
    var cookies = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < cookies.length; i++) {
      var cookie = cookies[i].trim();
      if (cookie.indexOf(prefix) === 0) {
        return decodeURIComponent(cookie.slice(prefix.length));
      }
    }
    return csrfTokenAtLoad;
  }

  function sameOriginFetch(input, init) {
    var options = Object.assign({}, init, { credentials: "same-origin" });
    var headers = new Headers(options.headers || {});
    var token = csrfToken();
    if (token && !headers.has(csrfHeaderName)) {
      headers.set(csrfHeaderName, token);
    }
    options.headers = headers;
    return window.fetch(input, options);
  }

  var fetcher = GraphiQL.createFetcher({ url: url, fetch: sameOriginFetch });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  var root = ReactDOM.createRoot(page);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
